"""The PolyPythias: decoder-only GPT-NeoX families with many seeds, as catalog families.

PolyPythias (van der Wal et al., ICLR 2025) extend the Pythia suite with 9 more pretraining seeds
for each of five sizes, every seed saved at 154 points of training:

* sizes ``14m``, ``31m``, ``70m``, ``160m``, ``410m``;
* seed 0 is the original ``EleutherAI/pythia-{size}`` (trained with seed 1234), seeds 1-9 are
  ``EleutherAI/pythia-{size}-seed{N}``;
* for 160m two decoupled variants vary one source of randomness at a time:
  ``EleutherAI/pythia-160m-data-seed{1-3}`` (data order varied, initialisation fixed) and
  ``EleutherAI/pythia-160m-weight-seed{1-3}`` (initialisation varied, data order fixed);
* every model has 154 checkpoints, as hub *revisions* (branches): ``step0``, the log-spaced
  ``step1``, ``step2``, ``step4``, ..., ``step512``, then ``step1000`` ... ``step143000`` every
  1,000 steps (``step143000`` is also ``main``).

So a checkpoint is a hub id plus a revision. In a family, ``seed`` is the PolyPythia seed index
(0-9; 0 = the original run) and ``step`` counts optimiser steps (``step_unit="steps"``,
``step == step_raw``), so selection works as for the MultiBERTs::

    from multiberts_stats.checkpoints.polypythia import polypythia
    fam = polypythia("70m")                                   # 10 seeds x 154 revisions
    fam.select(seeds="0-4", steps="0,1000,143000")
    polypythia("160m", variant="data-seed")                   # seed 0 + data-seed1..3
    polypythias("14m,70m")                                    # one family per size

A local mirror holds one folder per hub id *and revision*: ``ROOT/<org>/<name>@<revision>/``, e.g.
``ROOT/EleutherAI/pythia-70m-seed3@step1000/`` (``huggingface-cli download
EleutherAI/pythia-70m-seed3 --revision step1000 --local-dir
ROOT/EleutherAI/pythia-70m-seed3@step1000``). The Hugging Face cache is read by revision too.

This module imports neither torch nor transformers.

Examples
--------
>>> fam = polypythia("70m")
>>> len(fam), fam.seeds[-1], len(fam.steps)
(1540, 9, 154)
>>> c = fam.get(3, 1000)
>>> c.hub_id, c.revision, c.step
('EleutherAI/pythia-70m-seed3', 'step1000', 1000)
>>> [c.hub_id for c in polypythia("160m", variant="weight-seed").select(steps=0)]
... # doctest: +NORMALIZE_WHITESPACE
['EleutherAI/pythia-160m', 'EleutherAI/pythia-160m-weight-seed1',
 'EleutherAI/pythia-160m-weight-seed2', 'EleutherAI/pythia-160m-weight-seed3']
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from .catalog import Checkpoint, CheckpointSelectionError, Family

__all__ = [
    "POLYPYTHIA_DECOUPLED_SEEDS",
    "POLYPYTHIA_FAMILIES",
    "POLYPYTHIA_REVISIONS",
    "POLYPYTHIA_SEEDS",
    "POLYPYTHIA_SIZES",
    "POLYPYTHIA_STEPS",
    "POLYPYTHIA_VARIANTS",
    "nearest_steps",
    "parse_revision_step",
    "polypythia",
    "polypythia_family_name",
    "polypythia_hub_id",
    "polypythia_revision",
]

#: the five sizes with 10 seeds each
POLYPYTHIA_SIZES: tuple[str, ...] = ("14m", "31m", "70m", "160m", "410m")
#: seed indices of the ``seeds`` variant (0 = the original Pythia, trained with seed 1234)
POLYPYTHIA_SEEDS: tuple[int, ...] = tuple(range(10))
#: seed indices of the decoupled 160m variants (0 = the original Pythia-160m)
POLYPYTHIA_DECOUPLED_SEEDS: tuple[int, ...] = (0, 1, 2, 3)
#: ``seeds``: data order and initialisation both vary; ``data-seed``: only the data order;
#: ``weight-seed``: only the initialisation (the last two exist for 160m only)
POLYPYTHIA_VARIANTS: tuple[str, ...] = ("seeds", "data-seed", "weight-seed")
#: the 154 released steps: 0, 1, 2, 4, ..., 512, then 1000, 2000, ..., 143000
POLYPYTHIA_STEPS: tuple[int, ...] = ((0,) + tuple(2 ** k for k in range(10))
                                     + tuple(range(1000, 143001, 1000)))
#: the matching hub revisions (``step0`` ... ``step143000``)
POLYPYTHIA_REVISIONS: tuple[str, ...] = tuple(f"step{s}" for s in POLYPYTHIA_STEPS)
#: the final step (also the ``main`` revision)
POLYPYTHIA_FINAL_STEP = 143000
#: the Pythia seed behind seed index 0
ORIGINAL_PYTHIA_SEED = 1234

_ORG = "EleutherAI"


def polypythia_family_name(size: str, variant: str = "seeds") -> str:
    """Catalog name of a PolyPythia family (the ``family`` column).

    Examples
    --------
    >>> polypythia_family_name("70m"), polypythia_family_name("160m", "data-seed")
    ('polypythia-70m', 'polypythia-160m-data-seed')
    """
    size, variant = _check_size_variant(size, variant, "polypythia_family_name")
    return f"polypythia-{size}" if variant == "seeds" else f"polypythia-{size}-{variant}"


#: every catalog family name -> (size, variant)
POLYPYTHIA_FAMILIES: dict[str, tuple[str, str]] = {
    **{f"polypythia-{s}": (s, "seeds") for s in POLYPYTHIA_SIZES},
    "polypythia-160m-data-seed": ("160m", "data-seed"),
    "polypythia-160m-weight-seed": ("160m", "weight-seed"),
}


def _check_size_variant(size: Any, variant: Any, caller: str) -> tuple[str, str]:
    text = str(size).strip().lower() if isinstance(size, (str, int)) else None
    if text is not None and text.isdigit():
        text += "m"
    if text not in POLYPYTHIA_SIZES:
        raise CheckpointSelectionError(
            f"The `size` parameter of {caller} must be one of the PolyPythia sizes "
            f"{list(POLYPYTHIA_SIZES)}. Got {size!r} instead.")
    if variant not in POLYPYTHIA_VARIANTS:
        raise CheckpointSelectionError(
            f"The `variant` parameter of {caller} must be one of {list(POLYPYTHIA_VARIANTS)}. "
            f"Got {variant!r} instead.")
    if variant != "seeds" and text != "160m":
        raise CheckpointSelectionError(
            f"The `variant` parameter of {caller} is {variant!r}, which exists for size 160m "
            f"only (pythia-160m-{variant}1..3). Got size {size!r} instead.")
    return text, variant


def polypythia_hub_id(size: str, seed: int, variant: str = "seeds") -> str:
    """Hub id of one PolyPythia run.

    Examples
    --------
    >>> polypythia_hub_id("14m", 0), polypythia_hub_id("14m", 7)
    ('EleutherAI/pythia-14m', 'EleutherAI/pythia-14m-seed7')
    >>> polypythia_hub_id("160m", 2, "data-seed")
    'EleutherAI/pythia-160m-data-seed2'
    """
    size, variant = _check_size_variant(size, variant, "polypythia_hub_id")
    seeds = POLYPYTHIA_SEEDS if variant == "seeds" else POLYPYTHIA_DECOUPLED_SEEDS
    if isinstance(seed, bool) or not isinstance(seed, int) or seed not in seeds:
        raise CheckpointSelectionError(
            f"The `seed` parameter of polypythia_hub_id must be one of {list(seeds)} for the "
            f"{variant} variant of size {size}. Got {seed!r} instead.")
    if seed == 0:
        return f"{_ORG}/pythia-{size}"
    suffix = "seed" if variant == "seeds" else variant
    return f"{_ORG}/pythia-{size}-{suffix}{seed}"


def parse_revision_step(revision: str) -> int | None:
    """The step of a revision named ``stepN`` (None for other names such as ``main``).

    Examples
    --------
    >>> parse_revision_step("step2000"), parse_revision_step("main")
    (2000, None)
    """
    m = re.fullmatch(r"step(\d+)", str(revision).strip())
    return int(m.group(1)) if m else None


def nearest_steps(step: int, released=POLYPYTHIA_STEPS, k: int = 2) -> list[int]:
    """The released steps nearest to ``step`` (the one below and the one above, when they exist).

    Examples
    --------
    >>> nearest_steps(1500), nearest_steps(3), nearest_steps(200000)
    ([1000, 2000], [2, 4], [143000])
    """
    released = sorted(released)
    i = bisect.bisect_left(released, step)
    out = []
    if i > 0:
        out.append(released[i - 1])
    if i < len(released) and released[i] != step:
        out.append(released[i])
    elif i < len(released) - 1 and released[i] == step:
        out.append(released[i + 1])
    return out[:k]


def polypythia_revision(step: int | str) -> str:
    """The hub revision of a released step; an unreleased one is an error naming the nearest.

    Accepts a step number, ``"stepN"`` or ``"main"`` (= ``step143000``).

    Examples
    --------
    >>> polypythia_revision(1000), polypythia_revision("main")
    ('step1000', 'step143000')
    >>> polypythia_revision(1500)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    multiberts_stats.checkpoints.CheckpointSelectionError: The PolyPythias never released
    step 1500 (revision 'step1500'); the nearest released revisions are step1000 and step2000.
    Released: step0, step1, step2, step4, ..., step512, then step1000 ... step143000 every 1000.
    """
    if isinstance(step, str):
        text = step.strip()
        if text == "main":
            return f"step{POLYPYTHIA_FINAL_STEP}"
        parsed = parse_revision_step(text)
        if parsed is None and text.isdigit():
            parsed = int(text)
        if parsed is None:
            raise CheckpointSelectionError(
                "A PolyPythia revision must be 'main' or 'stepN' with N a released step. Got "
                f"{step!r} instead.")
        step = parsed
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointSelectionError(
            f"A PolyPythia step must be a non-negative integer. Got {step!r} instead.")
    if step not in POLYPYTHIA_STEPS:
        near = nearest_steps(step)
        shown = " and ".join(f"step{s}" for s in near)
        raise CheckpointSelectionError(
            f"The PolyPythias never released step {step} (revision 'step{step}'); the nearest "
            f"released revision{'s are' if len(near) > 1 else ' is'} {shown}. Released: step0, "
            "step1, step2, step4, ..., step512, then step1000 ... step143000 every 1000.")
    return f"step{step}"


_CACHE: dict[tuple[str, str], Family] = {}


def polypythia(size: str, variant: str = "seeds") -> Family:
    """One PolyPythia family: every seed of one size (and variant) at all 154 revisions.

    Parameters
    ----------
    size : {"14m", "31m", "70m", "160m", "410m"}
    variant : {"seeds", "data-seed", "weight-seed"}
        ``"seeds"`` (default): seeds 0-9, where seed 0 is ``EleutherAI/pythia-{size}`` and seed N
        is ``EleutherAI/pythia-{size}-seed{N}``. ``"data-seed"`` / ``"weight-seed"`` (160m
        only): seed 0 is the original ``pythia-160m`` (the shared starting point), seeds 1-3 are
        ``pythia-160m-data-seed{N}`` (only the data order differs from seed 0) or
        ``pythia-160m-weight-seed{N}`` (only the initialisation differs).

    Returns
    -------
    Family
        Named :func:`polypythia_family_name` (``polypythia-70m``...), ``step_unit="steps"``,
        ordered by seed then step; each member is a hub id with its ``revision`` (``stepN``).

    Examples
    --------
    >>> fam = polypythia("14m")
    >>> fam.name, fam.step_unit, len(fam.select(seeds="0-2", steps="0-512"))
    ('polypythia-14m', 'steps', 33)
    """
    size, variant = _check_size_variant(size, variant, "polypythia")
    key = (size, variant)
    if key not in _CACHE:
        name = polypythia_family_name(size, variant)
        seeds = POLYPYTHIA_SEEDS if variant == "seeds" else POLYPYTHIA_DECOUPLED_SEEDS
        members = [Checkpoint(name, polypythia_hub_id(size, seed, variant), None, seed, step,
                              step, f"step{step}")
                   for seed in seeds for step in POLYPYTHIA_STEPS]
        what = {"seeds": "seeds 1-9 vary data order and initialisation",
                "data-seed": "seeds 1-3 vary only the data order",
                "weight-seed": "seeds 1-3 vary only the initialisation"}[variant]
        _CACHE[key] = Family(
            name, members, step_unit="steps",
            description=f"PolyPythia {size} (van der Wal et al., 2025): seed 0 = "
                        f"EleutherAI/pythia-{size}; {what}; 154 revisions step0 ... step143000")
    fam = _CACHE[key]
    return Family(fam.name, fam.checkpoints, step_unit=fam.step_unit,
                  description=fam.description)


def polypythias(sizes=None, variant: str = "seeds") -> list[Family]:
    """The PolyPythia families of several sizes (each its own family, named by its size).

    Parameters
    ----------
    sizes : None, "all", a size, a comma-separated string or a list of sizes
        ``None`` / ``"all"``: the five sizes (the decoupled variants: 160m only).
    variant : {"seeds", "data-seed", "weight-seed"}

    Examples
    --------
    >>> [f.name for f in polypythias("14m,70m")]
    ['polypythia-14m', 'polypythia-70m']
    >>> [f.name for f in polypythias(variant="data-seed")]
    ['polypythia-160m-data-seed']
    """
    if sizes is None or (isinstance(sizes, str) and sizes.strip().lower() == "all"):
        chosen = list(POLYPYTHIA_SIZES) if variant == "seeds" else ["160m"]
    elif isinstance(sizes, str):
        chosen = [s.strip() for s in sizes.split(",") if s.strip()]
    elif isinstance(sizes, (list, tuple)):
        chosen = list(sizes)
    else:
        raise CheckpointSelectionError(
            "The `sizes` parameter of polypythias must be None, 'all', a size or a list of sizes "
            f"among {list(POLYPYTHIA_SIZES)}. Got {sizes!r} instead.")
    if not chosen:
        raise CheckpointSelectionError("The `sizes` parameter of polypythias names no size. Got "
                                       f"{sizes!r} instead.")
    return [polypythia(s, variant) for s in dict.fromkeys(chosen)]
