"""The method registry: probe, finetune, zeroshot — each one entry owning its defaults, its
validation, its grid and its run function.

A new method is one :func:`register_method` call::

    register_method(Method(name="mine", defaults={...}, validate=..., grid=..., run=...))

``validate(settings, where)`` gets the method's settings with the defaults merged in (unknown
keys are refused before) and returns them normalised; ``grid(settings)`` returns the grid
points (the ``hparams`` column) and the settings that are not grid axes; ``run(job, ctx)``
returns ``(rows, provenance extras)`` (see :mod:`multiberts_stats.runner.rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .finetune import DEFAULTS as FINETUNE_DEFAULTS
from .finetune import grid as finetune_grid
from .finetune import run as finetune_run
from .finetune import validate as finetune_validate
from .probe import DEFAULTS as PROBE_DEFAULTS
from .probe import grid as probe_grid
from .probe import run as probe_run
from .probe import validate as probe_validate
from .zeroshot import DEFAULTS as ZEROSHOT_DEFAULTS
from .zeroshot import grid as zeroshot_grid
from .zeroshot import run as zeroshot_run
from .zeroshot import validate as zeroshot_validate
from .settings import ExperimentError, setting_error

__all__ = ["Method", "METHODS", "register_method", "method_settings"]


@dataclass(frozen=True)
class Method:
    """One way of turning a checkpoint and a task into per-example predictions.

    Attributes
    ----------
    name : str
    defaults : Mapping
        Every setting and its default; the only keys ``[methods.<name>]`` accepts.
    validate, grid, run : callables
        See the module docstring.
    version : int
        Bumped when the method's code changes what it computes (changes every key of it).
    seeded : bool
        Whether the method has seeds (the ``finetune_seed`` column); False: one job, seed 0.
    trains : bool
        Whether the method has a training split.
    """

    name: str
    defaults: Mapping
    validate: Callable[[dict, str], dict]
    grid: Callable[[dict], tuple]
    run: Callable
    version: int = 1
    seeded: bool = True
    trains: bool = True


METHODS: dict[str, Method] = {}


def register_method(method: Method, *, overwrite: bool = False) -> Method:
    """Add a method to the registry (an error for a name already taken, unless ``overwrite``)."""
    if not isinstance(method, Method):
        raise TypeError(f"The `method` parameter of register_method must be a Method. Got "
                        f"{type(method).__name__} instead.")
    if method.name in METHODS and not overwrite:
        raise ValueError(f"A method named {method.name!r} is already registered; pass "
                         "overwrite=True to replace it.")
    METHODS[method.name] = method
    return method


def method_settings(name: str, settings) -> dict:
    """The validated settings of ``[methods.<name>]``: unknown keys refused, defaults merged in."""
    if name not in METHODS:
        raise setting_error(f"methods.{name}", f"must name a method among {sorted(METHODS)}", name)
    if settings is True:
        settings = {}
    if not isinstance(settings, dict):
        raise setting_error(f"methods.{name}", "must be a table of settings", settings)
    m = METHODS[name]
    unknown = sorted(set(settings) - set(m.defaults))
    if unknown:
        raise ExperimentError(f"The `methods.{name}` table has unknown keys {unknown}; the known "
                              f"keys are {sorted(m.defaults)}.")
    return m.validate({**m.defaults, **settings}, f"methods.{name}")


register_method(Method("probe", PROBE_DEFAULTS, probe_validate, probe_grid, probe_run))
register_method(Method("finetune", FINETUNE_DEFAULTS, finetune_validate, finetune_grid, finetune_run))
register_method(Method("zeroshot", ZEROSHOT_DEFAULTS, zeroshot_validate, zeroshot_grid, zeroshot_run,
                       seeded=False, trains=False))
