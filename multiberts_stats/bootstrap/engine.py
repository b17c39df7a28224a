"""The vectorised Multi-Bootstrap engine.

A *side* is one procedure: runs grouped by pretraining seed, every run scored on the same
examples. A replicate draws seeds (per side, or one draw shared by a paired design) and units
(examples or clusters, one draw shared by both sides), scores every run on the drawn units,
averages runs inside a seed and then the drawn seeds (a seed drawn twice counts twice).

Decomposable metrics: ``counts (batch, n_units) @ X (n_units, n_runs * k)`` gives every run's
sufficient statistics for a whole batch of replicates in one matrix product. Other metrics take
the general path, which calls the metric on the drawn examples of every run of every replicate
with identical draws and identical averaging.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .checks import draw_indices
from ..metrics.vectorised import VecMetric

__all__ = ["Side", "Units", "counts_from_draws", "default_batch", "emit_warnings", "resample",
           "stacked_run_scores"]


@dataclass
class Units:
    """Resampling units: examples (``index is None``) or clusters of examples."""

    n_examples: int
    index: np.ndarray | None = None  # (n_examples,) unit of each example, or None
    labels: np.ndarray | None = None  # (n_units,) cluster labels
    _members: list | None = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return self.n_examples if self.index is None else int(self.index.max()) + 1

    @property
    def sizes(self) -> np.ndarray:
        if self.index is None:
            return np.ones(self.n_examples)
        return np.bincount(self.index, minlength=self.n_units).astype(float)

    def members(self) -> list:
        if self._members is None:
            order = np.argsort(self.index, kind="stable")
            bounds = np.r_[0, np.cumsum(np.bincount(self.index, minlength=self.n_units))]
            self._members = [order[bounds[u]:bounds[u + 1]] for u in range(self.n_units)]
        return self._members

    def expand(self, unit_draw: np.ndarray) -> np.ndarray:
        """Example indices of a unit draw (every example of a drawn cluster, with multiplicity)."""
        if self.index is None:
            return unit_draw
        m = self.members()
        return np.concatenate([m[u] for u in unit_draw])


@dataclass
class Side:
    """One procedure's runs in a form the engine multiplies.

    ``seeds`` are the seed labels (sorted); ``run_seed[i]`` is the position in ``seeds`` of run i.
    Decomposable metrics keep per-unit statistics ``X`` (n_units, n_runs * k); the general path
    keeps ``fn``, ``y_true`` and ``preds``.
    """

    name: str
    seeds: list
    run_seed: np.ndarray
    metric: VecMetric | None = None
    k: int = 0
    fn: Callable | None = None
    y_true: np.ndarray | None = None
    preds: np.ndarray | None = None
    run_labels: list | None = None
    n_full: float = 0.0
    X32: np.ndarray | None = None  # float32 copy when it sums exactly (integer statistics)
    _X: np.ndarray | None = field(default=None, repr=False)

    @property
    def X(self) -> np.ndarray | None:
        """(n_units, n_runs * k) float64 statistics (made from the float32 copy on demand)."""
        if self._X is None and self.X32 is not None:
            self._X = self.X32.astype(float)
        return self._X

    @property
    def n_runs(self) -> int:
        return len(self.run_seed)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def n_cols(self) -> int:
        return self.n_runs * self.k

    @property
    def seed_rows(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.run_seed == s) for s in range(self.n_seeds)]

    @property
    def M(self) -> np.ndarray:
        """(n_runs, n_seeds) matrix averaging the runs of each seed."""
        M = np.zeros((self.n_runs, self.n_seeds))
        M[np.arange(self.n_runs), self.run_seed] = 1.0
        return M / M.sum(axis=0, keepdims=True)

    def seed_means(self, rs: np.ndarray) -> np.ndarray:
        """``(b, n_runs)`` run scores -> ``(b, n_seeds)`` means of each seed's runs.

        NaN-safe: a NaN run makes its own seed NaN and nothing else (``rs @ M`` would spread
        it to every seed through ``NaN * 0``).
        """
        M = self.M
        bad = np.isnan(rs)
        if not bad.any():
            return rs @ M
        out = np.where(bad, 0.0, rs) @ M
        out[(bad.astype(float) @ (M > 0)) > 0] = np.nan
        return out

    @classmethod
    def build(cls, name, seeds, run_seed, units: Units, *, metric: VecMetric | None = None,
              ex: dict | None = None, run: dict | None = None, fn: Callable | None = None,
              y_true=None, preds=None, run_labels=None) -> "Side":
        run_seed = np.asarray(run_seed, dtype=np.int64)
        if metric is None:
            return cls(name, list(seeds), run_seed, fn=fn, y_true=np.asarray(y_true),
                       preds=np.asarray(preds), run_labels=run_labels)
        S = metric.unit_stats(ex, run, units.index, units.n_units)  # (n_units, n_runs, k)
        k = S.shape[-1]
        S = S.reshape(S.shape[0], -1)
        side = cls(name, list(seeds), run_seed, metric=metric, k=k, run_labels=run_labels,
                   n_full=float(units.sizes.sum()))
        # Integer statistics whose replicate sums stay below 2**24 are summed exactly in float32
        # (every partial sum is an integer that float32 represents exactly): the same numbers at
        # half the memory traffic of float64.
        if S.dtype == bool or S.dtype.kind in "iu":
            exact = S.size == 0 or (S.min() >= 0 and float(S.max()) * units.n_units < 2 ** 24)
        else:
            exact = bool(S.size) and np.all(S >= 0) and np.all(S == np.round(S)) and \
                float(S.max()) * units.n_units < 2 ** 24
        if exact:
            side.X32 = np.ascontiguousarray(S, dtype=np.float32)
        else:
            side._X = np.ascontiguousarray(S, dtype=float)
        return side

    def full_run_scores(self) -> np.ndarray:
        """Every run's metric on the full data: (1, n_runs)."""
        if self.metric is not None:
            T = (self.X32 if self.X32 is not None else self.X).sum(axis=0, dtype=float)[None, :]
            return self.metric.finish(T.reshape(1, self.n_runs, self.k), np.array([self.n_full]))
        return np.array([[float(self.fn(self.y_true, self.preds[i])) for i in range(self.n_runs)]])

    def finish(self, T: np.ndarray, n: np.ndarray) -> np.ndarray:
        """(batch, n_runs * k) sums -> (batch, n_runs) metric values."""
        return self.metric.finish(T.reshape(T.shape[0], self.n_runs, self.k), n)

    def run_scores(self, counts: np.ndarray | None, n: np.ndarray | None,
                   example_draws: list | None = None) -> np.ndarray:
        """Every run's metric on every replicate of a batch: ``(batch, n_runs)``.

        ``counts`` (batch, n_units) resampling counts (None: the full data, one row);
        ``example_draws`` (general path) the drawn example indices of each replicate.
        """
        if self.metric is not None:
            if counts is None:
                return self.full_run_scores()
            if self.X32 is not None and counts.dtype == np.float32:
                T = matmul(counts, self.X32).astype(float)
            else:
                T = matmul(counts.astype(float, copy=False), self.X)
            return self.finish(T, n)
        if example_draws is None:
            return self.full_run_scores()
        out = np.empty((len(example_draws), self.n_runs))
        for b, jj in enumerate(example_draws):
            yt = self.y_true[jj]
            for i in range(self.n_runs):
                out[b, i] = self.fn(yt, self.preds[i, jj])
        return out


