"""The command line as a researcher meets it: `run` ends with a results table and takes
`--limit`, `status` lists what a store holds, every option's help states its default, one name
per concept, errors name flags, and progress bars only where someone watches."""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from _analysis_data import steps_table
from test_runner_helpers import shared_family

from multiberts_stats import read_predictions
from multiberts_stats.bootstrap import multiboot
from multiberts_stats.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A real Parquet store: 5 seeds x steps (0, 20, 2000) x layers (0, 1), one job each."""
    from multiberts_stats.store import Store

    path = tmp_path_factory.mktemp("store")
    st = Store(path)
    t = steps_table(seed=0, n_ex=120, steps=(0, 20, 2000), layers=(0, 1), n_seeds=5)
    for i, (_, rows) in enumerate(t.groupby(["pretrain_seed", "step", "layer"], sort=True)):
        st.write(f"job{i:03d}", rows.reset_index(drop=True))
    return path


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


def _toml(path: Path, family, shared_data, store: str, extra: str = "") -> Path:
    g = Path(shared_data) / "glue" / "SST-2"
    path.write_text(f"""
name = "smoke"
store = "{store}"
checkpoints = {{ family = "tiny", root = "{family}" }}
tasks = [{{ name = "sst2", files = {{ train = "{g / 'train.tsv'}", validation = "{g / 'dev.tsv'}" }} }}]
[methods.probe]
layers = [0, 2]
C = [1.0]
folds = 2
{extra}
""")
    return path


class _Got(Exception):
    pass


def _parser_of(name: str) -> argparse.ArgumentParser:
    """The parser a command builds (caught at its parse_args call)."""
    orig = argparse.ArgumentParser.parse_args

    def grab(self, *a, **k):
        raise _Got(self)

    argparse.ArgumentParser.parse_args = grab
    try:
        COMMANDS[name][0](["x"])
    except _Got as g:
        return g.args[0]
    finally:
        argparse.ArgumentParser.parse_args = orig
    raise AssertionError(f"{name} parsed no arguments")


def _all_parsers(p):
    yield p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sp in a.choices.values():
                yield from _all_parsers(sp)


# ------------------------------------------------------------------ 1. run: results table, --limit
def test_run_ends_with_results_table_and_limit(tmp_path, family, shared_data, capsys):
    from multiberts_stats.runner import load_experiment

    toml = _toml(tmp_path / "exp.toml", family, shared_data, "out")
    rc = main(["run", str(toml), "--limit", "30", "--nboot", "200", "--seed", "3", "--quiet"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    table = read_predictions(tmp_path / "out")
    # --limit: 30 evaluation examples per task, for each of 2 seeds x 2 layers
    assert table.groupby(["pretrain_seed", "layer"]).size().tolist() == [30] * 4
    lines = [ln for ln in out.out.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == ["task", "method", "step", "layer", "metric", "mean", "95% interval", "seeds",
                    "examples", "majority"]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    assert [r[3] for r in rows] == ["0", "2"] and {r[7] for r in rows} == {"2"}
    assert {r[8] for r in rows} == {"30"} and {r[4] for r in rows} == {"accuracy"}
    share = table.drop_duplicates("example_id")["label"].value_counts(normalize=True).max()
    assert {r[9] for r in rows} == {f"{share:.4f}"}   # the majority-class baseline beside the score
    # the numbers are multiboot's on the store's rows of that condition (same seed stream)
    for i, r in enumerate(rows):
        res = multiboot(table[table["layer"] == int(r[3])], metric="accuracy", nboot=200, rng=3 + i,
                        quiet=True)
        lo, hi = res.ci["base"]
        assert r[5] == f"{res.estimate['base']:.4f}" and r[6] == f"[{lo:.4f}, {hi:.4f}]"
    assert "1 failed" not in out.out and "4 jobs" not in out.out
    # limited jobs are their own jobs: the full experiment shares none of their keys
    exp = load_experiment(toml)
    full = {j.key for j in exp.jobs()}
    assert not full & {j.key for j in exp.with_limit(30).jobs()}
    assert exp.with_limit(30).methods["probe"]["max_eval"] == 30
    assert main(["run", str(toml), "--limit", "0"]) == 2
    assert "`--limit`" in capsys.readouterr().err
    # status and report name the experiment the store's jobs belong to
    from multiberts_stats.cli.report import _experiment_title

    assert main(["status", str(tmp_path / "out")]) == 0
    assert "experiment: smoke" in capsys.readouterr().out
    assert _experiment_title(tmp_path / "out") == "Multi-Bootstrap report: smoke"


def test_redirected_run_writes_no_progress_lines(tmp_path, family, shared_data):
    """One real subprocess with stderr to a file: no carriage returns; the table on stdout."""
    toml = _toml(tmp_path / "exp.toml", family, shared_data, "out")
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as f:
        proc = subprocess.run([sys.executable, "-m", "multiberts_stats", "run", str(toml), "--limit", "20",
                               "--nboot", "100"], stdout=subprocess.PIPE, stderr=f, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
                              timeout=300)
    data = err.read_bytes()
    assert proc.returncode == 0, data.decode()[-3000:]
    assert b"\r" not in data and b"\r" not in proc.stdout
    assert b"| sst2 | probe" in proc.stdout and b"4 jobs" not in proc.stdout


# ------------------------------------------------------------------ 2. status lists the holdings
def test_status_lists_what_the_store_holds(store, capsys):
    assert main(["status", str(store)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(ln for ln in lines if ln.strip().startswith("task"))
    assert head.split() == ["task", "method", "families", "splits", "steps", "layers", "pretrain_seeds",
                            "finetune_seeds", "hparams", "examples"]
    row = lines[lines.index(head) + 1].split()
    t = read_predictions(store)
    assert row[0] == t["task"].iloc[0] and row[4] == "0,20,2000" and row[5] == "0-1"
    assert row[6] == "0-4" and row[-1] == "120"
    cols = next(ln for ln in lines if ln.strip().startswith("columns:")).split(":", 1)[1]
    assert {"task", "method", "step", "layer", "pretrain_seed", "example_id"} <= {
        c.strip() for c in cols.split(",")}
    assert "--base 'task=" in out
    assert "done " in out   # the job counts stay
    # the filter it suggests works in compare
    filt = out.split("--base '")[1].split("'")[0]
    assert main(["compare", str(store), "--base", filt + ",step=2000", "--nboot", "20"]) == 0


# ------------------------------------------------------------------ 3. help, names, errors
def test_every_option_states_its_default():
    missing = []
    for name in COMMANDS:
        if name == "demo":   # the demo's options belong to the main-job module
            continue
        for p in _all_parsers(_parser_of(name)):
            fmt = p._get_formatter()
            for a in p._actions:
                if (not a.option_strings or a.help == argparse.SUPPRESS or a.nargs == 0
                        or a.required):
                    continue
                text = (fmt._get_help_string(a) or "") % {**vars(a), "prog": p.prog}
                if "default" not in text.lower():
                    missing.append((p.prog, a.option_strings))
    assert not missing, missing


def test_compare_help_names_the_design_and_one_name_per_concept(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--paired", "--unpaired", "--fixed-baseline"):
        assert f"{flag} " in text
    assert "Default: --paired when the sides share pretraining seeds, --unpaired when they share none" in text
    assert "--average-over COL" in text
    for name in ("compare", "report", "published", "plan"):
        opts = {o for p in _all_parsers(_parser_of(name)) for a in p._actions
                if a.help != argparse.SUPPRESS for o in a.option_strings}
        assert "--rng" not in opts, name
        if name != "plan":   # plan's --alpha is the level of the test it plans for, beside --confidence-level
            assert "--alpha" not in opts, name
        if name != "published":
            assert {"--seed", "--confidence-level", "--nboot"} <= opts
    winogender = [p for p in _all_parsers(_parser_of("published")) if p.prog.endswith("winogender")][0]
    assert {"--seed", "--confidence-level", "--direction"} <= {o for a in winogender._actions
                                                              for o in a.option_strings}


def test_deprecated_aliases_still_work(store, capsys):
    args = [str(store), "--base", "step=0,layer=1", "--expt", "step=2000,layer=1", "--nboot", "50",
            "--format", "json"]
    assert main(["compare", *args, "--seed", "4", "--confidence-level", "0.9"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main(["compare", *args, "--seed", "4", "--alpha", "0.1"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out) == new and "--alpha is deprecated" in got.err
    with pytest.raises(SystemExit) as e:   # as argparse refuses a bad command line
        main(["compare", *args, "--alpha", "0.1", "--confidence-level", "0.9"])
    assert e.value.code == 2 and "not both" in capsys.readouterr().err


def test_compare_average_over(store, capsys):
    base = [str(store), "--base", "step=2000", "--nboot", "50", "--format", "json"]
    assert main(["compare", *base]) == 2
    err = capsys.readouterr().err
    assert "`layer`" in err and "--average-over layer" in err and "average_over" not in err
    assert main(["compare", *base, "--average-over", "layer"]) == 0
    rep = json.loads(capsys.readouterr().out)
    t = read_predictions(store)
    t = t[t["step"] == 2000]
    direct = multiboot(t, nboot=50, rng=0, average_over=["layer"], quiet=True)
    assert rep["procedure"]["estimate"] == pytest.approx(direct.estimate["base"])
    assert main(["compare", *base, "--average-over", "colour"]) == 2
    assert "--average-over names column(s) ['colour']" in capsys.readouterr().err


def test_version_listed_in_help(capsys):
    from multiberts_stats import __version__

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--version" in out and all(name in out for name in COMMANDS)
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.fixture(scope="module")
def release(tmp_path_factory, shared_data):
    from multiberts_stats.testing import write_example_release

    return write_example_release(tmp_path_factory.mktemp("rel"), kinds=["coref"], n_seeds=3,
                                 winogender_dir=shared_data / "winogender")


def test_published_winogender_direction_seed_and_flag_errors(release, tmp_path, capsys):
    root = str(Path(release) / "coref")
    common = ["published", "winogender", root, "--metrics", "accuracy", "--nboot", "60", "--quiet"]
    outs = {}
    for name, extra in (("recipe", []), ("negative", ["--direction", "negative"]),
                        ("flag", ["--expect-negative-effect"]), ("rng", ["--rng", "42"])):
        assert main([*common, *extra, "--out", str(tmp_path / f"{name}.json")]) == 0, name
        capsys.readouterr()
        outs[name] = json.loads((tmp_path / f"{name}.json").read_text())
    p = {k: next(r["p"] for r in v if r["quantity"] == "delta") for k, v in outs.items()}
    assert p["recipe"] == p["rng"]                    # --rng is --seed 42, the default
    assert p["negative"] == p["flag"] != p["recipe"]  # the direction reaches the p-value
    assert p["negative"] + p["recipe"] == pytest.approx(1.0, abs=0.05)
    # errors name flags, not Python parameters
    assert main([*common, "--nboot", "0"]) == 2
    err = capsys.readouterr().err
    assert "`--nboot` option" in err and "parameter" not in err
    bare = tmp_path / "bare"
    bare.mkdir()
    for group in ("base", "cda_intervention-50k"):
        os.symlink(Path(root) / group, bare / group)
    assert main(["published", "winogender", str(bare), "--nboot", "20", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--occupations" in err and "occupations=" not in err


# ------------------------------------------------------------------ 4. the dispatcher
def test_dispatcher_plain_imports_and_no_torch_for_checkpoints():
    src = (ROOT / "multiberts_stats" / "cli" / "__init__.py").read_text()
    assert "import_module" not in src
    assert all(callable(fn) and isinstance(h, str) and h for fn, h in COMMANDS.values())
    code = ("import sys\nfrom multiberts_stats.cli import main\n"
            "rc = main(['checkpoints', '--seeds', '0', '--steps', '0'])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nsys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ 5. progress bars
def test_progress_bars_only_where_watched(monkeypatch):
    import types

    from multiberts_stats import _progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    piped, tty = io.StringIO(), Tty()
    list(_progress.tqdm(range(50), file=piped, mininterval=0))
    list(_progress.tqdm(range(50), file=tty, mininterval=0))
    list(_progress.tqdm(range(50), file=tty, disable=True))
    assert piped.getvalue() == "" and "\r" in tty.getvalue() and "50/50" in tty.getvalue()
    # a notebook kernel: no TqdmWarning, whether or not ipywidgets is installed
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert _progress.in_notebook()
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", TqdmWarning)
        bar = _progress.tqdm(range(3), file=io.StringIO())
        assert not bar.disable and sum(bar) == 3
    # every bar of the package goes through the helper
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "multiberts_stats").rglob("*.py")
                 if "from tqdm" in p.read_text() and p.name != "_progress.py"]
    assert not offenders, offenders


def test_results_table_zero_shot_winogender_says_what_it_shows():
    """A zero-shot masked LM has no coreference decisions: the bias r is undefined, and the table
    shows the pronoun preference (pearson) with a note saying so."""
    import numpy as np
    import pandas as pd

    from multiberts_stats.cli.results import PRONOUN_NOTE, format_results, results_table

    rng = np.random.default_rng(0)
    occ = np.repeat([f"o{i}" for i in range(30)], 4)
    bls = np.repeat(np.linspace(5, 95, 30), 4)
    rows = []
    for s in range(4):
        pf = 1 / (1 + np.exp(-(bls - 50) / 30 - rng.normal(0, 1, len(occ))))
        rows.append(pd.DataFrame({"pretrain_seed": s, "task": "winogender", "method": "zeroshot", "step": 0,
                                  "layer": pd.array([None] * len(occ), dtype="Int64"),
                                  "example_id": [f"e{i}" for i in range(len(occ))], "label": 0.0,
                                  "prediction": 0.0, "occupation": occ, "cluster": occ,
                                  "gender": np.tile(["female", "male", "neutral", "male"], 30),
                                  "bls_pct_female": bls, "p_female": pf, "p_male": 1 - pf}))
    res, _ = results_table(pd.concat(rows, ignore_index=True), nboot=100)
    assert res["metric"].tolist() == ["pearson"] and res["error"].tolist() == [""]
    assert 0 < res["low"][0] < res["mean"][0] < res["high"][0]
    assert PRONOUN_NOTE in format_results(res)


def test_a_notebook_shows_no_tqdm_warning(tmp_path, monkeypatch):
    """A real Jupyter kernel: the package's bars raise no TqdmWarning (with or without ipywidgets)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    spec = tmp_path / "kernels" / "mbs-cli-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mbs", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import warnings\nwarnings.simplefilter('always')\n"
        "from multiberts_stats._progress import tqdm, in_notebook\n"
        "print('notebook', in_notebook())\nprint(sum(tqdm(range(5), desc='bar')))\n"
        "from tqdm.auto import tqdm as auto_tqdm   # as transformers and the hub import it\n"
        "print(sum(auto_tqdm(range(3))))")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="mbs-cli-test").execute()
    outputs = nb.cells[0]["outputs"]
    text = json.dumps(outputs)
    stdout = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert stdout == "notebook True\n10\n3\n"
    assert "TqdmWarning" not in text and "IProgress" not in text
