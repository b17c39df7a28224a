"""multiberts_stats: robust research on BERT with the MultiBERTs checkpoints.

Two halves, joined by one tidy table of per-example predictions:

* the evaluation runner (``multiberts_stats.checkpoints``, ``.tasks``, ``.runner``, ``.store``)
  fine-tunes, probes or zero-shot-scores every checkpoint of a family and stores every
  prediction in a Parquet dataset;
* the statistics (``multiberts_stats.bootstrap``, ``.analysis``, ``.plotting``) resample
  pretraining seeds and examples jointly (the Multi-Bootstrap of Sellam et al., 2022) and say
  which findings hold for the procedure and which only for one trained artifact.

The statistics never import torch or transformers. Names are imported lazily so that
``from multiberts_stats import multibootstrap, report_ci`` stays fast.
"""

from importlib import import_module

from ._progress import quiet_widget_warning

__version__ = "0.1.0"

quiet_widget_warning()  # text bars in a notebook without ipywidgets, not a TqdmWarning

# public name -> module that defines it (imported on first access)
_LAZY = {
    "multibootstrap": "multiberts_stats.bootstrap",
    "report_ci": "multiberts_stats.bootstrap",
    "multiboot": "multiberts_stats.bootstrap",
    "MultiBootstrapResult": "multiberts_stats.bootstrap",
    "read_predictions": "multiberts_stats.store",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'multiberts_stats' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
