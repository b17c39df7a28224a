"""Simulated experiments for :mod:`multiberts_stats.planning`, analysed as the Multi-Bootstrap does.

Every experiment of one design is simulated at once (run-averaged per-seed score matrices,
shape (K, S, J), all a mean-type metric needs) and analysed exactly as
:func:`multiberts_stats.bootstrap.multiboot` analyses one experiment:

* ``percentile``: per replicate, one seed draw (shared by both sides of a paired design, one per
  side for an unpaired one, none for a fixed baseline) and one example draw; the replicate is
  the count-weighted mean. The examples' counts (B, J) multiply the stacked matrices of a
  chunk of experiments in ONE matrix product. p-values as the engine: one-sided
  (1 + k) / (B + 1), k the replicates on the wrong side of 0; two-sided
  min(1, 2 (1 + min(k_le, k_ge)) / (B + 1)).
  The example counts are shared by the experiments of a chunk (seed draws are not): each
  experiment still gets a correct bootstrap, and since examples are exchangeable and drawn
  afresh in every experiment, sharing the counts does not correlate the experiments' outcomes
  beyond the multiset of counts (the validation against independent ``multiboot`` calls in
  docs/statistics.md measures it).
* ``corrected``: the crossed ANOVA variance and Satterthwaite t of the engine's
  ``method="corrected"``, vectorised over experiments.

``tests/test_planning.py`` checks both against ``multiboot`` on the same data and draws.
"""

from __future__ import annotations

import numpy as np

__all__ = ["analyse", "counts", "draw_normals", "means_from_normals", "simulate_means"]


