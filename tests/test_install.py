"""The package as installed: a light core, every import declared, doctests and lint clean.

* The statistics, the store, the analysis, the published readers and the plots import (and run a
  comparison end to end) in a fresh interpreter where torch, transformers, datasets, accelerate
  and Dask cannot be imported at all — the core install (`pip install multiberts_stats`) has none.
* Every third-party module the package imports is declared in setup.cfg (core or an extra).
* The Examples in every module's docstrings run (``doctest``).
* ruff, configured in pyproject.toml, passes on the code.
"""

from __future__ import annotations

import ast
import configparser
import doctest
import importlib
import importlib.metadata as md
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import multiberts_stats

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "multiberts_stats"
HEAVY = ("torch", "transformers", "datasets", "accelerate", "dask", "distributed", "safetensors",
         "huggingface_hub", "tokenizers")

BLOCKED = r"""
import importlib.abc, sys
HEAVY = %r
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(f"{name} is blocked: the core install has no {name}")
        return None
sys.meta_path.insert(0, Block())
""" % (HEAVY,)

CORE_USE = BLOCKED + r"""
import numpy as np, pandas as pd
import multiberts_stats
import multiberts_stats.bootstrap, multiberts_stats.table, multiberts_stats.store
import multiberts_stats.analysis, multiberts_stats.published, multiberts_stats.plotting
import multiberts_stats.metrics, multiberts_stats.errors
from multiberts_stats import multiboot, multibootstrap, report_ci, read_predictions
from multiberts_stats.analysis import artifact_vs_procedure
rng = np.random.default_rng(0)
rows = []
labels = rng.integers(2, size=40)
for side, p in (("a", 0.6), ("b", 0.7)):
    for seed in range(3):
        for ex in range(40):
            y = int(labels[ex])
            rows.append(dict(side=side, pretrain_seed=seed, finetune_seed=0, example_id=str(ex),
                             label=y, prediction=y if rng.random() < p else 1 - y))
t = pd.DataFrame(rows)
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = multiboot(t[t.side == "a"], t[t.side == "b"], design="paired", nboot=200, rng=0)
    rep = artifact_vs_procedure(t[t.side == "a"], t[t.side == "b"], design="paired", nboot=200, rng=0)
import matplotlib
matplotlib.use("Agg")
rep.plot()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
assert not loaded, loaded
print("ok", round(res.estimate["delta"], 4))
"""


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


def test_core_works_without_torch_transformers_datasets_dask():
    r = _run(CORE_USE)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().startswith("ok")


def test_cli_help_of_statistics_commands_without_the_runner():
    code = BLOCKED + ("from multiberts_stats.cli import main\n"
                      "import sys\n"
                      "for cmd in ('compare', 'report', 'published'):\n"
                      "    try:\n"
                      "        main([cmd, '--help'])\n"
                      "    except SystemExit as e:\n"
                      "        assert e.code in (0, None), (cmd, e.code)\n"
                      "print('ok')\n")
    r = _run(code)
    assert r.returncode == 0, r.stderr[-3000:]


