"""The modern Multi-Bootstrap API: :func:`multiboot`.

Takes the tidy predictions table (one row per run x example, docs/ARCHITECTURE.md) or the
matrix form (:class:`MatrixRuns`), and returns a :class:`MultiBootstrapResult`.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validation import (BootstrapInputError, BootstrapTypeError, as_generator, check_batch,
                          check_finite, check_level, check_nboot, check_threshold)
from .engine import (Side, Units, counts_dtype, counts_from_draws, default_batch, draw_replicates,
                     seed_weights, stacked_run_scores)
from .results import MultiBootstrapResult, acceleration, basic_ci, bca_ci, percentile_ci
from .vecmetrics import VEC_METRICS, VecMetric, vec_name_for_callable
from ..table import RUN_COLUMNS, MatrixRuns, TableError, TableTypeError, to_matrix_runs

__all__ = ["multiboot", "MatrixRuns", "RUN_COLUMNS", "COVERAGE_MIN_SEEDS"]

_FN = "multiboot"


#: smallest number of resampled seeds at which the simulated coverage of the 95% percentile
#: interval of a procedure mean held (>= 92.5%) in the coverage study of docs/statistics.md
#: (seed-heavy crossed model: 84% at 3 seeds, 91% at 5, 92% at 10 and 15, 95% at 20, 96% at 25);
#: results with fewer resampled seeds carry a warning.
COVERAGE_MIN_SEEDS = 20

_LINEAR = {"accuracy", "error", "mean", "exact_match", "squad_f1"}
_DESIGNS = (None, "single", "paired", "unpaired", "fixed_baseline")
_METHODS = ("percentile", "basic", "bca", "corrected")


@dataclass
class _Parsed:
    """One side as matrices: per-run seeds, per-run matrices, per-example arrays."""

    seed_values: list
    run_labels: list
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


def _run_label(keys: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in keys.items())


def _parse_tidy(df, side: str, seed_cols, run_cols, metric_run_cols, metric_ex_cols) -> _Parsed:
    """Tidy table -> matrices through the one conversion of :mod:`multiberts_stats.table`."""
    value = "prediction" if "prediction" in metric_run_cols else None
    label = "label" if "label" in metric_ex_cols else None
    try:
        m = to_matrix_runs(df, seed_col=seed_cols, run_cols=run_cols, value=value, label=label,
                           run_values=[c for c in metric_run_cols if c != value],
                           example_values=[c for c in metric_ex_cols if c != label],
                           side=side, caller=_FN)
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
    return _Parsed(seed_values, None, ids, run, ex)


def _parse(obj, side, seed_cols, run_cols, mrc, mec) -> _Parsed:
    if isinstance(obj, MatrixRuns):
        return _parse_matrix(obj, side, seed_cols, mrc, mec)
    if hasattr(obj, "columns") and hasattr(obj, "groupby"):
        return _parse_tidy(obj, side, seed_cols, run_cols, mrc, mec)
    raise BootstrapTypeError(
        f"The `{side}` parameter of {_FN} must be a tidy pandas DataFrame (one row per run x "
        f"example) or a MatrixRuns. Got {type(obj).__name__} instead.")


def _sorted(values, side):
    try:
        return sorted(set(values))
    except TypeError:
        raise _err(f"The seed values of the `{side}` side passed to {_FN} must be mutually "
                   f"comparable (they are sorted). Got {sorted(map(repr, set(values)))[:5]}.") from None


def _is_sklearn(fn) -> bool:
    return (getattr(fn, "__module__", "") or "").startswith("sklearn")


def _binary(*arrays) -> bool:
    try:
        return all(np.isin(np.unique(a), [0, 1]).all() for a in arrays)
    except TypeError:
        return False


def _resolve_metric(metric):
    """-> (display name, VecMetric or None, callable or None, MetricSpec name or None)."""
    if isinstance(metric, str):
        from multiberts_stats.metrics import METRICS

        if metric not in METRICS:
            raise _err(f"The `metric` parameter of {_FN} must be one of {sorted(METRICS)} or a "
                       f"callable(y_true, y_pred) -> float. Got {metric!r} instead.")
        vm = VEC_METRICS.get(metric)
        if vm is not None:
            return metric, vm, None
        return metric, None, METRICS[metric].fn
    if callable(metric):
        name = vec_name_for_callable(metric)
        if name is not None and not (name == "f1" and _is_sklearn(metric)):
            return name, VEC_METRICS[name], None
        return getattr(metric, "__name__", type(metric).__name__), None, metric
    raise BootstrapTypeError(f"The `metric` parameter of {_FN} must be a metric name or a callable. "
                             f"Got {type(metric).__name__} instead.")


def multiboot(base, expt=None, *, design=None, metric="accuracy", seed_col="pretrain_seed",
              run_cols=None, cluster_col=None, sample_seeds=True, sample_examples=True,
              nboot=1000, confidence_level=0.95, method="percentile", abs_threshold=None,
              rel_threshold=None, expect_negative_effect=False, batch=None, rng=None,
              quiet=False) -> MultiBootstrapResult:
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
        for means of per-example scores with both axes resampled; see docs/statistics.md.
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
        batch of replicates, or the general path).

    Returns
    -------
    MultiBootstrapResult

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
    for nm, v in (("sample_seeds", sample_seeds), ("sample_examples", sample_examples)):
        if not isinstance(v, (bool, np.bool_)):
            raise BootstrapTypeError(f"The `{nm}` parameter of {_FN} must be True or False. "
                                     f"Got {v!r} instead.")
    rng = as_generator(rng, _FN)
    seed_cols = _seed_cols(seed_col)
    metric_name, vm, fn = _resolve_metric(metric)
    if vm is not None and vm.needs_clusters:
        if cluster_col is None:
            cluster_col = vm.needs_clusters
    mrc, mec = _metric_columns(vm, cluster_col)

    parsed = {"base": _parse(base, "base", seed_cols, run_cols, mrc, mec)}
    if expt is not None:
        parsed["expt"] = _parse(expt, "expt", seed_cols, run_cols, mrc, mec)
        b_ids, e_ids = parsed["base"].example_ids, parsed["expt"].example_ids
        if len(b_ids) != len(e_ids) or not np.array_equal(b_ids, e_ids):
            only_b = np.setdiff1d(b_ids, e_ids)[:5].tolist()
            only_e = np.setdiff1d(e_ids, b_ids)[:5].tolist()
            raise _err(f"Example ids must align between `base` and `expt` in {_FN} (examples are "
                       f"resampled jointly). Got {len(b_ids)} and {len(e_ids)} ids; only in base "
                       f"e.g. {only_b}, only in expt e.g. {only_e}.")
        for col in mec:
            a, b = parsed["base"].ex[col], parsed["expt"].ex[col]
            if not np.array_equal(a, b) and not (a.dtype.kind == "f" and np.allclose(a, b, equal_nan=True)):
                j = int(np.argmax(a != b))
                raise _err(f"The `{col}` column must agree between `base` and `expt` in {_FN}. "
                           f"Got {a[j]!r} and {b[j]!r} for example_id {b_ids[j]!r}.")
    first = parsed["base"]
    n_examples = len(first.example_ids)
    if vm is None and fn is not None and _is_sklearn(fn) and vec_name_for_callable(fn) == "f1" \
            and all(_binary(p.ex["label"], p.run["prediction"]) for p in parsed.values()):
        vm, fn, metric_name = VEC_METRICS["f1"], None, "f1"  # sklearn's binary F1: same numbers

    # resampling units
    if cluster_col is not None:
        import pandas as pd

        codes, cl_labels = pd.factorize(first.ex[cluster_col], sort=True)
        units = Units(n_examples, index=codes.astype(np.int64), labels=np.asarray(cl_labels))
        if vm is not None and vm.needs_clusters and cluster_col != vm.needs_clusters:
            occ = first.ex[vm.needs_clusters]
            ok = all(len(set(occ[codes == u])) == 1 for u in range(units.n_units)) and \
                len(set(occ)) == units.n_units
            if not ok:
                raise _err(f"The `cluster_col` parameter of {_FN} must identify the occupations for "
                           f"metric {metric_name!r} (one occupation per cluster). Got {cluster_col!r}.")
    else:
        units = Units(n_examples)
    n_units = units.n_units

    # seeds per side
    warn_list: list[str] = []
    seeds = {k: _sorted(p.seed_values, k) for k, p in parsed.items()}
    keep = {k: np.ones(len(p.seed_values), bool) for k, p in parsed.items()}
    if design == "paired":
        common = sorted(set(seeds["base"]) & set(seeds["expt"]))
        if not common:
            raise _err(f"The paired design of {_FN} needs seeds present on both sides. Got base seeds "
                       f"{seeds['base'][:10]} and expt seeds {seeds['expt'][:10]}, none in common.")
        for k in ("base", "expt"):
            only = [s for s in seeds[k] if s not in set(common)]
            if only:
                warn_list.append(f"{len(only)} seed(s) found on the {k} side only are omitted from the "
                                 f"paired analysis: {only[:10]}")
            seeds[k] = common
            cs = set(common)
            keep[k] = np.array([s in cs for s in parsed[k].seed_values])
    resampled = {k: sample_seeds and not (design == "fixed_baseline" and k == "base") for k in parsed}
    for k in parsed:
        if resampled[k] and len(seeds[k]) == 1:
            warn_list.append(f"The {k} side has a single seed: with sample_seeds=True the seed axis "
                             "contributes nothing, so the interval reflects examples only and says "
                             "nothing about other pretraining seeds.")
    n_res = [len(seeds[k]) for k in parsed if resampled[k] and len(seeds[k]) > 1]
    if n_res and min(n_res) < COVERAGE_MIN_SEEDS:
        warn_list.append(f"Only {min(n_res)} seeds are resampled; in simulation the 95% interval "
                         f"of a procedure mean undercovers below {COVERAGE_MIN_SEEDS} seeds (84% at "
                         "3 seeds, 91% at 5, 92% at 10; see docs/statistics.md), so read the "
                         "interval as optimistic where seed-to-seed variation matters.")

    # sides
    sides: dict[str, Side] = {}
    for k, p in parsed.items():
        idx = np.flatnonzero(keep[k])
        pos = {s: i for i, s in enumerate(seeds[k])}
        run_seed = np.array([pos[p.seed_values[i]] for i in idx], dtype=np.int64)
        run = {c_: v[idx] for c_, v in p.run.items()}
        if vm is not None:
            try:
                sides[k] = Side.build(k, seeds[k], run_seed, units, metric=vm, ex=p.ex, run=run)
            except ValueError as e:
                raise _err(f"Metric {metric_name!r} in {_FN} on the {k} side: {e}") from None
        else:
            sides[k] = Side.build(k, seeds[k], run_seed, units, fn=fn, y_true=p.ex["label"],
                                  preds=run["prediction"])

    sizes = units.sizes
    if design == "paired":
        seed_plan = [("shared", len(seeds["base"]))] if sample_seeds else []
        draw_key = {"base": "shared", "expt": "shared"}
    else:
        seed_plan = [(k, len(seeds[k])) for k in parsed if resampled[k]]
        draw_key = {k: k for k in parsed}
    Ms = {k: s.M for k, s in sides.items()}

    # point estimates on the full data
    full_rs = {k: s.full_run_scores() for k, s in sides.items()}
    full_seed_scores = {k: (full_rs[k] @ Ms[k])[0] for k in sides}
    estimate = {k: float(np.mean(v)) for k, v in full_seed_scores.items()}
    if expt is not None:
        estimate["delta"] = estimate["expt"] - estimate["base"]

    ncols = sum(s.n_cols for s in sides.values()) if vm is not None else 0
    if batch is None:
        batch = default_batch(n_units, ncols, nboot)
    dist = np.empty((nboot, len(sides)))
    cdt = counts_dtype(sides.values())
    stack: dict = {}
    bar = None
    if not quiet and (nboot > batch or (vm is None and sample_examples and nboot * sum(
            s.n_runs for s in sides.values()) > 20_000)):
        from tqdm.auto import tqdm

        bar = tqdm(total=nboot, desc="multiboot", file=sys.stderr)
    for start in range(0, nboot, batch):
        b = min(batch, nboot - start)
        sdraws, udraws = draw_replicates(rng, b, seed_plan, n_units, sample_examples)
        if sample_examples:
            counts = counts_from_draws(udraws, n_units, cdt) if vm is not None else None
            if counts is None:
                n = None
            elif units.index is None:
                n = np.full(b, float(n_examples))
            else:
                n = sizes[udraws].sum(axis=1)
            ex_draws = [units.expand(u) for u in udraws] if vm is None else None
        if sample_examples and vm is not None:
            all_rs = stacked_run_scores(list(sides.values()), counts, n, stack)
        elif sample_examples:
            all_rs = [s.run_scores(None, None, example_draws=ex_draws) for s in sides.values()]
        else:
            all_rs = [full_rs[k] for k in sides]
        for col, (k, side) in enumerate(sides.items()):
            rs = all_rs[col]
            ss = rs @ Ms[k]
            if resampled[k]:
                w = seed_weights(sdraws[draw_key[k]], side.n_seeds)
                dist[start:start + b, col] = (np.broadcast_to(ss, w.shape) * w).sum(axis=1)
            else:
                dist[start:start + b, col] = ss.mean(axis=1)
        if bar is not None:
            bar.update(b)
    if bar is not None:
        bar.close()

    quantities = {"base": dist[:, 0]}
    if expt is not None:
        quantities["expt"] = dist[:, 1]
        quantities["delta"] = dist[:, 1] - dist[:, 0]
    if np.isnan(dist).any():
        warn_list.append(f"{int(np.isnan(dist).any(axis=1).sum())} of {nboot} replicates are NaN "
                         f"(metric {metric_name!r} undefined on those draws); they are ignored in "
                         "intervals and p-values.")

    details = dict(sample_seeds=sample_seeds, sample_examples=sample_examples,
                   path="vectorised" if vm is not None else "general",
                   cluster_col=cluster_col, abs_threshold=abs_threshold,
                   rel_threshold=rel_threshold, expect_negative_effect=expect_negative_effect,
                   seeds={k: list(v) for k, v in seeds.items()}, seed_col=seed_cols,
                   resampled_seeds=resampled, batch=batch)

    def clean(x):
        return x[~np.isnan(x)]

    ci, pvalue, p_two = {}, None, None
    if method in ("percentile", "basic"):
        for q, x in quantities.items():
            ci[q] = percentile_ci(clean(x), c) if method == "percentile" else \
                basic_ci(clean(x), estimate[q], c)
    elif method == "bca":
        jack = _jackknife(sides, Ms, units, resampled, design, sample_seeds, sample_examples,
                          metric_name)
        details["acceleration"] = {}
        for q, x in quantities.items():
            a = acceleration(jack[q])
            details["acceleration"][q] = a
            ci[q] = bca_ci(clean(x), estimate[q], a, c)
    else:  # corrected
        comps = _corrected(sides, parsed, units, resampled, design, sample_seeds, sample_examples,
                           metric_name, estimate)
        details["variance_components"] = comps
        from scipy.special import stdtr, stdtrit

        for q in quantities:
            v, df = comps[q]["variance"], comps[q]["df"]
            half = stdtrit(df, 1 - (1 - c) / 2) * np.sqrt(v)
            ci[q] = (estimate[q] - half, estimate[q] + half)

    p_abs = p_rel = None
    if expt is not None:
        d = clean(quantities["delta"])
        le, ge = np.mean(d <= 0), np.mean(d >= 0)
        if method == "corrected":
            v, df = comps["delta"]["variance"], comps["delta"]["df"]
            z = estimate["delta"] / np.sqrt(v) if v > 0 else np.inf * np.sign(estimate["delta"])
            pvalue = float(stdtr(df, z) if expect_negative_effect else stdtr(df, -z))
            p_two = float(min(1.0, 2 * stdtr(df, -abs(z))))
        else:
            pvalue = float(ge if expect_negative_effect else le)
            pvalue = max(pvalue, 1.0 / len(d))
            p_two = float(max(min(1.0, 2 * min(le, ge)), 1.0 / len(d)))
        if abs_threshold is not None:
            p_abs = float(np.mean(d <= -abs_threshold) if expect_negative_effect
                          else np.mean(d >= abs_threshold))
        if rel_threshold is not None:
            bb = quantities["base"][~np.isnan(quantities["delta"])]
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = d / bb
            p_rel = float(np.mean(rel <= -rel_threshold) if expect_negative_effect
                          else np.mean(rel >= rel_threshold))

    for w in warn_list:
        warnings.warn(w, UserWarning, stacklevel=2)
    return MultiBootstrapResult(
        design=design, metric=metric_name, nboot=nboot, confidence_level=c, method=method,
        estimate=estimate, distribution=dist,
        delta_distribution=quantities.get("delta"), ci=ci, pvalue=pvalue, pvalue_two_sided=p_two,
        p_abs_threshold=p_abs, p_rel_threshold=p_rel,
        n_seeds={k: len(seeds[k]) for k in parsed}, n_examples=n_examples,
        n_runs={k: s.n_runs for k, s in sides.items()}, warnings=warn_list,
        bootstrap_mean={q: float(np.nanmean(x)) for q, x in quantities.items()},
        bootstrap_std={q: float(np.nanstd(x, ddof=1)) if nboot > 1 else 0.0
                       for q, x in quantities.items()},
        n_units=n_units, details=details)


# ----------------------------------------------------------------------------------------------
# BCa jackknife


def _jackknife(sides, Ms, units, resampled, design, sample_seeds, sample_examples, metric_name):
    seeds_active = sample_seeds and any(resampled[k] and s.n_seeds > 1 for k, s in sides.items())
    examples_active = sample_examples and units.n_units > 1
    if seeds_active and examples_active:
        raise _err(f"The `method='bca'` of {_FN} needs a single resampled axis: its jackknife "
                   "acceleration is not defined when seeds and examples are resampled jointly. "
                   "Use method='percentile', 'basic' or 'corrected', or switch an axis off "
                   "(sample_seeds=False or sample_examples=False).")
    if not seeds_active and not examples_active:
        raise _err(f"The `method='bca'` of {_FN} needs a resampled axis. Got sample_seeds="
                   f"{sample_seeds}, sample_examples={sample_examples}.")
    jack = {}
    if examples_active:
        for k, side in sides.items():
            jack[k] = _jackknife_units(side, Ms[k], units)
    else:
        if design == "unpaired":
            raise _err(f"The `method='bca'` of {_FN} with only seeds resampled is not offered for the "
                       "unpaired design (two independent seed samples have no single jackknife). "
                       "Use method='percentile' or 'basic'.")
        for k, side in sides.items():
            ss = (side.full_run_scores() @ Ms[k])[0]
            if resampled[k]:
                tot = ss.sum()
                jack[k] = (tot - ss) / (len(ss) - 1)
            else:
                jack[k] = np.full(len(ss), ss.mean())
        n = max(len(v) for v in jack.values())
        jack = {k: np.broadcast_to(v, (n,)) if len(v) == 1 else v for k, v in jack.items()}
    if "expt" in jack:
        jack["delta"] = jack["expt"] - jack["base"]
    return jack


def _jackknife_units(side: Side, M, units: Units) -> np.ndarray:
    n_units = units.n_units
    if side.metric is not None:
        full = side.X.sum(axis=0)
        n_full = units.sizes.sum()
        out = np.empty(n_units)
        step = max(1, 4_000_000 // max(1, side.X.shape[1]))
        for a in range(0, n_units, step):
            T = full[None, :] - side.X[a:a + step]
            n = n_full - units.sizes[a:a + step]
            rs = side.metric.finish(T.reshape(T.shape[0], side.n_runs, side.k), n)
            out[a:a + step] = (rs @ M).mean(axis=1)
        return out
    out = np.empty(n_units)
    allu = np.arange(n_units)
    for u in range(n_units):
        jj = units.expand(np.delete(allu, u))
        rs = side.run_scores(None, None, example_draws=[jj])
        out[u] = (rs @ M).mean(axis=1)[0]
    return out


# ----------------------------------------------------------------------------------------------
# corrected interval from variance components


def _anova(Z: np.ndarray) -> dict:
    """Crossed seed x unit decomposition of a (S, J) matrix of linearised scores."""
    S, J = Z.shape
    m = Z.mean()
    a = Z.mean(axis=1) - m
    b = Z.mean(axis=0) - m
    g = Z - m - a[:, None] - b[None, :]
    seed = float(np.sum(a * a) / (S * (S - 1))) if S > 1 else 0.0
    col = float(np.sum(b * b) / (J * (J - 1))) if J > 1 else 0.0
    inter = float(np.sum(g * g) / (S * J * (S - 1) * (J - 1))) if S > 1 and J > 1 else 0.0
    return {"seed": seed, "example": col, "interaction": inter, "col_effects": b, "S": S, "J": J}


def _combine(seed_parts: list[tuple[float, int]], col: float, J: int, inter: float,
             inter_df: float | None = None) -> dict:
    """Variance = seed parts + unit part - residual part; Satterthwaite degrees of freedom.

    ``seed_parts`` are (component, df) pairs; the residual is what joint resampling counts
    twice. If the difference is not positive (possible in small samples), the largest positive
    component is used instead and ``clamped`` is set.
    """
    seed = sum(v for v, _ in seed_parts)
    raw = seed + col - inter
    terms = [(v, df) for v, df in seed_parts if df > 0] + [(col, J - 1)]
    if inter > 0:
        S_eff = min([df for _, df in seed_parts], default=1) + 1
        terms.append((inter, inter_df or max(1, (S_eff - 1) * (J - 1))))
    clamped = raw <= 0
    var = max([v for v, _ in terms if v > 0], default=0.0) if clamped else raw
    den = sum(v * v / df for v, df in terms if df > 0)
    df = var * var / den if den > 0 else float(J - 1)
    return {"variance": float(var), "df": float(max(df, 1.0)), "seed": float(seed),
            "example": float(col), "interaction_removed": float(inter), "clamped": bool(clamped)}


def _corrected(sides, parsed, units, resampled, design, sample_seeds, sample_examples,
               metric_name, estimate):
    if metric_name not in _LINEAR:
        raise _err(f"The `method='corrected'` of {_FN} is offered for means of per-example scores "
                   f"({sorted(_LINEAR)}). Got metric {metric_name!r}; use 'percentile' or 'basic'.")
    if not (sample_seeds and sample_examples):
        raise _err(f"The `method='corrected'` of {_FN} corrects joint resampling of seeds and "
                   "examples; with an axis switched off nothing is counted twice, so use "
                   "'percentile' (or 'basic' / 'bca').")
    J = units.n_units
    N = units.sizes.sum()
    Z = {}
    for k, side in sides.items():
        Y = (side.X @ side.M).T  # (S, J): per-unit sums averaged over each seed's runs
        theta = Y.sum() / (side.n_seeds * N)
        # linearised ratio (clusters of unequal size); for examples this is Y - mean
        Z[k] = (Y - theta * units.sizes[None, :]) * (J / N)
    return variance_components(Z, resampled, design)


def variance_components(Z: dict, resampled: dict, design: str) -> dict:
    """Variance of the point estimates from a crossed seed x unit decomposition.

    ``Z[side]`` is a (n_seeds, n_units) matrix of (linearised) per-unit scores averaged over the
    runs of each seed. For a side whose seeds are resampled, the unbiased variance of the mean
    under the crossed random-effects model is ``(MS_seed + MS_unit - MS_residual) / (S J)``,
    i.e. the seed and unit components minus the residual (per-run noise and interaction) that
    joint resampling of seeds and units counts again in both main effects. A fixed-baseline side
    contributes only its unit component. Returns, per quantity, the variance, Satterthwaite
    degrees of freedom and the components.
    """
    J = next(iter(Z.values())).shape[1]
    an = {k: _anova(z) for k, z in Z.items()}
    out = {}
    for k in Z:
        if resampled[k]:
            out[k] = _combine([(an[k]["seed"], an[k]["S"] - 1)], an[k]["example"], J,
                              an[k]["interaction"])
        else:
            zb = Z[k].mean(axis=0, keepdims=True)
            out[k] = _combine([], _anova(zb)["example"], J, 0.0)
    if "expt" in Z:
        if design == "paired":
            d = _anova(Z["expt"] - Z["base"])
            out["delta"] = _combine([(d["seed"], d["S"] - 1)], d["example"], J, d["interaction"])
        else:
            parts, inter, cols = [], 0.0, {}
            for k in ("base", "expt"):
                if resampled[k]:
                    parts.append((an[k]["seed"], an[k]["S"] - 1))
                    inter += an[k]["interaction"]
                    cols[k] = an[k]["col_effects"]
                else:
                    zb = Z[k].mean(axis=0)
                    cols[k] = zb - zb.mean()
            db = cols["expt"] - cols["base"]
            col = float(np.sum(db * db) / (J * (J - 1)))
            out["delta"] = _combine(parts, col, J, inter)
    return out
