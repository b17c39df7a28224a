"""The rules every part of the runner checks its settings with: one error class, one selector
grammar for seeds (and steps), one device rule, one precision rule.

Nothing here imports torch.
"""

from __future__ import annotations

import re

from multiberts_stats.checkpoints import CheckpointSelectionError, expand_selector
from multiberts_stats.errors import InputError

__all__ = ["ExperimentError", "setting_error", "parse_seeds", "check_positive_int", "check_device",
           "check_dtype", "DTYPES", "DEVICE_RULE"]

DTYPES = ("float32", "bfloat16", "float16")
DEVICE_RULE = "must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
_DEVICE_RE = re.compile(r"cpu|auto|cuda(:\d+)?|mps")


class ExperimentError(InputError):
    """An experiment description that breaks a rule; the message names the key."""


def setting_error(where: str, rule: str, got) -> ExperimentError:
    """``The `where` key of the experiment <rule>. Got <got> instead.``"""
    return ExperimentError(f"The `{where}` key of the experiment {rule}. Got {got!r} instead.")


def parse_seeds(value, where: str = "seeds") -> list[int]:
    """Seeds in the one selector grammar -> a sorted list of distinct non-negative ints.

    ``3``, ``[0, 1]``, ``"0-4,7"``, ``"0..4"``, ``"0:4"`` (ranges include both ends), as for
    the checkpoint catalog's seeds and steps. ``"all"`` has no meaning for fine-tuning seeds.

    Examples
    --------
    >>> parse_seeds("0-2,5"), parse_seeds("0..2"), parse_seeds([4, "0:1"])
    ([0, 1, 2, 5], [0, 1, 2], [0, 1, 4])
    """
    try:
        seeds = expand_selector(value, where, "the experiment", allow_all=False, noun="key")
    except CheckpointSelectionError as e:
        raise ExperimentError(str(e)) from e
    assert seeds is not None
    return seeds


def check_positive_int(where: str, value, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise setting_error(where, "must be a positive integer" + (" or absent" if allow_none else ""),
                            value)


def check_device(device, where: str = "device") -> str:
    """A device name the runner accepts (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``auto``)."""
    if not isinstance(device, str) or not _DEVICE_RE.fullmatch(device):
        raise setting_error(where, DEVICE_RULE, device)
    return device


def check_dtype(dtype, where: str = "dtype") -> str:
    if dtype not in DTYPES:
        raise setting_error(where, f"must be one of {DTYPES}", dtype)
    return dtype
