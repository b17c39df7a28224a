"""Metrics: one registry, one object per metric.

Each :class:`Metric` holds everything the package needs to know about one metric: its point
function (:mod:`multiberts_stats.metrics.point`), its vectorised sufficient-statistics form
where it has one (:mod:`multiberts_stats.metrics.vectorised`, the bootstrap's matrix-product
path), the tidy-table columns it reads, and when it is undefined. :data:`METRICS` is the only
registry: the task registry names its metrics from it, the bootstrap looks them up in it.

Callables are mapped to a registry entry explicitly, by identity, never by ``__name__``: the
package's own point functions (``metrics.accuracy`` -> ``accuracy``) and scikit-learn's
``accuracy_score``, ``f1_score`` (binary data) and ``matthews_corrcoef`` (an explicit table keyed
on the function objects, built only once scikit-learn is imported by the caller). Any other
callable ``(y_true, y_pred) -> float`` is used as it is (the bootstrap's general path).

Every point function takes 1-D arrays of shape ``(n_examples,)`` and returns a ``float``.
numpy only: importing this package is cheap.

Examples
--------
>>> from multiberts_stats.metrics import METRICS, get_metric, metric_for_callable
>>> get_metric("binary_f1").name  # the documented alias of the canonical name
'f1'
>>> "binary_f1" in METRICS, METRICS["mcc"].vectorised is not None, METRICS["spearman"].decomposable
(True, True, False)
>>> from multiberts_stats import metrics
>>> metric_for_callable(metrics.matthews_corrcoef).metric.name
'mcc'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from . import vectorised as _vec
from .point import (accuracy, binary_f1, error, gender_code, macro_f1, matthews_corrcoef, mean,
                    pearson, positive_label, spearman, winogender_bias, winogender_bias_r,
                    winogender_bias_slope)
from .vectorised import VecMetric, sum_by_unit

__all__ = [
    "METRICS", "VEC_METRICS", "Metric", "MetricSpec", "MetricError", "accuracy", "binary_f1",
    "compute_metric", "error", "gender_code", "get_metric", "macro_f1", "matthews_corrcoef",
    "mean", "metric_for_callable", "pearson", "positive_label", "spearman", "sum_by_unit", "vec_name_for_callable",
    "VecMetric",
    "winogender_bias", "winogender_bias_r", "winogender_bias_slope",
]


class MetricError(InputError):
    """An unknown metric name or a metric that cannot read the data (a ``ValueError``)."""


@dataclass(frozen=True)
class Metric:
    """One metric.

    Attributes
    ----------
    name : str
        The canonical name (``result.metric``, task metric lists).
    fn : callable
        The point definition; its arguments are the columns in ``columns``, in that order.
    columns : tuple of str
        The tidy-table columns the metric reads.
    vectorised : VecMetric or None
        The sufficient-statistics form (sums over examples), or None: the bootstrap then takes
        its general path, calling ``fn`` on every replicate.
    higher_is_better : bool
    description : str
    undefined : str
        When the metric is undefined and what it returns then.
    aliases : tuple of str
        Other names that resolve to this metric.
    binary : bool
        A binary metric: it needs to know the positive class (``pos_label``, see
        :func:`positive_label`).
    """

    name: str
    fn: Callable[..., float]
    columns: tuple[str, ...]
    vectorised: VecMetric | None = None
    higher_is_better: bool = True
    description: str = ""
    undefined: str = "never (any non-empty data)"
    aliases: tuple[str, ...] = ()
    binary: bool = False

    @property
    def decomposable(self) -> bool:
        """Whether the bootstrap takes the matrix-product path for this metric."""
        return self.vectorised is not None

    @property
    def run_columns(self) -> tuple[str, ...]:
        """Columns that vary per run (read as matrices)."""
        return self.vectorised.run_cols if self.vectorised is not None else ("prediction",)

    @property
    def example_columns(self) -> tuple[str, ...]:
        """Per-example columns shared by every run of a side."""
        return self.vectorised.ex_cols if self.vectorised is not None else ("label",)

    def with_pos_label(self, pos_label) -> VecMetric | None:
        """The vectorised form for positive class ``pos_label`` (binary metrics)."""
        if not self.binary:
            return self.vectorised
        return type(self.vectorised)(pos_label)


#: Kept for existing code: the registry's entries were called ``MetricSpec``.
MetricSpec = Metric


class _Registry(Mapping):
    """name -> Metric; aliases resolve, iteration lists canonical names only."""

    def __init__(self, metrics):
        self._by_name = {m.name: m for m in metrics}
        self._alias = {a: m.name for m in metrics for a in m.aliases}

    def __getitem__(self, key):
        return self._by_name[self._alias.get(key, key)]

    def __contains__(self, key):
        return isinstance(key, str) and (key in self._by_name or key in self._alias)

    def __iter__(self):
        return iter(self._by_name)

    def __len__(self):
        return len(self._by_name)

    def __repr__(self):
        return f"<metrics registry: {', '.join(self._by_name)}>"


_LC = ("label", "prediction")
_WINO = ("prediction", "gender", "occupation", "bls_pct_female")

#: The registry: canonical name -> :class:`Metric` (aliases such as ``binary_f1`` resolve too).
METRICS = _Registry([
    Metric("accuracy", accuracy, _LC, _vec.Accuracy(), description="share correct"),
    Metric("error", error, _LC, _vec.Error(), higher_is_better=False,
           description="1 - accuracy"),
    Metric("mean", mean, ("score",), _vec.Mean("mean", "score"),
           description="mean of the per-example `score` column"),
    Metric("exact_match", mean, ("exact_match",), _vec.Mean("exact_match", "exact_match"),
           description="SQuAD exact match: mean of the per-question `exact_match` column"),
    Metric("squad_f1", mean, ("f1",), _vec.Mean("squad_f1", "f1"),
           description="SQuAD F1: mean of the per-question `f1` column"),
    Metric("f1", binary_f1, _LC, _vec.BinaryF1(), aliases=("binary_f1",), binary=True,
           description="F1 of the positive class (class 1)",
           undefined="no positive label and no positive prediction: 0.0 by convention"),
    Metric("macro_f1", macro_f1, _LC, _vec.MacroF1(), description="macro-averaged F1",
           undefined="a class with no label and no prediction counts as absent"),
    Metric("mcc", matthews_corrcoef, _LC, _vec.MCC(), aliases=("matthews_corrcoef",),
           description="Matthews correlation",
           undefined="constant labels or predictions: 0.0 by convention (as scikit-learn)"),
    Metric("pearson", pearson, _LC, _vec.Pearson(), description="Pearson r",
           undefined="constant labels or predictions: NaN"),
    Metric("spearman", spearman, _LC, None,
           description="Spearman rank correlation (general bootstrap path)",
           undefined="constant labels or predictions: NaN"),
    Metric("winogender_bias_r", winogender_bias_r, _WINO, _vec.WinogenderBias("r"),
           description="Pearson r of per-occupation gender bias vs % women (BLS)",
           undefined="every occupation with the same bias (e.g. a model that always picks the "
                     "same participant): NaN"),
    Metric("winogender_bias_slope", winogender_bias_slope, _WINO, _vec.WinogenderBias("slope"),
           description="slope of per-occupation gender bias on % women (BLS)",
           undefined="every occupation with the same % women: NaN"),
])

#: Derived view, name -> vectorised form, for the metrics that have one (not a second registry).
VEC_METRICS = {n: m.vectorised for n, m in METRICS.items() if m.vectorised is not None}


def get_metric(name: str) -> Metric:
    """Look a metric up by name (or alias); an unknown name is an error listing the known ones.

    Examples
    --------
    >>> get_metric("accuracy").columns
    ('label', 'prediction')
    """
    if not isinstance(name, str) or name not in METRICS:
        raise MetricError(f"The `metric` parameter must be one of {sorted(METRICS)}. "
                          f"Got {name!r} instead.")
    return METRICS[name]


# callable -> registry entry, by identity
_OURS = {id(m.fn): m.name for m in METRICS.values() if m.columns == _LC}
_SKLEARN: dict | None = None
_SKLEARN_NAMES = {"accuracy_score": "accuracy", "f1_score": "f1", "matthews_corrcoef": "mcc"}


@dataclass(frozen=True)
class CallableMatch:
    """How a callable maps to the registry: the metric, and whether only on binary {0, 1} data
    (scikit-learn's ``f1_score`` raises on anything else, so other data keeps the callable)."""

    metric: Metric
    binary_only: bool = False
    source: str = field(default="multiberts_stats")


def _sklearn_table() -> dict:
    global _SKLEARN
    if _SKLEARN is None:
        from sklearn import metrics as skm

        _SKLEARN = {id(getattr(skm, fname)): (getattr(skm, fname), name)
                    for fname, name in _SKLEARN_NAMES.items()}
    return _SKLEARN


def metric_for_callable(fn) -> CallableMatch | None:
    """The registry entry equal to ``fn(y_true, y_pred)``, or None (then ``fn`` is used as it is).

    Our point functions map by identity; scikit-learn's ``accuracy_score``, ``f1_score`` and
    ``matthews_corrcoef`` through an explicit table keyed on the function objects (scikit-learn
    is imported here only when it is already imported by the caller).
    """
    name = _OURS.get(id(fn))
    if name is not None and METRICS[name].fn is fn:
        return CallableMatch(METRICS[name])
    if "sklearn" in sys.modules and (getattr(fn, "__module__", "") or "").startswith("sklearn"):
        hit = _sklearn_table().get(id(fn))
        if hit is not None and hit[0] is fn:
            return CallableMatch(METRICS[hit[1]], binary_only=hit[1] == "f1", source="sklearn")
    return None


def vec_name_for_callable(fn) -> str | None:
    """Name of the vectorised metric equal to ``fn``, or None (see :func:`metric_for_callable`)."""
    m = metric_for_callable(fn)
    return None if m is None or m.metric.vectorised is None else m.metric.name


def compute_metric(name: str, table, *, pos_label=None) -> float:
    """Compute metric ``name`` on one run's rows of a tidy table (a DataFrame or a mapping).

    Reads the columns listed in ``METRICS[name].columns``; ``pos_label`` is the positive class
    of a binary metric (see :func:`positive_label`).

    Examples
    --------
    >>> compute_metric("accuracy", {"label": [0, 1, 1], "prediction": [0, 1, 0]})
    0.6666666666666666
    """
    spec = get_metric(name)
    missing = [c for c in spec.columns if c not in table]
    if missing:
        raise MetricError(f"The metric {name!r} needs the column(s) {missing}; "
                          f"the table has {list(table.keys())}.")
    args = [np.asarray(table[c]) for c in spec.columns]
    if spec.binary:
        return spec.fn(*args, pos_label=pos_label)
    if pos_label is not None:
        raise MetricError(f"The `pos_label` parameter of compute_metric applies to binary metrics. "
                          f"Got metric {name!r}.")
    return spec.fn(*args)
