"""Input checks shared by the reference-compatible and the modern API (and the error classes).

Every error names the parameter, the rule and what was received, e.g.
"The `nboot` parameter of multiboot must be a positive integer. Got -3 instead."
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import InputError, InputTypeError


class BootstrapInputError(InputError):
    """Bad input to the bootstrap (a ``ValueError``, an :class:`~multiberts_stats.errors.InputError`)."""


class BootstrapTypeError(InputTypeError):
    """An argument of the wrong type (a ``TypeError``, an
    :class:`~multiberts_stats.errors.InputTypeError`)."""


def _short(x, limit: int = 80) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def check_nboot(nboot, fn: str) -> int:
    if isinstance(nboot, (bool, np.bool_)) or not isinstance(nboot, numbers.Integral) or nboot < 1:
        raise BootstrapInputError(
            f"The `nboot` parameter of {fn} must be a positive integer. Got {_short(nboot)} instead.")
    return int(nboot)


def check_level(c, name: str, fn: str) -> float:
    ok = isinstance(c, numbers.Real) and not isinstance(c, (bool, np.bool_))
    if not ok or not (0.0 < float(c) < 1.0):
        raise BootstrapInputError(
            f"The `{name}` parameter of {fn} must be a number strictly between 0 and 1. "
            f"Got {_short(c)} instead.")
    return float(c)


def check_batch(batch, fn: str):
    if batch is None:
        return None
    if isinstance(batch, (bool, np.bool_)) or not isinstance(batch, numbers.Integral) or batch < 1:
        raise BootstrapInputError(
            f"The `batch` parameter of {fn} must be a positive integer or None. "
            f"Got {_short(batch)} instead.")
    return int(batch)


def check_threshold(t, name: str, fn: str):
    if t is None:
        return None
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real) or not np.isfinite(t):
        raise BootstrapInputError(
            f"The `{name}` parameter of {fn} must be a finite number or None. Got {_short(t)} instead.")
    return float(t)


def check_finite(arr: np.ndarray, name: str, fn: str) -> None:
    """NaN / inf check, only for numeric arrays (labels may be strings)."""
    a = np.asarray(arr)
    if a.dtype.kind in "fc":
        bad = ~np.isfinite(a)
        if bad.any():
            where = np.argwhere(bad)[0]
            raise BootstrapInputError(
                f"The `{name}` parameter of {fn} must not contain NaN or inf. "
                f"Got {int(bad.sum())} non-finite value(s), the first at index {tuple(int(i) for i in where)} "
                f"({a[tuple(where)]!r}).")
    elif a.dtype == object:
        import pandas as pd  # object arrays come from pandas; it is imported already

        flat = a.ravel()
        missing = pd.isna(flat)
        if missing.any():
            i = int(np.argmax(missing))
            raise BootstrapInputError(
                f"The `{name}` parameter of {fn} must not contain NaN or missing values (None, "
                f"pd.NA). Got {int(missing.sum())} missing value(s), the first at flat index {i} "
                f"({flat[i]!r}).")
        if pd.api.types.infer_dtype(flat, skipna=False) in ("floating", "mixed-integer-float",
                                                             "mixed"):
            for i, v in enumerate(flat):
                if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) \
                        and not np.isfinite(v):
                    raise BootstrapInputError(
                        f"The `{name}` parameter of {fn} must not contain NaN or inf. "
                        f"Got {v!r} at flat index {i}.")


def as_generator(rng, fn: str = "multiboot"):
    """Turn ``rng`` into something we draw from, once, without touching global state.

    None / int / SeedSequence -> ``np.random.default_rng``; a ``Generator`` or a
    ``RandomState`` is used as it is.
    """
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)) and not isinstance(rng, bool):
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise BootstrapInputError(
                f"The `rng` parameter of {fn} must be None, a non-negative integer, a numpy Generator "
                f"or a RandomState. Got {_short(rng)} instead.")
        return np.random.default_rng(rng)
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    raise BootstrapTypeError(
        f"The `rng` parameter of {fn} must be None, a non-negative integer, a numpy Generator or a "
        f"RandomState. Got {type(rng).__name__} ({_short(rng)}) instead.")


def draw_indices(rng, n: int, size: int) -> np.ndarray:
    """``size`` indices uniform on ``range(n)`` from a Generator or a RandomState.

    For a RandomState this is exactly what ``rng.choice(items, size=size, replace=True)`` draws
    (``randint(0, len(items), size)``), so the reference's stream is reproduced.
    """
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, n, size=size)
    return rng.randint(0, n, size=size)
