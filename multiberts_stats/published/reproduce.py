"""The paper's analyses in one call each, from the published files.

===============================  =====================================================
call                             analysis (paper section)
===============================  =====================================================
:func:`reproduce_winogender`     Winogender accuracy and bias correlation: base vs CDA
                                 intervention (paired), CDA intervention vs CDA from
                                 scratch (unpaired), seed 0 vs seed 1, ablations (s. 4,
                                 app. D)
:func:`reproduce_winogender_     the same comparisons through the modern engine
clusters`                        (``multiboot``), occupations as resampling clusters
:func:`reproduce_steps`          MNLI (or any GLUE task) 2M vs 1M pretraining steps,
                                 best learning rate per (release, steps) (app. E.1)
:func:`reproduce_squad`          SQuAD 2.0 exact match and F1, original BERT vs
                                 MultiBERTs (app. E.2)
===============================  =====================================================

Every reproduce call except ``reproduce_winogender_clusters`` draws through the
reference-compatible :func:`multiberts_stats.bootstrap.multibootstrap` with the inputs the
published notebooks built (same run order, same example order, same labels, same score
function), so with the same ``rng`` the numbers equal what the published library computes on
the same files. Defaults are the paper's: ``nboot=1000``, 95% intervals, ``rng=42``. The text
the reference functions print is kept in ``PublishedResult.report`` (and logged at INFO level
unless ``quiet``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.bootstrap import multiboot, multibootstrap, report_ci
from multiberts_stats.errors import InputError
from multiberts_stats.table import MatrixRuns, TableError, to_matrix_runs

from .coref import coref_bias_scores, coref_table, find_occupations, load_coref_group
from .formats import PublishedFormatError, filter_index, read_index, require_dir
from .glue import GlueRuns, load_glue
from .squad import load_squad

__all__ = [
    "PublishedResult",
    "best_lr_runs",
    "linregress_r",
    "linregress_slope",
    "reproduce_squad",
    "reproduce_steps",
    "reproduce_winogender",
    "reproduce_winogender_clusters",
    "to_matrix",
    "winogender_sides",
]

logger = logging.getLogger(__name__)


@dataclass
class PublishedResult:
    """What a reproduce call returns: a tidy table of the intervals and the raw draws.

    Attributes
    ----------
    analysis : str
    table : DataFrame
        One row per (metric, quantity) with quantity in ``base`` / ``expt`` / ``delta``:
        ``mean`` (bootstrap mean, as ``report_ci``), ``low``, ``high``, ``p`` (delta rows),
        ``estimate`` (point estimate on the full data), and the settings (``design``,
        ``nboot``, ``confidence_level``, ``sample_seeds``, ``sample_examples``, ...).
    stats : dict
        metric -> the ``report_ci`` dict.
    samples : dict
        metric -> ndarray (nboot, 2) of (base, expt) draws.
    report : str
        The text the reference functions printed.
    """

    analysis: str
    table: pd.DataFrame
    stats: dict
    samples: dict
    report: str = ""
    inputs: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        cols = [c for c in ("metric", "quantity", "estimate", "mean", "low", "high", "p")
                if c in self.table]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            body = self.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}")
        return f"PublishedResult({self.analysis})\n{body}"

    def summary(self) -> str:
        return repr(self)


def _identity(x):
    return x


def _run_reference(analysis: str, matrices: dict, *, paired: bool, sample_seeds: bool,
                   sample_examples: bool, nboot: int, confidence_level: float, rng,
                   expect_negative: dict, quiet: bool, settings: dict, point: dict,
                   labels_names: tuple[str, str], per_metric: dict | None = None) -> PublishedResult:
    """One multibootstrap + report_ci per metric, through the reference-compatible API."""
    if not isinstance(nboot, (int, np.integer)) or isinstance(nboot, bool) or nboot < 1:
        raise InputError(f"The `nboot` parameter of {analysis} must be a positive integer. "
                         f"Got {nboot!r} instead.")
    if not (isinstance(confidence_level, (float, int)) and 0 < confidence_level < 1):
        raise InputError(f"The `confidence_level` parameter of {analysis} must be in (0, 1). "
                         f"Got {confidence_level!r} instead.")
    if isinstance(rng, bool) or not (isinstance(rng, (int, np.integer, np.random.RandomState))
                                     or rng is np.random):
        raise InputError(f"The `rng` parameter of {analysis} must be an int, a "
                         f"np.random.RandomState or np.random. Got {rng!r} instead.")
    if isinstance(rng, np.integer):
        rng = int(rng)  # an int: every metric starts a fresh RandomState(rng), as the notebooks
    progress = _identity
    if not quiet:
        from multiberts_stats._progress import tqdm

        def progress(it):
            return tqdm(it, file=sys.stderr, leave=False)
    rows, stats, samples, report = [], {}, {}, io.StringIO()
    for metric, (run_info, preds, labels, score_fn) in matrices.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            buf.write(f"Metric: {metric} ({labels_names[0]} -> {labels_names[1]})\n")
            draws = multibootstrap(run_info, preds, labels, score_fn, paired_seeds=paired,
                                   sample_seeds=sample_seeds, sample_examples=sample_examples,
                                   nboot=nboot, rng=rng, verbose=True,
                                   progress_indicator=progress)
            st = report_ci(draws, c=confidence_level,
                           expect_negative_effect=expect_negative.get(metric, False))
        text = buf.getvalue()
        report.write(text + "\n")
        if not quiet:
            logger.info("%s", text)
        stats[metric] = st
        samples[metric] = np.asarray(draws, dtype=float).reshape(-1, 2)
        for q in ("base", "expt", "delta"):
            d = st[q]
            rows.append({"analysis": analysis, "metric": metric, "quantity": q,
                         "side": {"base": labels_names[0], "expt": labels_names[1],
                                  "delta": f"{labels_names[1]} - {labels_names[0]}"}[q],
                         "estimate": point[metric][q], "mean": float(d["mean"]),
                         "low": float(d["low"]), "high": float(d["high"]),
                         "p": float(d["p"]) if q == "delta" else np.nan,
                         "expect_negative_effect": bool(expect_negative.get(metric, False)),
                         **settings, **(per_metric or {}).get(metric, {})})
    return PublishedResult(analysis, pd.DataFrame(rows), stats, samples, report.getvalue(),
                           inputs={m: v[:3] for m, v in matrices.items()})


def _point_estimates(run_info: pd.DataFrame, preds, labels, score_fn, paired: bool) -> dict:
    """Full-data estimate: mean over seeds of the mean over a seed's runs (common seeds if paired)."""
    scores = np.array([score_fn(labels, p) for p in preds], dtype=float)
    df = pd.DataFrame({"seed": run_info["seed"].to_numpy(), "iv": run_info["intervention"].to_numpy(),
                       "s": scores})
    per_seed = df.groupby(["iv", "seed"])["s"].mean()
    base = per_seed.get(False, pd.Series(dtype=float))
    expt = per_seed.get(True, pd.Series(dtype=float))
    if paired:
        common = base.index.intersection(expt.index)
        base, expt = base.loc[common], expt.loc[common]
    b, e = float(base.mean()), float(expt.mean())
    return {"base": b, "expt": e, "delta": e - b}