_CTL = None


def matmul(counts: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``counts @ X``; short products (< 512 replicates) run on one BLAS thread.

    Multi-threaded OpenBLAS is pathologically slow on short, wide products when the cores are
    busy (measured: 0.7 s instead of 0.02 s for 50 x 10,000 @ 10,000 x 250 on a loaded 2-core
    machine); one thread is never much slower for these shapes.
    """
    if counts.shape[0] >= 512:
        return counts @ X
    global _CTL
    ctx = contextlib.nullcontext()
    try:
        if _CTL is None:
            from threadpoolctl import ThreadpoolController

            _CTL = ThreadpoolController()
        ctx = _CTL.limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or unusable: plain product
        pass
    with ctx:
        return counts @ X


def stacked_run_scores(sides, counts: np.ndarray, n: np.ndarray, stack: dict) -> list:
    """Run scores of several vectorised sides from ONE matrix product per batch.

    ``stack`` caches the concatenated statistics between batches.
    """
    if "X" not in stack:
        use32 = counts.dtype == np.float32 and all(s.X32 is not None for s in sides)
        stack["X"] = np.ascontiguousarray(np.concatenate(
            [s.X32 if use32 else s.X for s in sides], axis=1))
        stack["bounds"] = np.cumsum([0] + [s.n_cols for s in sides])
    X = stack["X"]
    T = matmul(counts.astype(X.dtype, copy=False), X)
    if T.dtype != np.float64:
        T = T.astype(float)
    b = stack["bounds"]
    return [s.finish(T[:, b[i]:b[i + 1]], n) for i, s in enumerate(sides)]


def counts_from_draws(draws: np.ndarray, n_units: int, dtype=float, chunk: int = 128) -> np.ndarray:
    """(batch, m) unit indices -> (batch, n_units) counts (exact integers in ``dtype``).

    Counted ``chunk`` replicates at a time so the intermediate stays in cache.
    """
    b = draws.shape[0]
    out = np.empty((b, n_units), dtype=dtype)
    offsets = (np.arange(min(chunk, b), dtype=np.int64) * n_units)[:, None]
    for a in range(0, b, chunk):
        d = draws[a:a + chunk]
        flat = (d + offsets[: len(d)]).ravel()
        out[a:a + len(d)] = np.bincount(flat, minlength=len(d) * n_units).reshape(len(d), n_units)
    return out


def counts_dtype(sides) -> type:
    """float32 when every side sums exactly in float32, else float64."""
    return np.float32 if all(getattr(s, "X32", None) is not None for s in sides) else np.float64


def default_batch(n_units: int, n_cols: int, nboot: int, budget: int = 256_000_000) -> int:
    """Replicates per batch: draws, counts and products stay within ``budget`` bytes.

    Large batches keep the matrix product efficient (BLAS is slow on short, wide products);
    the budget bounds memory (about 0.3 GB of working arrays at any size).
    """
    per_rep = 12 * n_units + 8 * (2 * n_cols + 1)
    return int(max(1, min(nboot, budget // per_rep, 2000)))


def seed_weights(draws: np.ndarray, n_seeds: int) -> np.ndarray:
    """(batch, n_seeds) seed draws -> (batch, n_seeds) multiplicities / n_seeds."""
    return counts_from_draws(draws, n_seeds) / draws.shape[1]


def draw_replicates(rng, nrep: int, seed_plan: list[tuple[str, int]], n_units: int,
                    sample_examples: bool):
    """Draw ``nrep`` replicates in the reference order.

    For each replicate: one seed draw per entry of ``seed_plan`` (``(key, n_seeds)``, in order),
    then, if ``sample_examples``, one unit draw. Returns ``({key: (nrep, n_seeds)}, (nrep, n_units)
    or None)``.
    """
    seed_out = {key: np.empty((nrep, n), dtype=np.int64) for key, n in seed_plan}
    unit_out = np.empty((nrep, n_units), dtype=np.int64) if sample_examples else None
    for r in range(nrep):
        for key, n in seed_plan:
            seed_out[key][r] = draw_indices(rng, n, n)
        if sample_examples:
            unit_out[r] = draw_indices(rng, n_units, n_units)
    return seed_out, unit_out


def resample(sides: dict, seed_plan: list, draw_key: dict, resampled: dict, units: Units,
             sample_examples: bool, rng, nboot: int, batch: int, quiet: bool = True) -> np.ndarray:
    """The Multi-Bootstrap replicates of every side: ``(nboot, n_sides)``.

    Per batch of replicates: draw seeds (``seed_plan``) and units, score every run of every
    side on the drawn units (one matrix product for the vectorised sides, the metric called on
    the drawn examples otherwise), average runs inside each seed (:meth:`Side.seed_means`), then weight the
    seeds by how often they were drawn (``draw_key[side]`` names the side's seed draw; a side
    whose seeds are not ``resampled`` averages its seeds).
    """
    names = list(sides)
    vec = all(s.metric is not None for s in sides.values())
    full_rs = None if sample_examples else {k: s.full_run_scores() for k, s in sides.items()}
    dist = np.empty((nboot, len(names)))
    cdt = counts_dtype(sides.values())
    n_units = units.n_units
    stack: dict = {}
    bar = None
    if not quiet and (nboot > batch or (not vec and sample_examples and nboot * sum(
            s.n_runs for s in sides.values()) > 20_000)):
        import sys

        from multiberts_stats._progress import tqdm

        bar = tqdm(total=nboot, desc="multiboot", file=sys.stderr,
                   disable=not getattr(sys.stderr, "isatty", lambda: False)())
    sizes = units.sizes
    for start in range(0, nboot, batch):
        b = min(batch, nboot - start)
        sdraws, udraws = draw_replicates(rng, b, seed_plan, n_units, sample_examples)
        if sample_examples and vec:
            counts = counts_from_draws(udraws, n_units, cdt)
            n = np.full(b, float(units.n_examples)) if units.index is None else \
                sizes[udraws].sum(axis=1)
            all_rs = stacked_run_scores([sides[k] for k in names], counts, n, stack)
        elif sample_examples:
            ex_draws = [units.expand(u) for u in udraws]
            all_rs = [sides[k].run_scores(None, None, example_draws=ex_draws) for k in names]
        else:
            all_rs = [full_rs[k] for k in names]
        for col, k in enumerate(names):
            ss = sides[k].seed_means(all_rs[col])
            if resampled[k]:
                w = seed_weights(sdraws[draw_key[k]], sides[k].n_seeds)
                ss = np.broadcast_to(ss, w.shape)
                # an undrawn seed (weight 0) never touches the replicate, even when its score
                # is NaN on these examples
                dist[start:start + b, col] = np.where(w > 0, ss * w, 0.0).sum(axis=1)
            else:
                dist[start:start + b, col] = ss.mean(axis=1)
        if bar is not None:
            bar.update(b)
    if bar is not None:
        bar.close()
    return dist


def emit_warnings(notes, stacklevel: int = 2) -> None:
    """Issue ``(category, message)`` notes as warnings, each distinct one once."""
    import warnings

    seen = set()
    for cat, msg in notes:
        if (cat, msg) in seen:
            continue
        seen.add((cat, msg))
        warnings.warn(msg, cat, stacklevel=stacklevel + 1)