# --------------------------------------------------------------------------------------------
# every import declared
# --------------------------------------------------------------------------------------------
def _declared() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    reqs = cfg["options"]["install_requires"].splitlines()
    for _, value in cfg["options.extras_require"].items():
        reqs += value.splitlines()
    names = set()
    for line in reqs:
        line = line.split("#")[0].split(";")[0].strip()
        if line:
            names.add(re.split(r"[\[<>=! ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _imported_top_level() -> set[str]:
    names = set()
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


# imported only where the user asked for them, named in the error when missing
OPTIONAL_BY_DESIGN = {"dask_jobqueue", "tomli", "IPython"}


def test_every_imported_package_is_declared():
    stdlib = set(sys.stdlib_module_names)
    dists = md.packages_distributions()
    declared = _declared()
    missing = []
    for mod in sorted(_imported_top_level() - stdlib - {"multiberts_stats"} - OPTIONAL_BY_DESIGN):
        owners = {d.lower().replace("_", "-") for d in dists.get(mod, [mod])}
        if not owners & declared:
            missing.append(f"{mod} (distribution {sorted(owners)})")
    assert not missing, f"imported but not declared in setup.cfg: {missing}"


# --------------------------------------------------------------------------------------------
# doctests of every module
# --------------------------------------------------------------------------------------------
def _modules() -> list[str]:
    mods = ["multiberts_stats"]
    for info in pkgutil.walk_packages(multiberts_stats.__path__, "multiberts_stats."):
        if info.name.endswith("__main__"):
            continue
        mods.append(info.name)
    return mods


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name, shared_data, vocab_file, monkeypatch):
    module = importlib.import_module(name)
    monkeypatch.chdir(ROOT)  # examples name the data as a user in the project folder would
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = doctest.testmod(module, extraglobs={"vocab_file": str(vocab_file),
                                                "shared_data": str(shared_data)},
                            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                            verbose=False, report=True)
    assert r.failed == 0, f"{r.failed} of {r.attempted} doctest examples of {name} failed"


# --------------------------------------------------------------------------------------------
# lint
# --------------------------------------------------------------------------------------------
def test_ruff_passes():
    ruff = str(Path(sys.executable).with_name("ruff"))
    ruff = ruff if Path(ruff).exists() else shutil.which("ruff")
    assert ruff, "ruff is not installed: it is part of the test extra (pip install -e '.[test]')"
    r = subprocess.run([ruff, "check", "multiberts_stats", "tests", "benchmarks"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:]


# --------------------------------------------------------------------------------------------
# layers (docs/ARCHITECTURE.md): which package may import which at module level
# --------------------------------------------------------------------------------------------
RUNNER_SIDE = {"checkpoints", "tasks", "runner"}
STATISTICS = {"table", "metrics", "bootstrap", "store", "analysis", "published", "plotting", "planning"}
ENTRY = {"cli", "demo"}
FORBIDDEN = {
    "errors": RUNNER_SIDE | STATISTICS | ENTRY | {"testing"},
    **{p: RUNNER_SIDE | ENTRY | {"testing"} for p in STATISTICS},
    **{p: ENTRY | {"analysis", "testing"} for p in RUNNER_SIDE},
    "testing": ENTRY,
}
HEAVY_AT_IMPORT = {"torch", "transformers", "datasets", "accelerate", "dask", "distributed"}


def _module_level_imports(tree: ast.Module):
    """Imports executed when the module is imported (not those inside functions)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(node, ast.ClassDef):
                stack.extend(node.body)
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                stack.append(child)


def _package_of(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]


def _target(path: Path, item) -> str | None:
    if isinstance(item, str):
        name, level = item, 0
    else:
        name, level = item
    if level:
        pkg_parts = path.relative_to(PKG).parent.parts
        base = pkg_parts[: len(pkg_parts) - (level - 1)] if level > 1 else pkg_parts
        name = ".".join(("multiberts_stats", *base, *([name] if name else [])))
    return name


def test_layers_import_only_what_they_may():
    problems = []
    for path in sorted(PKG.rglob("*.py")):
        own = _package_of(path)
        if own in ("__init__", "__main__"):
            continue
        for item in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            name = _target(path, item)
            if not name:
                continue
            parts = name.split(".")
            if parts[0] in HEAVY_AT_IMPORT and own not in ENTRY | {"testing"}:
                problems.append(f"{path.relative_to(ROOT)} imports {name} at module level")
            if parts[0] == "multiberts_stats" and len(parts) > 1:
                other = parts[1]
                if other != own and other in FORBIDDEN.get(own, set()):
                    problems.append(f"{path.relative_to(ROOT)} ({own}) imports {name}")
    assert not problems, "\n".join(problems)