def _accuracy_score_fn():
    from multiberts_stats.metrics import accuracy

    return accuracy


def _linregress_moments(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    dx, dy = x - x.mean(), y - y.mean()
    return np.dot(dx, dx) / n, np.dot(dx, dy) / n, np.dot(dy, dy) / n


def linregress_r(pf_bls, bias_scores):
    """``scipy.stats.linregress(pf_bls, bias_scores).rvalue`` (the notebook's score_fn), in numpy.

    Same formula as scipy (population moments, r = 0 when a side is constant, clipped to
    [-1, 1]) without its ~2 ms per call overhead; equal to it to ~1e-16 (tested).
    """
    ssxm, ssxym, ssym = _linregress_moments(pf_bls, bias_scores)
    den = np.sqrt(ssxm * ssym)
    if den == 0.0:
        return 0.0
    return float(min(1.0, max(-1.0, ssxym / den)))


def linregress_slope(pf_bls, bias_scores):
    """``scipy.stats.linregress(pf_bls, bias_scores).slope``, in numpy (see :func:`linregress_r`)."""
    ssxm, ssxym, _ = _linregress_moments(pf_bls, bias_scores)
    return float(ssxym / ssxm) if ssxm != 0 else float("nan")


class _SentenceBias:
    """score_fn for sentence-level resampling: labels are example indices into label_info."""

    def __init__(self, label_info: pd.DataFrame, pf: pd.Series, what: str):
        self.gender = label_info["gender"].astype(str).to_numpy()
        self.occ = label_info["occupation"].astype(str).to_numpy(dtype=object)
        self.pf = pf
        pf_sorted = pf.sort_index()
        self.pf_index = pf_sorted.index.to_numpy(dtype=object)
        self.pf_values = pf_sorted.to_numpy(dtype=float)
        self.what = what

    def __call__(self, idx, y_pred):
        """Bias r (or slope) on the drawn sentences (duplicates count as often as drawn).

        An occupation with no FEMININE or no MASCULINE sentence among the draws has no bias
        score in that replicate and is left out of its correlation.
        """
        idx = np.asarray(idx, dtype=int)
        occs, inv = np.unique(self.occ[idx], return_inverse=True)
        resolved = (np.asarray(y_pred) == 0).astype(float)
        gender = self.gender[idx]
        k = len(occs)
        shares = []
        for g in ("FEMININE", "MASCULINE"):
            m = gender == g
            n = np.bincount(inv[m], minlength=k)
            hits = np.bincount(inv[m], weights=resolved[m], minlength=k)
            shares.append((hits, n))
        ok = (shares[0][1] > 0) & (shares[1][1] > 0)
        bias = shares[0][0][ok] / shares[0][1][ok] - shares[1][0][ok] / shares[1][1][ok]
        x = self.pf_values[np.searchsorted(self.pf_index, occs[ok])]
        return linregress_r(x, bias) if self.what == "bias_r" else linregress_slope(x, bias)


_WINOGENDER_COMPARISONS = {
    "intervention": ("base", "cda_intervention-50k", True),
    "from_scratch": ("cda_intervention-50k", "from_scratch", False),
    "seed0_vs_seed1": ("base_extra_seeds", "base_extra_seeds", False),
}
_ABLATIONS = {None: (True, True), "none": (True, True), "seeds_only": (True, False),
              "examples_only": (False, True)}


def reproduce_winogender(root, comparison: str = "intervention", *, metrics=("accuracy", "bias_r"),
                         ablation: str | None = None, sample_seeds: bool | None = None,
                         sample_examples: bool | None = None, unit: str = "occupation",
                         occupations=None, seeds: tuple[int, int] = (0, 1),
                         nboot: int = 1000, confidence_level: float = 0.95, rng=42,
                         expect_negative_effect: bool | None = None,
                         quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's Winogender analyses (section 4, appendix D) in one call.

    Parameters
    ----------
    root : path
        The coreference folder (group folders ``base``, ``cda_intervention-50k``, ...).
    comparison : {"intervention", "from_scratch", "seed0_vs_seed1"}
        ``intervention``: base (L) vs CDA intervention (L'), **paired** on the pretraining
        seeds. ``from_scratch``: CDA intervention (L) vs CDA from scratch (L'), **unpaired**.
        ``seed0_vs_seed1``: pretraining seed ``seeds[0]`` (L) vs ``seeds[1]`` (L') of
        ``base_extra_seeds`` (25 fine-tuning runs each); each side is one artifact, so only
        examples are resampled (fine-tuning runs are averaged inside the seed).
    metrics : sequence of {"accuracy", "bias_r", "bias_slope"}
        Accuracy against ``answer``; Pearson r (or slope) of the per-occupation bias against
        the occupation's BLS share of women.
    ablation : {None, "seeds_only", "examples_only"}
        Resample only seeds, or only examples (the paper's ablations); or set
        ``sample_seeds`` / ``sample_examples`` directly.
    unit : {"occupation", "sentence"}
        Resampling unit of the bias metrics: the 60 occupations (the paper) or the 720
        sentences. Accuracy always resamples sentences.
    occupations : path or Series, optional
        ``occupations-stats.tsv``; looked for in ``root`` and its parent when not given.
    nboot, confidence_level, rng
        The paper's defaults: 1000, 0.95, 42. ``rng`` is an int (each metric's call starts a
        fresh ``RandomState(rng)``, as the published notebook passed ``rng=42`` to each call), a
        ``RandomState`` (one stream shared, in order, by the metrics), or ``np.random``.
    expect_negative_effect : bool, optional
        Passed to ``report_ci``; default True for the bias metrics (CDA is expected to reduce
        bias), False for accuracy.
    quiet : bool
        Don't print the reference report or show progress.

    Returns
    -------
    PublishedResult

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=3)
    >>> res = reproduce_winogender(root / "coref", "intervention", nboot=50, quiet=True)
    >>> res.table[["metric", "quantity"]].values.tolist()[:3]
    [['accuracy', 'base'], ['accuracy', 'expt'], ['accuracy', 'delta']]
    """
    root = require_dir(root, "root")
    if comparison not in _WINOGENDER_COMPARISONS:
        raise InputError(f"The `comparison` parameter of reproduce_winogender must be one of "
                         f"{sorted(_WINOGENDER_COMPARISONS)}. Got {comparison!r} instead.")
    if ablation not in _ABLATIONS:
        raise InputError(f"The `ablation` parameter of reproduce_winogender must be one of "
                         f"[None, 'seeds_only', 'examples_only']. Got {ablation!r} instead.")
    if unit not in ("occupation", "sentence"):
        raise InputError(f"The `unit` parameter of reproduce_winogender must be 'occupation' or "
                         f"'sentence'. Got {unit!r} instead.")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in ("accuracy", "bias_r", "bias_slope"):
            raise InputError(f"The `metrics` parameter of reproduce_winogender takes 'accuracy', "
                             f"'bias_r', 'bias_slope'. Got {m!r} instead.")
    ss, se = _ABLATIONS[ablation]
    ss = ss if sample_seeds is None else bool(sample_seeds)
    se = se if sample_examples is None else bool(sample_examples)
    base_name, expt_name, paired = _WINOGENDER_COMPARISONS[comparison]
    g_base = load_coref_group(root / base_name, base_name)
    if comparison == "seed0_vs_seed1":
        s0, s1 = seeds
        present = set(g_base.run_info["pretrain_seed"])
        for s in (s0, s1):
            if s not in present:
                raise InputError(f"The `seeds` parameter of reproduce_winogender names pretraining "
                                 f"seed {s}, which {g_base.path} does not hold (it has "
                                 f"{sorted(present)}).")
        keep = g_base.run_info["pretrain_seed"].isin([s0, s1]).to_numpy()
        run_info = g_base.run_info[keep].copy()
        preds = g_base.preds[keep]
        run_info["intervention"] = (run_info["pretrain_seed"] == s1).to_numpy()
        label_info = g_base.label_info
        labels_names = (f"seed {s0}", f"seed {s1}")
    else:
        g_expt = load_coref_group(root / expt_name, expt_name)
        for col in ("answer", "gender", "occupation"):
            if not np.array_equal(g_base.label_info[col].astype(str).to_numpy(),
                                  g_expt.label_info[col].astype(str).to_numpy()):
                raise PublishedFormatError(
                    f"The label_info files of {g_base.path} and {g_expt.path} differ in the "
                    f"{col!r} column: the columns of both preds.tsv files must be the same examples.")
        run_info = pd.concat([g_base.run_info.assign(intervention=False),
                              g_expt.run_info.assign(intervention=True)], ignore_index=True)
        preds = np.concatenate([g_base.preds, g_expt.preds], axis=0)
        label_info = g_base.label_info
        labels_names = (base_name, expt_name)
    run_info = run_info.reset_index(drop=True)
    run_info["seed"] = run_info["pretrain_seed"].to_numpy()
    run_info["intervention"] = run_info["intervention"].astype(bool)

    matrices = {}
    needs_bias = any(m != "accuracy" for m in metrics)
    pf = None
    if needs_bias:
        occ = find_occupations(root, occupations)
        if occ is None:
            raise PublishedFormatError(
                f"The bias metrics need Winogender's occupations-stats.tsv: none in {str(root)!r} "
                "or its parent; pass `occupations=`.")
        occs, bias = coref_bias_scores(preds, label_info)
        missing = [o for o in occs if o not in occ.index]
        if missing:
            raise PublishedFormatError(f"The occupations-stats file has no `bls_pct_female` for "
                                       f"{missing[:5]}.")
        pf = (occ / 100.0)
    for m in metrics:
        if m == "accuracy":
            matrices[m] = (run_info, preds, label_info["answer"].to_numpy(), _accuracy_score_fn())
        elif unit == "occupation":
            fn = linregress_r if m == "bias_r" else linregress_slope
            matrices[m] = (run_info, bias, pf.reindex(occs).to_numpy(), fn)
        else:
            matrices[m] = (run_info, preds, np.arange(preds.shape[1]),
                           _SentenceBias(label_info, pf, m))
    point = {m: _point_estimates(*v, paired=paired) for m, v in matrices.items()}
    neg = {m: (m != "accuracy") if expect_negative_effect is None else bool(expect_negative_effect)
           for m in metrics}
    settings = {"comparison": comparison, "design": "paired" if paired else "unpaired",
                "sample_seeds": ss, "sample_examples": se, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": int(run_info.loc[~run_info.intervention, "seed"].nunique()),
                "n_seeds_expt": int(run_info.loc[run_info.intervention, "seed"].nunique()),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum())}
    return _run_reference(f"winogender:{comparison}", matrices, paired=paired, sample_seeds=ss,
                          sample_examples=se, nboot=nboot, confidence_level=confidence_level,
                          rng=rng, expect_negative=neg, quiet=quiet, settings=settings,
                          point=point, labels_names=labels_names,
                          per_metric={m: {"unit": "sentence" if m == "accuracy" else unit}
                                      for m in metrics})


def winogender_sides(root, comparison: str = "intervention", *, occupations=None,
                     seeds: tuple[int, int] = (0, 1)) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The two sides of a Winogender comparison as tidy tables, and the design, for ``multiboot``.

    Returns ``(base_table, expt_table, design)`` with ``design`` in ``paired`` / ``unpaired``
    (see :func:`reproduce_winogender` for the comparisons). The tables carry ``gender``,
    ``occupation`` and ``bls_pct_female``, so the package metric ``winogender_bias_r`` and
    ``cluster_col="occupation"`` work on them.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> b, e, design = winogender_sides(root / "coref", "from_scratch")
    >>> b["group"].iloc[0], e["group"].iloc[0], design
    ('cda_intervention-50k', 'from_scratch', 'unpaired')
    """
    root = require_dir(root, "root")
    if comparison not in _WINOGENDER_COMPARISONS:
        raise InputError(f"The `comparison` parameter of winogender_sides must be one of "
                         f"{sorted(_WINOGENDER_COMPARISONS)}. Got {comparison!r} instead.")
    base_name, expt_name, paired = _WINOGENDER_COMPARISONS[comparison]
    occ = find_occupations(root, occupations)
    if comparison == "seed0_vs_seed1":
        t = coref_table(load_coref_group(root / base_name, base_name), occ)
        for sd in seeds:
            if not (t["pretrain_seed"] == sd).any():
                raise InputError(f"The `seeds` parameter of winogender_sides names pretraining seed "
                                 f"{sd}, which {root / base_name} does not hold.")
        base = t[t["pretrain_seed"] == seeds[0]].reset_index(drop=True)
        expt = t[t["pretrain_seed"] == seeds[1]].reset_index(drop=True)
    else:
        base = coref_table(load_coref_group(root / base_name, base_name), occ)
        expt = coref_table(load_coref_group(root / expt_name, expt_name), occ)
    return base, expt, "paired" if paired else "unpaired"


def reproduce_winogender_clusters(root, comparison: str = "intervention", *,
                                  metric: str = "winogender_bias_r",
                                  cluster_col: str | None = "occupation", occupations=None,
                                  seeds: tuple[int, int] = (0, 1), nboot: int = 1000,
                                  confidence_level: float = 0.95, rng=42, **kwargs):
    """A Winogender comparison through the modern engine, occupations as the resampling cluster.

    Calls :func:`multiberts_stats.bootstrap.multiboot` on the groups' matrices, read straight
    from the files (:meth:`CorefGroup.to_runs`; the same data as the tidy tables of
    :func:`winogender_sides`), with ``cluster_col="occupation"`` (whole occupations, with all
    their sentences, are drawn with replacement) and the package metric ``metric``. This is
    the modern alternative to the paper's reference call (:func:`reproduce_winogender`); the
    numbers differ from the paper's because the draws and the unit differ.
    Extra keyword arguments go to ``multiboot`` (``sample_seeds``, ``method``, ...).

    Returns
    -------
    MultiBootstrapResult
    """
    root = require_dir(root, "root")
    if comparison not in _WINOGENDER_COMPARISONS:
        raise InputError(f"The `comparison` parameter of reproduce_winogender_clusters must be "
                         f"one of {sorted(_WINOGENDER_COMPARISONS)}. Got {comparison!r} instead.")
    base_name, expt_name, paired = _WINOGENDER_COMPARISONS[comparison]
    occ = find_occupations(root, occupations)
    if metric.startswith("winogender_bias") and occ is None:
        raise PublishedFormatError("The bias metrics need Winogender's occupations-stats.tsv: pass "
                                   "`occupations=`.")
    base = load_coref_group(root / base_name, base_name).to_runs(occ)
    if comparison == "seed0_vs_seed1":
        present = base.seeds()
        for sd in seeds:
            if sd not in present:
                raise InputError(f"The `seeds` parameter of reproduce_winogender_clusters names "
                                 f"pretraining seed {sd}, which {root / base_name} does not hold "
                                 f"(it has {present}).")
        base, expt = base.subset(seeds=[seeds[0]]), base.subset(seeds=[seeds[1]])
    else:
        expt = load_coref_group(root / expt_name, expt_name).to_runs(occ)
    return multiboot(base, expt, design="paired" if paired else "unpaired", metric=metric,
                     cluster_col=cluster_col, nboot=nboot, confidence_level=confidence_level,
                     rng=rng, **kwargs)


def _glue_metric(task: str):
    """Name and score_fn of a GLUE task as the published notebook (accuracy; Pearson r for STS-B).

    The package metrics are passed (same values as sklearn's ``accuracy_score`` and
    ``scipy.stats.pearsonr``), so the engine takes its vectorised path.
    """
    from multiberts_stats import metrics

    if task == "STS-B":
        return "pearson", metrics.pearson
    return "accuracy", metrics.accuracy


def best_lr_runs(runs: GlueRuns) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Keep the runs of the best learning rate per (release, n_steps), as the paper did.

    The best learning rate of a (release, n_steps) group is the one with the highest mean
    per-run score over all its runs (every pretraining and fine-tuning seed); ties go to the
    smallest rate. Rows come out grouped by (release, n_steps) in sorted order, file order
    inside, as the published notebook's ``groupby(...).apply(...)``.

    Returns
    -------
    (index rows, preds, best_lr Series indexed by (release, n_steps))
    """
    _, fn = _glue_metric(runs.task)
    idx = runs.index.reset_index(drop=True).copy()
    idx["_row"] = np.arange(len(idx))
    idx["_score"] = [fn(runs.labels, p) for p in runs.preds]
    keep, best = [], {}
    for key, sub in idx.groupby(["release", "n_steps"], sort=True):
        lr = sub.groupby("lr")["_score"].mean().idxmax()
        best[key] = lr
        keep.append(sub[sub["lr"] == lr])
    sel = pd.concat(keep)
    best_s = pd.Series(best, name="lr")
    best_s.index.names = ["release", "n_steps"]
    return sel.drop(columns=["_score"]), runs.preds[sel["_row"].to_numpy()], best_s


def reproduce_steps(root, task: str = "MNLI", *, base_steps: str = "1M", expt_steps: str = "2M",
                    release: str = "multiberts", select_lr: bool = True,
                    sample_seeds: bool = True, sample_examples: bool = True, nboot: int = 1000,
                    confidence_level: float = 0.95, rng=42, strict: bool = True,
                    quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's 2M vs 1M pretraining steps analysis (appendix E.1) in one call.

    Base (L) is MultiBERTs after ``base_steps``, expt (L') after ``expt_steps``; the best
    learning rate is chosen per (release, steps) by mean score (``select_lr``), and the design
    is **paired** on the pretraining seeds both sides share (seeds of one side only are left
    out, as the reference does).

    Parameters
    ----------
    root : path
        The GLUE folder (``index.tsv``, ``{TASK}_dev_labels``, prediction files).
    task : str
        Published task name; accuracy, or Pearson r for STS-B (as the paper's notebook).
    nboot, confidence_level, rng
        Defaults 1000, 0.95, 42 (the published notebook used the global ``np.random``; pass
        ``rng=np.random`` for that).

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=3)
    >>> res = reproduce_steps(root / "glue", "MNLI", nboot=50, quiet=True)
    >>> res.table.loc[2, ["metric", "quantity", "design"]].tolist()
    ['accuracy', 'delta', 'paired']
    """
    runs = load_glue(root, task, releases=release, n_steps=[base_steps, expt_steps],
                     strict=strict, quiet=quiet)
    present = set(runs.index["n_steps"])
    for s in (base_steps, expt_steps):
        if s not in present:
            raise PublishedFormatError(f"The index of {str(Path(root))!r} lists no {task} run of "
                                       f"release {release!r} with n_steps={s!r}.")
    if select_lr:
        sel, preds, best = best_lr_runs(runs)
    else:
        sel, preds, best = runs.index.reset_index(drop=True), runs.preds, None
    run_info = sel.reset_index(drop=True).copy()
    run_info["seed"] = run_info["pretrain_id"].to_numpy()
    run_info["intervention"] = (run_info["n_steps"] == expt_steps).to_numpy()
    metric, fn = _glue_metric(task)
    matrices = {metric: (run_info, preds, runs.labels, fn)}
    point = {metric: _point_estimates(run_info, preds, runs.labels, fn, paired=True)}
    common = set(run_info.loc[~run_info.intervention, "seed"]) & set(run_info.loc[run_info.intervention, "seed"])
    settings = {"task": task, "design": "paired", "sample_seeds": sample_seeds,
                "sample_examples": sample_examples, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": len(common), "n_seeds_expt": len(common),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum()),
                "lr_base": float(best[(release, base_steps)]) if best is not None else np.nan,
                "lr_expt": float(best[(release, expt_steps)]) if best is not None else np.nan}
    return _run_reference(f"steps:{task}", matrices, paired=True, sample_seeds=sample_seeds,
                          sample_examples=sample_examples, nboot=nboot,
                          confidence_level=confidence_level, rng=rng, expect_negative={},
                          quiet=quiet, settings=settings, point=point,
                          labels_names=(f"{release} {base_steps}", f"{release} {expt_steps}"))


def reproduce_squad(root, *, metrics=("exact", "f1"), expt_steps: str = "2M",
                    sample_seeds: bool = True, sample_examples: bool = True, nboot: int = 1000,
                    confidence_level: float = 0.95, rng=42, strict: bool = True,
                    quiet: bool = False) -> PublishedResult:
    """Reproduce the paper's SQuAD 2.0 original BERT vs MultiBERTs analysis (appendix E.2).

    Base (L) is original BERT (``release == "public"``: one pretraining seed, its fine-tuning
    runs averaged), expt (L') the MultiBERTs after ``expt_steps``; **unpaired** seeds (the
    fixed-baseline design: the base side is one artifact), examples (questions) shared. The
    per-question official exact match and F1 are precomputed and averaged by the score
    function, with dummy labels, as the published notebook.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("squad",), n_seeds=3)
    >>> res = reproduce_squad(root / "squad", nboot=50, quiet=True)
    >>> sorted(res.stats)
    ['exact', 'f1']
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in ("exact", "f1"):
            raise InputError(f"The `metrics` parameter of reproduce_squad takes 'exact' and 'f1'. "
                             f"Got {m!r} instead.")
    root = require_dir(root, "root")
    full = filter_index(read_index(root), tasks="v2.0")
    keep_rel = full["release"].eq("public") | full["n_steps"].eq(expt_steps)
    sel = full[keep_rel]
    if not sel["release"].eq("public").any():
        raise PublishedFormatError(f"The index of {str(root)!r} lists no SQuAD run of the original "
                                   "BERT (release 'public').")
    if not (sel["release"].eq("multiberts") & sel["n_steps"].eq(expt_steps)).any():
        raise PublishedFormatError(f"The index of {str(root)!r} lists no MultiBERTs SQuAD run with "
                                   f"n_steps={expt_steps!r}.")
    runs = load_squad(root, strict=strict, quiet=quiet)
    mask = (runs.index["release"].eq("public") | runs.index["n_steps"].eq(expt_steps)).to_numpy()
    run_info = runs.index[mask].reset_index(drop=True).copy()
    run_info["seed"] = run_info["pretrain_id"].to_numpy()
    run_info["intervention"] = (run_info["release"] == "multiberts").to_numpy()
    dummy = np.zeros(runs.exact.shape[1])
    score_fn = _MeanOfPreds()
    mats = {"exact": runs.exact[mask], "f1": runs.f1[mask]}
    matrices = {m: (run_info, mats[m], dummy, score_fn) for m in metrics}
    point = {m: _point_estimates(*matrices[m], paired=False) for m in metrics}
    settings = {"design": "fixed_baseline (unpaired)", "sample_seeds": sample_seeds,
                "sample_examples": sample_examples, "nboot": int(nboot),
                "confidence_level": float(confidence_level),
                "n_seeds_base": int(run_info.loc[~run_info.intervention, "seed"].nunique()),
                "n_seeds_expt": int(run_info.loc[run_info.intervention, "seed"].nunique()),
                "n_runs_base": int((~run_info.intervention).sum()),
                "n_runs_expt": int(run_info.intervention.sum())}
    return _run_reference("squad_v2:bert_vs_multiberts", matrices, paired=False,
                          sample_seeds=sample_seeds, sample_examples=sample_examples, nboot=nboot,
                          confidence_level=confidence_level, rng=rng, expect_negative={},
                          quiet=quiet, settings=settings, point=point,
                          labels_names=("original BERT", f"MultiBERTs {expt_steps}"))


class _MeanOfPreds:
    """score_fn of the SQuAD notebook: ``lambda y_true, y_pred: np.mean(y_pred)``."""

    def __call__(self, y_true, y_pred):
        return np.mean(y_pred)


def to_matrix(table: pd.DataFrame, intervention=None, *, value: str = "prediction",
              seed_col: str = "pretrain_seed", label_col: str = "label",
              run_cols=None) -> MatrixRuns:
    """A tidy table in the reference layout: :func:`multiberts_stats.table.to_matrix_runs`
    in the table's own order, plus ``seed`` and ``intervention`` in ``run_info``.

    Runs keep the order of their first row in ``table`` and examples the order of their first
    appearance, so a table read from published files gives back the published order;
    ``runs.to_reference("intervention")`` are then the ``multibootstrap`` inputs.

    Parameters
    ----------
    table : DataFrame
        Tidy table (every run must cover the same examples).
    intervention : str, bool Series / array over rows, callable or None
        Which runs are the experiment side: a column name of booleans, a boolean mask aligned
        with ``table``'s rows, a callable ``table -> mask``; ``None`` = all runs are base.
    value : str
        Column that fills ``preds`` (``prediction``, ``exact_match``, ``f1``, ``score``...).
    seed_col : str
        Column copied to ``run_info['seed']``.
    label_col : str
        Column that gives ``labels`` (must be constant across runs per example).
    run_cols : list of str, optional
        Columns identifying a run; default the tidy run columns present in ``table``.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.published import read_coref
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> t = read_coref(root / "coref", groups=["base", "cda_intervention-50k"])
    >>> m = to_matrix(t, t["group"] == "cda_intervention-50k")
    >>> m, int(m.run_info["intervention"].sum())
    (MatrixRuns(runs=20, examples=720), 10)
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise InputError("The `table` parameter of to_matrix must be a non-empty DataFrame. "
                         f"Got {type(table).__name__} instead.")
    if intervention is None:
        mask = np.zeros(len(table), bool)
    elif isinstance(intervention, str):
        if intervention not in table.columns:
            raise InputError(f"The `intervention` parameter of to_matrix names the column "
                             f"{intervention!r}, which the table lacks.")
        mask = table[intervention].to_numpy().astype(bool)
    elif callable(intervention):
        mask = np.asarray(intervention(table)).astype(bool)
    else:
        mask = np.asarray(intervention).astype(bool)
    if mask.shape != (len(table),):
        raise InputError("The `intervention` mask of to_matrix must have one entry per row of "
                         f"the table ({len(table)}). Got shape {mask.shape} instead.")
    try:
        runs = to_matrix_runs(table.assign(intervention=mask), seed_col=seed_col,
                              run_cols=run_cols, value=value, label=label_col,
                              carry=["intervention"], order="appearance", caller="to_matrix")
    except TableError as e:
        n_ex = table["example_id"].nunique() if "example_id" in table.columns else 0
        raise InputError(f"Every run of the table passed to to_matrix must cover the same {n_ex} "
                         "examples exactly once, with `intervention` constant within each run: "
                         f"{e}") from None
    runs.run_info["seed"] = runs.seed_values(seed_col)
    runs.run_info["intervention"] = runs.run_info["intervention"].astype(bool)
    return runs
