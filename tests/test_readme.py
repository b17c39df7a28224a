"""Every Python snippet of README.md runs as written against the demo's store.

The ```python blocks are executed in order in one namespace (as a reader pastes them into one
notebook), from a folder holding ``multiberts_demo/`` as ``multiberts-stats demo`` leaves it
(the session's one quick demo run). The Slurm block needs a Slurm cluster and dask-jobqueue:
it is only compiled.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from _demo_run import demo_run  # noqa: F401  (the session's one demo run)

README = Path(__file__).resolve().parents[1] / "README.md"
NEEDS_CLUSTER = ("SLURMCluster",)


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M)
    out = []
    for indent, body in blocks:
        lines = [ln[len(indent):] if ln.startswith(indent) else ln for ln in body.splitlines()]
        out.append("\n".join(lines) + "\n")
    return out


def test_readme_has_python_blocks():
    blocks = python_blocks()
    assert len(blocks) >= 4
    for b in blocks:
        compile(b, "README.md", "exec")  # every block is valid Python, the Slurm one included


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::multiberts_stats.errors.FewSeedsWarning")
def test_readme_snippets_run_against_the_demo_store(demo_run, monkeypatch):  # noqa: F811
    out, _ = demo_run
    monkeypatch.chdir(out.parent)  # the snippets read "multiberts_demo/store"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    ns: dict = {}
    ran = 0
    for i, block in enumerate(python_blocks()):
        if any(k in block for k in NEEDS_CLUSTER):
            continue
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), ns)
        except Exception as e:  # name the block in the failure
            raise AssertionError(f"README python block {i + 1} failed: {type(e).__name__}: {e}"
                                 f"\n{block}") from e
        ran += 1
    assert ran >= 3
    # what the snippets computed holds the demo's finding
    assert ns["res"].ci["delta"][0] > 0
    import matplotlib.pyplot as plt

    plt.close("all")
    assert os.path.isdir("multiberts_demo/store")