def counts(rng, n_rep: int, n: int, dtype=np.float32) -> np.ndarray:
    """(n_rep, n) multinomial resampling counts of ``n`` items, drawn as indices."""
    d = rng.integers(0, n, (n_rep, n))
    flat = (d + (np.arange(n_rep, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_rep * n).reshape(n_rep, n).astype(dtype)


def _counts_3d(rng, k: int, n_rep: int, n: int) -> np.ndarray:
    d = rng.integers(0, n, (k * n_rep, n))
    flat = (d + (np.arange(k * n_rep, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=k * n_rep * n).reshape(k, n_rep, n)


def draw_normals(rng, K: int, S: int, J: int, design: str) -> dict:
    """Standard normals for K experiments of up to S seeds and J examples.

    Designs with fewer seeds or examples use the leading rows / columns (seeds and examples
    are exchangeable), so every design of a plan sees common random numbers: each design's
    power estimate is unbiased, and differences between designs are estimated more precisely.
    """
    sides = {"single": 1, "paired": 1, "unpaired": 2, "fixed_baseline": 2}[design]
    out = {}
    for i in range(sides):
        s_i = 1 if (design == "fixed_baseline" and i == 0) else S
        out[i] = (rng.standard_normal((K, s_i, J), dtype=np.float32),
                  rng.standard_normal((K, s_i, 1), dtype=np.float32),
                  rng.standard_normal((K, 1, J), dtype=np.float32))
    return out


def _f(v):
    return np.float32(np.sqrt(max(v, 0.0)))


def means_from_normals(Z: dict, comp, S: int, R: int, J: int, delta: float) -> list:
    """Run-averaged per-seed matrices (K, S_k, J) per side of the Gaussian crossed model of
    ``comp`` from the normals of :func:`draw_normals`.

    single / paired: one array (the score, or the paired difference with mean ``delta``);
    unpaired: [base, expt], the summed seed, seed x example, run and residual components
    split equally between the sides and the example component of the difference put in expt;
    fixed baseline: [base (K, 1, J), expt].
    """
    sa = comp.seed + comp.run / R
    se = comp.seed_example + comp.residual / R

    def side(i, f_res, f_seed, f_ex, shift):
        e, a, b = Z[i]
        s_i = a.shape[1] if a.shape[1] == 1 else S
        X = e[:, :s_i, :J] * f_res
        X += a[:, :s_i] * f_seed
        if f_ex:
            X += b[:, :, :J] * f_ex
        if shift:
            X += np.float32(shift)
        return X

    if comp.design in ("single", "paired"):
        m = delta if comp.design == "paired" else (0.0 if np.isnan(comp.base_mean)
                                                   else comp.base_mean)
        return [side(0, _f(se), _f(sa), _f(comp.example), m)]
    if comp.design == "unpaired":
        return [side(0, _f(se / 2), _f(sa / 2), 0.0, 0.0),
                side(1, _f(se / 2), _f(sa / 2), _f(comp.example), delta)]
    return [side(0, _f(comp.baseline_residual / R), _f(comp.baseline_run / R), 0.0, 0.0),
            side(1, _f(se), _f(sa), _f(comp.example), delta)]


def simulate_means(comp, rng, K: int, S: int, R: int, J: int, delta: float) -> list:
    """Gaussian crossed model of ``comp``: run-averaged per-seed matrices (K, S_k, J) per side
    (see :func:`means_from_normals`)."""
    return means_from_normals(draw_normals(rng, K, S, J, comp.design), comp, S, R, J, delta)


def probit_means(model, design: str, rng, K: int, S: int, R: int, J: int) -> list:
    """Binary outcomes of a :class:`ProbitModel`, run-averaged per seed, in the layout of
    :func:`simulate_means`."""
    out = [[], []]
    chunk = max(1, int(4_000_000 // max(1, S * R * J)))
    for a in range(0, K, chunk):
        k = min(chunk, K - a)
        b, e = model.simulate_runs(rng, S, R, J, design, n_experiments=k)
        out[0].append(b.mean(axis=2, dtype=np.float32))
        if e is not None:
            out[1].append(e.mean(axis=2, dtype=np.float32))
    sides = [np.concatenate(x) for x in out if x]
    if design == "paired":
        return [sides[1] - sides[0]]
    return sides


def _pvalues(d: np.ndarray, direction: float):
    """The engine's Monte Carlo p-values on (K, B) replicates: one-sided ``(1 + k) / (B + 1)``
    with ``k`` the replicates on the wrong side of 0 (<= 0, or >= 0 for a negative effect), and
    two-sided ``min(1, 2 (1 + min(k_le, k_ge)) / (B + 1))``."""
    B = d.shape[1]
    le, ge = np.sum(d <= 0, axis=1), np.sum(d >= 0, axis=1)
    one = (1.0 + (ge if direction < 0 else le)) / (B + 1.0)
    two = np.minimum(1.0, 2.0 * (1.0 + np.minimum(le, ge)) / (B + 1.0))
    return one, two


def _percentile(sides, design, nboot, level, direction, rng, draws=None,
                chunk_cells=6_000_000):
    K, _, J = sides[-1].shape
    if draws is not None:  # given (V, [W per side]): one chunk, for tests on the same draws
        chunk_cells = np.inf
    resampled = [not (design == "fixed_baseline" and i == 0) for i in range(len(sides))]
    cells = J * sum(s.shape[1] for s in sides)
    chunk = int(max(1, min(K, chunk_cells // max(1, cells))))
    reps = np.empty((K, nboot))
    for a in range(0, K, chunk):
        k = min(chunk, K - a)
        # the example draw shared by this chunk of experiments
        V = counts(rng, nboot, J) if draws is None else np.asarray(draws[0], np.float32)
        X = np.concatenate([s[a:a + k].reshape(-1, J) for s in sides]).T  # (J, sum k*S)
        P = (V @ X).astype(np.float64) / J
        off = 0
        side_reps = []
        W_shared = None
        for i, s in enumerate(sides):
            S = s.shape[1]
            Pi = P[:, off:off + k * S].reshape(nboot, k, S)
            off += k * S
            if resampled[i]:
                if draws is not None:
                    W_shared = draws[1][i]
                elif W_shared is None or design == "unpaired":
                    W_shared = _counts_3d(rng, k, nboot, S) / S  # (k, B, S)
                side_reps.append(np.einsum("bks,kbs->kb", Pi, W_shared))
            else:
                side_reps.append(Pi.mean(axis=2).T)
        reps[a:a + k] = side_reps[0] if len(sides) == 1 else side_reps[1] - side_reps[0]
    q = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2], axis=1)
    one, two = _pvalues(reps, direction)
    if draws is not None:
        draws[2:] = [reps]  # hand the replicates back to the caller's list
    return one, two, q[1] - q[0]


def _anova(Z):
    """(K, S, J) -> seed, example, interaction parts and column effects, as the engine.

    The interaction sum of squares is the total minus the two main effects' (the same sum
    without the (K, S, J) residual array).
    """
    K, S, J = Z.shape
    m = Z.mean(axis=(1, 2), dtype=np.float64)
    a = Z.mean(axis=2, dtype=np.float64) - m[:, None]
    b = Z.mean(axis=1, dtype=np.float64) - m[:, None]
    tot = np.einsum("ksj,ksj->k", Z, Z, dtype=np.float64) - S * J * m * m
    sa, sb = np.sum(a * a, axis=1), np.sum(b * b, axis=1)
    ss_g = np.maximum(tot - J * sa - S * sb, 0.0)
    seed = sa / (S * (S - 1)) if S > 1 else np.zeros(K)
    col = sb / (J * (J - 1))
    inter = ss_g / (S * J * (S - 1) * (J - 1)) if S > 1 else np.zeros(K)
    return seed, col, inter, b


def _combine(seed_parts, col, J, inter):
    """The engine's Satterthwaite combination with its clamp, vectorised over experiments."""
    seed = sum(v for v, _ in seed_parts)
    raw = seed + col - inter
    terms = [(v, df) for v, df in seed_parts if df > 0] + [(col, J - 1)]
    s_eff = min([df for _, df in seed_parts], default=1) + 1
    inter_t = (np.where(inter > 0, inter, 0.0), max(1, (s_eff - 1) * (J - 1)))
    allt = terms + [inter_t]
    mx = np.max(np.stack([np.where(v > 0, v, 0.0) for v, _ in allt]), axis=0)
    var = np.where(raw <= 0, mx, raw)
    den = sum(v * v / df for v, df in allt if df > 0)
    df = np.where(den > 0, var * var / np.where(den > 0, den, 1.0), float(J - 1))
    return var, np.maximum(df, 1.0)


def _corrected(sides, design, level, direction):
    from scipy.special import stdtr, stdtrit

    J = sides[-1].shape[2]
    if len(sides) == 1:
        s, c, i, _ = _anova(sides[0])
        var, df = _combine([(s, sides[0].shape[1] - 1)], c, J, i)
        est = sides[0].mean(axis=(1, 2), dtype=np.float64)
    else:
        parts, inter, cols = [], 0.0, []
        for k, X in enumerate(sides):
            if design == "fixed_baseline" and k == 0:
                zb = X.mean(axis=1, dtype=np.float64)
                cols.append(zb - zb.mean(axis=1, keepdims=True))
            else:
                s, c, i, b = _anova(X)
                parts.append((s, X.shape[1] - 1))
                inter = inter + i
                cols.append(b)
        db = cols[1] - cols[0]
        col = np.sum(db * db, axis=1) / (J * (J - 1))
        var, df = _combine(parts, col, J, inter)
        est = (sides[1].mean(axis=(1, 2), dtype=np.float64)
               - sides[0].mean(axis=(1, 2), dtype=np.float64))
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, est / np.where(var > 0, sd, 1.0), np.inf * np.sign(est))
    one = stdtr(df, z) if direction < 0 else stdtr(df, -z)
    two = np.minimum(1.0, 2 * stdtr(df, -np.abs(z)))
    width = 2 * stdtrit(df, 1 - (1 - level) / 2) * sd
    return one, two, width


def analyse(sides: list, design: str, method: str, nboot: int, level: float, direction: float,
            rng, draws: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values (in ``direction``), two-sided p-values and interval widths of each
    simulated experiment, as ``multiboot(design=..., method=...)`` computes them.

    ``draws`` (tests): a list ``[V, [W per side]]`` of example counts (nboot, J) and seed
    weights (K, nboot, S) (None for a fixed baseline) used instead of fresh draws; the
    replicates (K, nboot) are appended to it.
    """
    if method == "corrected":
        return _corrected(sides, design, level, direction)
    return _percentile(sides, design, nboot, level, direction, rng, draws)
