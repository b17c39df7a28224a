"""`import multiberts_stats.bootstrap` is light: no torch / transformers (nor pandas, scipy,
sklearn) and well under a second, measured in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = r"""
import sys, time, json
t = time.perf_counter()
import multiberts_stats.bootstrap
from multiberts_stats import multibootstrap, report_ci, multiboot, MultiBootstrapResult
dt = time.perf_counter() - t
heavy = [m for m in ("torch", "transformers", "pandas", "scipy", "sklearn") if m in sys.modules]
print(json.dumps({"seconds": dt, "heavy": heavy}))
"""


def test_import_is_light_and_fast():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # numpy is imported by everything: warm the OS file cache once, then measure our own import
    subprocess.run([sys.executable, "-c", "import numpy"], env=env, check=True)
    best = None
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", CODE], env=env, check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        assert r["heavy"] == [], f"importing the bootstrap pulled in {r['heavy']}"
        best = r["seconds"] if best is None else min(best, r["seconds"])
    assert best < 1.0, f"import took {best:.2f} s"
