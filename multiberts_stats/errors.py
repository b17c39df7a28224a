"""The exceptions and warnings of multiberts_stats, under one base each.

Catch :class:`MultibertsStatsError` to catch every error the package raises on purpose; its
subclasses also derive from the built-in class callers usually catch (``ValueError``,
``TypeError``, ``KeyError``, ``FileNotFoundError``, ``RuntimeError``), so existing ``except
ValueError`` code keeps working.

Warnings derive from :class:`MultibertsStatsWarning` (a ``UserWarning``), so a user can filter
one kind precisely::

    import warnings
    from multiberts_stats.errors import FewSeedsWarning
    warnings.simplefilter("ignore", FewSeedsWarning)

Error messages follow one form: the parameter, the rule, what was received — "The `nboot`
parameter of multiboot must be a positive integer. Got -3 instead."

This module imports nothing beyond the standard library.
"""

from __future__ import annotations

__all__ = [
    "MultibertsStatsError", "InputError", "InputTypeError", "DataFileError", "EnvironmentFailure",
    "MultibertsStatsWarning", "FewSeedsWarning", "FewClustersWarning", "SmallNbootWarning",
    "FixedBaselineWarning", "UndefinedMetricWarning", "DroppedSamplesWarning", "DataWarning",
    "describe",
]


class MultibertsStatsError(Exception):
    """Base class of every error raised on purpose by multiberts_stats."""


class InputError(MultibertsStatsError, ValueError):
    """A value outside what a parameter accepts (a ``ValueError``)."""


class InputTypeError(MultibertsStatsError, TypeError):
    """An argument of the wrong type (a ``TypeError``)."""


class DataFileError(MultibertsStatsError, FileNotFoundError):
    """A data file or folder that is missing (a ``FileNotFoundError``)."""


class EnvironmentFailure(MultibertsStatsError, RuntimeError):
    """A failure caused by the environment (device, memory, disk, network, a killed worker),
    not by the inputs: worth retrying on the next run."""


class MultibertsStatsWarning(UserWarning):
    """Base class of every warning issued by multiberts_stats."""


class FewSeedsWarning(MultibertsStatsWarning):
    """Fewer resampled pretraining seeds than the simulated coverage study supports."""


class FewClustersWarning(MultibertsStatsWarning):
    """Fewer resampled clusters than the simulated coverage study supports."""


class SmallNbootWarning(MultibertsStatsWarning):
    """``nboot`` too small for the requested level or number of comparisons (the p-value floor)."""


class FixedBaselineWarning(MultibertsStatsWarning):
    """A fixed baseline given with several seeds: its seeds are not resampled."""


class UndefinedMetricWarning(MultibertsStatsWarning):
    """A metric undefined on some replicates or seeds (those are dropped, and counted)."""


class DroppedSamplesWarning(MultibertsStatsWarning):
    """NaN bootstrap samples dropped before an interval was computed."""


class DataWarning(MultibertsStatsWarning):
    """Something in the data worth a look (skipped lines, truncated sentences, empty pairs)."""


def describe(x, limit: int = 80) -> str:
    """``repr(x)`` cut to ``limit`` characters, for error messages."""
    s = repr(x)
    return s if len(s) <= limit else s[: limit - 3] + "..."
