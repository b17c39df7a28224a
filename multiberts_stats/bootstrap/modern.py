"""The modern Multi-Bootstrap API: :func:`multiboot`.

Takes the tidy predictions table (one row per run x example, docs/ARCHITECTURE.md) or the
matrix form (:class:`MatrixRuns`), and returns a :class:`MultiBootstrapResult`.

:func:`multiboot` runs four steps, each its own function:

1. ``_multiboot_iv`` — validate the arguments and resolve the metric (:mod:`..metrics`);
2. ``_parse_sides`` — tidy tables / MatrixRuns -> matrices, through the one conversion of
   :mod:`multiberts_stats.table`; then ``_plan`` — resampling units, seeds per side, the
   engine's sides;
3. :func:`~multiberts_stats.bootstrap.engine.resample` — the replicates;
4. :func:`~multiberts_stats.bootstrap.summary.summarise` — intervals, p-values, the result.

Warnings are classes of :mod:`multiberts_stats.errors` (e.g. ``FewSeedsWarning``), each issued
once per call and listed in ``result.warnings``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from .checks import (BootstrapInputError, BootstrapTypeError, as_generator, check_batch,
                          check_finite, check_level, check_nboot, check_threshold)
from ..errors import (DataWarning, FewClustersWarning, FewSeedsWarning, FixedBaselineWarning,
                      SmallNbootWarning)
from .engine import Side, Units, default_batch, emit_warnings, resample
from .results import MultiBootstrapResult
from .summary import summarise
from .variance import variance_components  # noqa: F401  (public; documented here before)
from ..metrics import (METRICS, CallableMatch, MetricError, VecMetric, get_metric,
                       metric_for_callable, positive_label)
from ..table import (RUN_COLUMNS, MatrixRuns, TableError, TableTypeError, check_one_condition,
                     to_matrix_runs)
from ..table.schema import py_value

__all__ = ["COVERAGE_MIN_CLUSTERS", "COVERAGE_MIN_SEEDS", "RUN_COLUMNS", "MatrixRuns", "multiboot"]

_FN = "multiboot"


#: smallest number of resampled seeds at which the simulated coverage of the 95% percentile
#: interval of a procedure mean held (>= 92.5%) in the coverage study of docs/statistics.md
#: (seed-heavy crossed model: 84% at 3 seeds, 91% at 5, 92% at 10 and 15, 95% at 20, 96% at 25);
#: results with fewer resampled seeds carry a warning.
COVERAGE_MIN_SEEDS = 20

#: smallest number of resampled clusters at which the simulated coverage of the 95% percentile
#: interval held (>= 92.5%) in the cluster coverage study of docs/statistics.md
#: (benchmarks/cluster_coverage.py); results with fewer clusters carry a FewClustersWarning.
COVERAGE_MIN_CLUSTERS = 20
CLUSTER_COVERAGE_TEXT = ("80% at 4 clusters, 85% at 6, 89% at 10, 92% at 15 and 20, 94% at 30 and 60 for a "
                         "procedure mean")

_DESIGNS = (None, "single", "paired", "unpaired", "fixed_baseline")
_METHODS = ("percentile", "basic", "bca", "corrected")


@dataclass
class _Parsed:
    """One side as matrices: per-run seeds, per-run matrices, per-example arrays."""

    seed_values: list
    example_ids: np.ndarray
    run: dict
    ex: dict


def _err(msg):
    return BootstrapInputError(msg)


def _seed_cols(seed_col):
    cols = [seed_col] if isinstance(seed_col, str) else list(seed_col)
    if not cols or not all(isinstance(c, str) for c in cols):
        raise _err(f"The `seed_col` parameter of {_FN} must be a column name or a list of column "
                   f"names. Got {seed_col!r} instead.")
    return cols


def _metric_columns(vm: VecMetric | None, cluster_col):
    if vm is None:
        run_cols, ex_cols = ["prediction"], ["label"]
    else:
        run_cols, ex_cols = list(vm.run_cols), list(vm.ex_cols)
    if cluster_col is not None and cluster_col not in ex_cols:
        ex_cols.append(cluster_col)
    return run_cols, ex_cols


def _parse_tidy(df, side: str, seed_cols, run_cols, metric_run_cols, metric_ex_cols,
                average_over=()) -> _Parsed:
    """Tidy table -> matrices through the one conversion of :mod:`multiberts_stats.table`;
    one side must be one condition (``average_over`` names what may vary)."""
    value = "prediction" if "prediction" in metric_run_cols else None
    label = "label" if "label" in metric_ex_cols else None
    try:
        m = to_matrix_runs(df, seed_col=seed_cols, run_cols=run_cols, value=value, label=label,
                           run_values=[c for c in metric_run_cols if c != value],
                           example_values=[c for c in metric_ex_cols if c != label],
                           side=side, caller=_FN, one_condition=True,
                           average_over=average_over)
    except TableTypeError as e:
        raise BootstrapTypeError(str(e)) from None
    except TableError as e:
        raise _err(str(e)) from None
    return _parse_matrix(m, side, seed_cols, metric_run_cols, metric_ex_cols, tidy=True)


def _parse_matrix(m: MatrixRuns, side: str, seed_cols, metric_run_cols, metric_ex_cols,
                  tidy: bool = False) -> _Parsed:
    ri = m.run_info
    if not hasattr(ri, "columns"):
        raise BootstrapTypeError(f"`{side}.run_info` passed to {_FN} must be a pandas DataFrame. "
                                 f"Got {type(ri).__name__} instead.")
    cols = list(seed_cols)
    if any(c not in ri.columns for c in cols):
        if cols == ["pretrain_seed"] and "seed" in ri.columns:
            cols = ["seed"]
        else:
            raise _err(f"`{side}.run_info` passed to {_FN} needs the seed column(s) {cols}. Got "
                       f"columns {list(ri.columns)}.")
    run_mats = {k: np.asarray(v) for k, v in m.run_columns.items()}
    if m.preds is not None:
        run_mats["prediction"] = np.asarray(m.preds)
    first = run_mats.get("prediction", next(iter(run_mats.values()), None))
    if first is None:
        raise _err(f"`{side}` passed to {_FN} has no per-run matrix: give `preds` or "
                   "`run_columns`.")
    if first.ndim != 2:
        raise _err(f"`{side}.preds` passed to {_FN} must be a 2-D array (runs x examples). Got shape "
                   f"{first.shape} instead.")
    n_runs, n_ex = first.shape
    if n_runs == 0:
        raise _err(f"The `{side}` parameter of {_FN} must have at least one run. Got 0 rows.")
    if n_runs != len(ri):
        raise _err(f"`{side}.preds` passed to {_FN} must have one row per row of run_info. Got "
                   f"{n_runs} rows of preds and {len(ri)} rows of run_info.")
    ex_cols = dict(m.columns)
    if m.labels is not None:
        ex_cols["label"] = m.labels

    def name(c, per_run):
        if tidy:
            return f"{side}['{c}']"
        if per_run:
            return f"{side}.{'preds' if c == 'prediction' else c}"
        return f"{side}.{'labels' if c == 'label' else c}"

    run, ex = {}, {}
    for c in metric_run_cols:
        if c not in run_mats:
            raise _err(f"The metric needs the per-run column {c!r}; pass it in "
                       f"`{side}.run_columns` (got {sorted(run_mats)}).")
        a = run_mats[c]
        if a.shape != (n_runs, n_ex):
            raise _err(f"`{side}.run_columns[{c!r}]` passed to {_FN} must have shape {(n_runs, n_ex)}. "
                       f"Got {a.shape} instead.")
        check_finite(a, name(c, True), _FN)
        run[c] = a
    for c in metric_ex_cols:
        if c not in ex_cols:
            raise _err(f"The metric needs the per-example column {c!r}; pass "
                       f"{'`labels`' if c == 'label' else f'it in `{side}.columns`'} "
                       f"(got {sorted(ex_cols)}).")
        a = np.asarray(ex_cols[c])
        if a.shape != (n_ex,):
            raise _err(f"`{side}.{'labels' if c == 'label' else c}` passed to {_FN} must have one entry "
                       f"per column of preds ({n_ex}). Got shape {a.shape} instead.")
        if c not in ("gender", "occupation"):
            check_finite(a, name(c, False), _FN)
        ex[c] = a
    ids = np.arange(n_ex) if m.example_ids is None else np.asarray(m.example_ids)
    if ids.shape != (n_ex,):
        raise _err(f"`{side}.example_ids` passed to {_FN} must have one id per column of preds "
                   f"({n_ex}). Got shape {ids.shape} instead.")
    if not tidy:  # the tidy conversion gives unique, sorted ids
        u, cnt = np.unique(ids, return_counts=True)
        if (cnt > 1).any():
            raise _err(f"`{side}.example_ids` passed to {_FN} must be unique. Got "
                       f"{u[cnt > 1][:5].tolist()} more than once.")
        order = np.argsort(ids, kind="stable")
        if not np.array_equal(order, np.arange(n_ex)):
            run = {k: v[:, order] for k, v in run.items()}
            ex = {k: v[order] for k, v in ex.items()}
            ids = ids[order]
    if len(cols) > 1:
        seed_values = list(ri[cols].itertuples(index=False, name=None))
    else:
        seed_values = ri[cols[0]].tolist()
    return _Parsed(seed_values, ids, run, ex)


def _parse(obj, side, seed_cols, run_cols, mrc, mec, average_over=()) -> _Parsed:
    if isinstance(obj, MatrixRuns):
        p = _parse_matrix(obj, side, seed_cols, mrc, mec)
        declared = list(average_over) + ([] if run_cols is None else
                                         [run_cols] if isinstance(run_cols, str) else list(run_cols))
        try:
            check_one_condition(obj.run_info, seed_cols, declared, side=side, caller=_FN)
        except TableError as e:
            raise _err(str(e)) from None
        return p
    if hasattr(obj, "columns") and hasattr(obj, "groupby"):
        return _parse_tidy(obj, side, seed_cols, run_cols, mrc, mec, average_over)
    raise BootstrapTypeError(
        f"The `{side}` parameter of {_FN} must be a tidy pandas DataFrame (one row per run x "
        f"example) or a MatrixRuns. Got {type(obj).__name__} instead.")


def _sorted(values, side):
    try:
        return sorted(set(values))
    except TypeError:
        raise _err(f"The seed values of the `{side}` side passed to {_FN} must be mutually "
                   f"comparable (they are sorted). Got {sorted(map(repr, set(values)))[:5]}.") from None


def _binary(*arrays) -> bool:
    try:
        return all(np.isin(np.unique(a), [0, 1]).all() for a in arrays)
    except TypeError:
        return False


def _resolve_metric(metric):
    """-> (display name, VecMetric or None, callable or None, CallableMatch or None)."""
    if isinstance(metric, str):
        try:
            spec = get_metric(metric)
        except MetricError:
            raise _err(f"The `metric` parameter of {_FN} must be one of {sorted(METRICS)} or a "
                       f"callable(y_true, y_pred) -> float. Got {metric!r} instead.") from None
        if spec.vectorised is not None:
            return spec.name, spec.vectorised, None, CallableMatch(spec)
        return spec.name, None, spec.fn, CallableMatch(spec)
    if callable(metric):
        match = metric_for_callable(metric)
        if match is not None and match.metric.vectorised is not None and not match.binary_only:
            return match.metric.name, match.metric.vectorised, None, match
        return getattr(metric, "__name__", type(metric).__name__), None, metric, match
    raise BootstrapTypeError(f"The `metric` parameter of {_FN} must be a metric name or a callable. "
                             f"Got {type(metric).__name__} instead.")


def multiboot(base, expt=None, *, design=None, metric="accuracy", seed_col="pretrain_seed",
              run_cols=None, cluster_col=None, sample_seeds=True, sample_examples=True,
              nboot=1000, confidence_level=0.95, method="percentile", abs_threshold=None,
              rel_threshold=None, expect_negative_effect=False, batch=None, rng=None,
              quiet=False, average_over=None, pos_label=None,
              n_comparisons=1) -> MultiBootstrapResult:
    """Multi-Bootstrap confidence intervals over pretraining seeds and examples.

    A replicate draws seeds with replacement (one draw shared by both sides of a paired design,
    one per side otherwise; none for a fixed baseline), draws examples — or clusters of examples
    — with replacement (one draw shared by both sides), scores every run of every drawn seed on
    the drawn examples, averages runs inside a seed and then the drawn seeds.

    Parameters
    ----------
    base : pandas.DataFrame or MatrixRuns
        The only side, or the baseline. A tidy table has one row per (run, example) with the
        seed column(s), ``example_id`` and the columns the metric reads (``label`` and
        ``prediction`` for most; ``score`` for ``mean``; ``exact_match`` / ``f1`` for SQuAD;
        ``prediction``, ``gender``, ``occupation``, ``bls_pct_female`` for Winogender).
    expt : pandas.DataFrame or MatrixRuns, optional
        The experiment side. Both sides must hold the same example ids.
    design : {None, "paired", "unpaired", "fixed_baseline"}
        None (or "single") for one side alone. "paired": seeds shared by both sides (seeds on
        one side only are dropped with a warning), one seed draw for both. "unpaired": each
        side draws its own seeds. "fixed_baseline": ``base`` is one artifact (e.g. the original
        BERT with several fine-tuning runs) whose seed axis is never resampled: its runs are
        averaged (inside each seed, then over its seeds if it has several) and the examples are
        still shared with ``expt``.
    metric : str or callable
        A name from :data:`multiberts_stats.metrics.METRICS` or ``callable(y_true, y_pred)``.
        Decomposable metrics take the vectorised path; ``spearman`` and other callables the
        general path (same draws, same semantics, slower).
    seed_col : str or list of str
        Column(s) identifying a pretraining seed, the outer resampling unit.
    run_cols : str or list of str, optional
        Columns identifying a run inside a seed (default: the tidy run columns present).
    cluster_col : str, optional
        Resample clusters of examples (e.g. ``"occupation"``); a drawn cluster enters with all
        its examples, as many times as drawn. Winogender metrics always use occupations.
    sample_seeds, sample_examples : bool
        Switch either axis off to see how much the other contributes.
    nboot : int
        Number of replicates.
    confidence_level : float
        In (0, 1).
    method : {"percentile", "basic", "bca", "corrected"}
        "bca" (bias-corrected, accelerated; jackknife acceleration) is offered when only one
        axis is resampled (examples/clusters, or the seeds of a single seed sample); with both
        axes resampled there is no valid jackknife and it is refused. "corrected" removes the
        per-run noise that joint resampling counts twice (variance components; t interval),
        for means of per-example scores with both axes resampled; with one axis switched off
        nothing is counted twice, and the percentile interval is used instead (said in
        ``result.notes``, ``result.method`` and ``result.details["method_requested"]``).
        p-values agree with the interval method (``result.pvalue_method``).
    abs_threshold, rel_threshold : float, optional
        Report P(delta >= abs_threshold) and P(delta / base >= rel_threshold).
    expect_negative_effect : bool
        p-value and thresholds for delta < 0 instead.
    batch : int, optional
        Replicates per matrix product (bounds memory; results do not depend on it).
    rng : None, int, numpy Generator or RandomState
        Made into a Generator once (a RandomState is used as it is); global state is never used.
    quiet : bool
        No progress bar. Otherwise a tqdm bar on stderr appears for long work (more than one
        batch of replicates, or the general path), on a terminal only.
    average_over : str or list of str, optional
        Condition columns (task, layer, step, method, ...) to average inside each seed as if
        they were runs. Without it, a condition column that varies inside a seed is an error:
        one side must be one condition.
    pos_label : optional
        The positive class of a binary metric (``f1``). Default 1 when the labels are {0, 1};
        other label sets (e.g. 'neg'/'pos') need it.
    n_comparisons : int
        How many comparisons the caller makes (e.g. the artifacts of one report): a
        ``SmallNbootWarning`` says when the smallest two-sided p-value, 2 / (nboot + 1), cannot
        go below the per-comparison level (1 - confidence_level) / n_comparisons.

    Returns
    -------
    MultiBootstrapResult
        Estimates, intervals, p-values that agree with the interval (``pvalue_method``), the
        whole distribution, ``warnings`` and ``notes``.

    Raises
    ------
    BootstrapInputError
        Bad arguments or data (the message names the parameter or column, the rule and what
        was received), a side mixing conditions, a binary metric without a known positive
        class, or a metric undefined on a side (NaN estimate or every replicate NaN).

    Warns
    -----
    FewSeedsWarning, FewClustersWarning
        Fewer resampled seeds / clusters than the coverage studies support.
    SmallNbootWarning
        2 / (nboot + 1) >= (1 - confidence_level) / n_comparisons.
    FixedBaselineWarning
        A fixed baseline with several seeds (averaged, never resampled).
    UndefinedMetricWarning
        Some replicates NaN (dropped, counted).
    DataWarning
        Seeds on one side only of a paired design (dropped).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from multiberts_stats.bootstrap import multiboot
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(pretrain_seed=s, finetune_seed=f, example_id=f"ex{j}", label=j % 2,
    ...              prediction=(j % 2) if rng.random() < 0.8 else 1 - j % 2)
    ...         for s in range(5) for f in range(2) for j in range(50)]
    >>> table = pd.DataFrame(rows)
    >>> res = multiboot(table, nboot=200, rng=1)
    >>> res.ci["base"][0] <= res.estimate["base"] <= res.ci["base"][1]
    True
    >>> res.n_seeds
    {'base': 5}
    """
    req = _multiboot_iv(
        base, expt, design=design, metric=metric, seed_col=seed_col, run_cols=run_cols,
        cluster_col=cluster_col, sample_seeds=sample_seeds, sample_examples=sample_examples,
        nboot=nboot, confidence_level=confidence_level, method=method,
        abs_threshold=abs_threshold, rel_threshold=rel_threshold,
        expect_negative_effect=expect_negative_effect, batch=batch, rng=rng, quiet=quiet,
        average_over=average_over, pos_label=pos_label, n_comparisons=n_comparisons)
    parsed = _parse_sides(req, base, expt)
    plan = _plan(req, parsed)
    dist = resample(plan.sides, plan.seed_plan, plan.draw_key, plan.resampled, plan.units,
                    req.sample_examples, req.rng, req.nboot, plan.batch, req.quiet)
    result = summarise(req, plan, dist)
    emit_warnings(plan.warning_notes, stacklevel=2)
    return result


# ----------------------------------------------------------------------------------------------
# 1. validation of the arguments


@dataclass
class Request:
    """The validated arguments of one :func:`multiboot` call."""

    design: str
    metric_name: str
    vm: VecMetric | None
    fn: object
    match: object
    seed_cols: list
    run_cols: object
    cluster_col: str | None
    sample_seeds: bool
    sample_examples: bool
    nboot: int
    c: float
    method: str
    abs_threshold: float | None
    rel_threshold: float | None
    expect_negative_effect: bool
    batch: int | None
    rng: object
    quiet: bool
    has_expt: bool
    average_over: list = field(default_factory=list)
    pos_label: object = None
    n_comparisons: int = 1
    method_requested: str = ""
    notes: list = field(default_factory=list)  # (warning class or None, message)


def _multiboot_iv(base, expt, *, design, metric, seed_col, run_cols, cluster_col, sample_seeds,
                  sample_examples, nboot, confidence_level, method, abs_threshold,
                  rel_threshold, expect_negative_effect, batch, rng, quiet, average_over=None,
                  pos_label=None, n_comparisons=1) -> Request:
    """Check every argument of :func:`multiboot` (not the data) and resolve the metric."""
    nboot = check_nboot(nboot, _FN)
    c = check_level(confidence_level, "confidence_level", _FN)
    batch = check_batch(batch, _FN)
    abs_threshold = check_threshold(abs_threshold, "abs_threshold", _FN)
    rel_threshold = check_threshold(rel_threshold, "rel_threshold", _FN)
    if design not in _DESIGNS:
        raise _err(f"The `design` parameter of {_FN} must be one of None, 'paired', 'unpaired', "
                   f"'fixed_baseline'. Got {design!r} instead.")
    if method not in _METHODS:
        raise _err(f"The `method` parameter of {_FN} must be one of {list(_METHODS)}. "
                   f"Got {method!r} instead.")
    design = "single" if design is None else design
    if expt is None and design != "single":
        raise _err(f"The `expt` parameter of {_FN} is required by design={design!r}. Got None.")
    if expt is not None and design == "single":
        raise _err(f"The `design` parameter of {_FN} must be 'paired', 'unpaired' or "
                   f"'fixed_baseline' when `expt` is given. Got None.")
    for nm, v in (("sample_seeds", sample_seeds), ("sample_examples", sample_examples),
                  ("expect_negative_effect", expect_negative_effect)):
        if not isinstance(v, (bool, np.bool_)):
            raise BootstrapTypeError(f"The `{nm}` parameter of {_FN} must be True or False. "
                                     f"Got {v!r} instead.")
    rng = as_generator(rng, _FN)
    seed_cols = _seed_cols(seed_col)
    metric_name, vm, fn, match = _resolve_metric(metric)
    if vm is not None and vm.needs_clusters and cluster_col is None:
        cluster_col = vm.needs_clusters
    if isinstance(n_comparisons, (bool, np.bool_)) or not isinstance(n_comparisons, numbers.Integral) \
            or n_comparisons < 1:
        raise _err(f"The `n_comparisons` parameter of {_FN} must be a positive integer. "
                   f"Got {n_comparisons!r} instead.")
    avg = [average_over] if isinstance(average_over, str) else list(average_over or [])
    if not all(isinstance(a, str) for a in avg):
        raise _err(f"The `average_over` parameter of {_FN} must be a column name or a list of "
                   f"column names. Got {average_over!r} instead.")
    notes: list = []
    requested = method
    if method == "corrected" and not (sample_seeds and sample_examples):
        method = "percentile"
        notes.append((None, "method='corrected' corrects joint resampling of seeds and examples; "
                            "with an axis switched off nothing is counted twice, so the "
                            "percentile interval is used (and its p-values)."))
    req = Request(design, metric_name, vm, fn, match, seed_cols, run_cols, cluster_col,
                  bool(sample_seeds), bool(sample_examples), nboot, c, method, abs_threshold,
                  rel_threshold, bool(expect_negative_effect), batch, rng, bool(quiet),
                  expt is not None, avg, pos_label, int(n_comparisons), requested, notes)
    if req.has_expt and method != "corrected":
        alpha = 1 - c
        floor = 2.0 / (nboot + 1)
        level = alpha / req.n_comparisons * (1 - 1e-9)  # 1 - 0.95 is 0.05 + 4e-17
        if floor >= level:
            need = max(1, int(np.floor(2 * req.n_comparisons / alpha)) - 1)
            while 2.0 / (need + 1) >= level:  # at most a step or two
                need += 1
            notes.append((SmallNbootWarning,
                          f"nboot={nboot} is too small for the requested level: the smallest "
                          f"two-sided p-value is 2/(nboot+1) = {floor:.3g}, not below alpha/m = "
                          f"{alpha:g}/{req.n_comparisons} = {alpha / req.n_comparisons:.3g}, so "
                          f"no comparison can be significant; use nboot >= {need}."))
    return req


# ----------------------------------------------------------------------------------------------
# 2. parse: tidy tables or MatrixRuns -> matrices (multiberts_stats.table)


def _parse_sides(req: Request, base, expt) -> dict:
    mrc, mec = _metric_columns(req.vm, req.cluster_col)
    avg = req.average_over
    parsed = {"base": _parse(base, "base", req.seed_cols, req.run_cols, mrc, mec, avg)}
    if expt is not None:
        parsed["expt"] = _parse(expt, "expt", req.seed_cols, req.run_cols, mrc, mec, avg)
        b_ids, e_ids = parsed["base"].example_ids, parsed["expt"].example_ids
        if len(b_ids) != len(e_ids) or not np.array_equal(b_ids, e_ids):
            only_b = np.setdiff1d(b_ids, e_ids)[:5].tolist()
            only_e = np.setdiff1d(e_ids, b_ids)[:5].tolist()
            raise _err(f"Example ids must align between `base` and `expt` in {_FN} (examples are "
                       f"resampled jointly). Got {len(b_ids)} and {len(e_ids)} ids; only in base "
                       f"e.g. {only_b}, only in expt e.g. {only_e}.")
        for col in mec:
            a, b = parsed["base"].ex[col], parsed["expt"].ex[col]
            if not np.array_equal(a, b) and not (a.dtype.kind == "f" and
                                                 np.allclose(a, b, equal_nan=True)):
                j = int(np.argmax(a != b))
                raise _err(f"The `{col}` column must agree between `base` and `expt` in {_FN}. "
                           f"Got {py_value(a[j])!r} and {py_value(b[j])!r} for example_id "
                           f"{py_value(b_ids[j])!r}.")
    if req.match is not None and req.match.binary_only and req.vm is None \
            and all(_binary(p.ex["label"], p.run["prediction"]) for p in parsed.values()):
        # sklearn's binary F1 on {0, 1} data: the same numbers as the registry's f1
        req.vm, req.fn, req.metric_name = req.match.metric.vectorised, None, req.match.metric.name
    spec = req.match.metric if req.match is not None and not req.match.binary_only else None
    if spec is not None and spec.binary and req.vm is not None:
        preds = np.concatenate([p.run["prediction"].ravel() for p in parsed.values()])
        try:
            pos = positive_label(parsed["base"].ex["label"], preds, req.pos_label,
                                 metric=spec.name, where=f"of the {' and '.join(parsed)} table(s)")
        except ValueError as e:
            raise _err(f"{e} ({_FN})") from None
        req.vm = spec.with_pos_label(pos)
        req.pos_label = pos
    elif req.pos_label is not None:
        raise _err(f"The `pos_label` parameter of {_FN} applies to binary metrics "
                   f"({sorted(n for n, m in METRICS.items() if m.binary)}). Got metric "
                   f"{req.metric_name!r}.")
    return parsed


# ----------------------------------------------------------------------------------------------
# 3. plan: resampling units, seeds per side, the engine's sides


@dataclass
class Plan:
    """What the engine resamples: units, seeds per side, the sides, the draw plan."""

    parsed: dict
    units: Units
    seeds: dict
    resampled: dict
    sides: dict
    seed_plan: list
    draw_key: dict
    batch: int
    n_examples: int
    notes: list = field(default_factory=list)  # (warning class, message)

    @property
    def result_notes(self) -> list:
        """Notes for ``result.notes`` (informational, no warning class)."""
        return [msg for cat, msg in self.notes if cat is None]

    @property
    def warning_notes(self) -> list:
        return [(cat, msg) for cat, msg in self.notes if cat is not None]


def _units(req: Request, first: _Parsed, n_examples: int) -> Units:
    cluster_col, vm = req.cluster_col, req.vm
    if cluster_col is None:
        return Units(n_examples)
    import pandas as pd

    codes, cl_labels = pd.factorize(first.ex[cluster_col], sort=True)
    units = Units(n_examples, index=codes.astype(np.int64), labels=np.asarray(cl_labels))
    if vm is not None and vm.needs_clusters and cluster_col != vm.needs_clusters:
        occ = pd.Series(first.ex[vm.needs_clusters])
        per_cluster = occ.groupby(codes).nunique()
        if not ((per_cluster == 1).all() and occ.nunique() == units.n_units):
            raise _err(f"The `cluster_col` parameter of {_FN} must identify the occupations for "
                       f"metric {req.metric_name!r} (one occupation per cluster). "
                       f"Got {cluster_col!r}.")
    return units


def _plan(req: Request, parsed: dict) -> Plan:
    design, vm = req.design, req.vm
    first = parsed["base"]
    n_examples = len(first.example_ids)
    units = _units(req, first, n_examples)
    notes: list = list(req.notes)
    seeds = {k: _sorted(p.seed_values, k) for k, p in parsed.items()}
    keep = {k: None for k in parsed}
    if design == "paired":
        common = sorted(set(seeds["base"]) & set(seeds["expt"]))
        if not common:
            raise _err(f"The paired design of {_FN} needs seeds present on both sides. Got base "
                       f"seeds {seeds['base'][:10]} and expt seeds {seeds['expt'][:10]}, none in "
                       "common.")
        cs = set(common)
        for k in ("base", "expt"):
            only = [s for s in seeds[k] if s not in cs]
            if only:
                notes.append((DataWarning, f"{len(only)} seed(s) found on the {k} side only are "
                                           f"omitted from the paired analysis: {only[:10]}"))
                keep[k] = np.array([s in cs for s in parsed[k].seed_values])
            seeds[k] = common
    resampled = {k: req.sample_seeds and not (design == "fixed_baseline" and k == "base")
                 for k in parsed}
    for k in parsed:
        if resampled[k] and len(seeds[k]) == 1:
            notes.append((FewSeedsWarning, f"The {k} side has a single seed: with "
                          "sample_seeds=True the seed axis contributes nothing, so the interval "
                          "reflects examples only and says nothing about other pretraining "
                          "seeds."))
    if design == "fixed_baseline" and len(seeds["base"]) > 1:
        notes.append((FixedBaselineWarning,
                      f"The fixed baseline has {len(seeds['base'])} seeds: design="
                      "'fixed_baseline' treats it as one artifact, so its seeds are averaged and "
                      "never resampled and its seed-to-seed variation is not in the interval. "
                      "Use design='unpaired' (or 'paired') to treat the baseline as a procedure."))
    if req.cluster_col is not None and req.sample_examples and \
            units.n_units < COVERAGE_MIN_CLUSTERS:
        notes.append((FewClustersWarning,
                      f"Only {units.n_units} clusters ({req.cluster_col!r}) are resampled; in "
                      f"simulation the 95% interval undercovers below {COVERAGE_MIN_CLUSTERS} "
                      f"clusters ({CLUSTER_COVERAGE_TEXT}; see docs/statistics.md), so read the "
                      "interval as optimistic."))
    n_res = [len(seeds[k]) for k in parsed if resampled[k] and len(seeds[k]) > 1]
    if n_res and min(n_res) < COVERAGE_MIN_SEEDS:
        notes.append((FewSeedsWarning, f"Only {min(n_res)} seeds are resampled; in simulation the "
                      f"95% interval of a procedure mean undercovers below {COVERAGE_MIN_SEEDS} "
                      "seeds (84% at 3 seeds, 91% at 5, 92% at 10; see docs/statistics.md), so "
                      "read the interval as optimistic where seed-to-seed variation matters."))

    sides: dict[str, Side] = {}
    for k, p in parsed.items():
        idx = np.arange(len(p.seed_values)) if keep[k] is None else np.flatnonzero(keep[k])
        pos = {s: i for i, s in enumerate(seeds[k])}
        run_seed = np.array([pos[p.seed_values[i]] for i in idx], dtype=np.int64)
        run = p.run if keep[k] is None else {c_: v[idx] for c_, v in p.run.items()}
        if vm is not None:
            try:
                sides[k] = Side.build(k, seeds[k], run_seed, units, metric=vm, ex=p.ex, run=run)
            except ValueError as e:
                raise _err(f"Metric {req.metric_name!r} in {_FN} on the {k} side: {e}") from None
        else:
            sides[k] = Side.build(k, seeds[k], run_seed, units, fn=req.fn, y_true=p.ex["label"],
                                  preds=run["prediction"])
    if design == "paired":
        seed_plan = [("shared", len(seeds["base"]))] if req.sample_seeds else []
        draw_key = {"base": "shared", "expt": "shared"}
    else:
        seed_plan = [(k, len(seeds[k])) for k in parsed if resampled[k]]
        draw_key = {k: k for k in parsed}
    batch = req.batch
    if batch is None:
        ncols = sum(s.n_cols for s in sides.values()) if vm is not None else 0
        batch = default_batch(units.n_units, ncols, req.nboot)
    return Plan(parsed, units, seeds, resampled, sides, seed_plan, draw_key, batch, n_examples,
                notes)
