"""One small run of the main job shared by the tests that need its store and report
(``tests/test_demo.py`` and ``tests/test_readme.py``): the ``--quick`` demo on part of speech
and Winogender, run once per test session in a subprocess, as a user runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, shared_data):
    """(output folder, completed process) of ``multiberts-stats demo --quick``."""
    env = dict(os.environ, MULTIBERTS_STATS_DATA=str(shared_data), OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                         os.environ.get("PYTHONPATH")])))
    env.pop("MULTIBERTS_SHARED_DATA", None)
    out = tmp_path_factory.mktemp("demo") / "multiberts_demo"
    r = subprocess.run([sys.executable, "-m", "multiberts_stats", "demo", "--quick", "--tasks",
                        "pos,winogender", "--out", str(out)], capture_output=True, text=True,
                       env=env, timeout=540)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r
