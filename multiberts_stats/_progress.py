"""Progress bars for people watching: a tqdm bar on a terminal, a widget in a Jupyter notebook
(a text bar there when ipywidgets is missing, never a ``TqdmWarning``), and nothing when the
stream is redirected to a file or a pipe (no carriage-return floods in logs).

Every bar of the package is made by :func:`tqdm` here, with tqdm's own arguments.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["tqdm", "in_notebook", "on_terminal", "quiet_widget_warning"]


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - an IPython too old or too odd to ask
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def quiet_widget_warning() -> None:
    """In a Jupyter kernel without ipywidgets, tqdm (imported by transformers and the Hugging Face
    hub too) warns "IProgress not found" and falls back to text bars, which work: that one
    warning is switched off there, nothing else and nowhere else."""
    if in_notebook() and importlib.util.find_spec("ipywidgets") is None:
        import warnings

        warnings.filterwarnings("ignore", message="IProgress not found")


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def tqdm(iterable=None, *args, disable: bool | None = False, file=None, **kwargs):
    """A ``tqdm.tqdm`` bar that shows only where someone can watch it.

    ``disable=True`` (e.g. ``quiet``) switches it off; otherwise it is a notebook widget in
    Jupyter (ipywidgets installed), a text bar on a terminal, and disabled when ``file``
    (default stderr) is not a terminal.

    Examples
    --------
    >>> import io
    >>> bar = tqdm(range(3), file=io.StringIO())   # not a terminal: no output
    >>> bar.disable, sum(bar)
    (True, 3)
    """
    if not disable and in_notebook():
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(iterable, *args, **kwargs)
        disable = False  # a text bar: Jupyter renders carriage returns
    elif not disable:
        disable = not on_terminal(file)
    from tqdm import tqdm as text_tqdm

    return text_tqdm(iterable, *args, disable=bool(disable), file=sys.stderr if file is None else file,
                     **kwargs)
