"""`multiberts-stats compare` and `report` on a real Parquet store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _analysis_data import steps_table

from multiberts_stats.bootstrap import multiboot
from multiberts_stats.cli.compare import cli_compare
from multiberts_stats.cli.report import cli_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from multiberts_stats.store import Store

    path = tmp_path_factory.mktemp("store")
    st = Store(path)
    t = steps_table(seed=0, n_ex=150, steps=(0, 20, 2000), layers=(0, 1), n_seeds=5)
    for i, (_, rows) in enumerate(t.groupby(["pretrain_seed", "step", "layer"], sort=True)):
        st.write(f"job{i:03d}", rows.reset_index(drop=True))
    return path


def test_compare_json_equals_engine(store, capsys):
    from multiberts_stats.store import read_predictions

    rc = cli_compare([str(store), "--base", "step=0,layer=1", "--expt", "step=2000,layer=1",
                        "--paired", "--nboot", "100", "--seed", "7", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    d = json.loads(out.out)
    table = read_predictions(store)
    b = table[(table.step == 0) & (table.layer == 1)]
    e = table[(table.step == 2000) & (table.layer == 1)]
    direct = multiboot(b, e, design="paired", metric="accuracy", nboot=100, rng=7)
    assert (d["procedure"]["low"], d["procedure"]["high"]) == pytest.approx(direct.ci["delta"])
    assert d["procedure"]["estimate"] == pytest.approx(direct.estimate["delta"])
    assert d["design"] == "paired" and len(d["artifacts"]) == 5
    assert d["verdict"][0]["n_artifacts"] == 5
    assert set(d) >= {"flag", "warnings", "decomposition"}


def test_compare_text_markdown_and_plot(store, capsys, tmp_path):
    rc = cli_compare([str(store), "--base", "step=0,layer=0", "--expt", "step=20,layer=0",
                        "--nboot", "50", "--plot", str(tmp_path / "f.png")])
    out = capsys.readouterr().out
    assert rc == 0 and "Procedure (seeds and examples)" in out and "seed 4" in out
    assert (tmp_path / "f.png").stat().st_size > 1000
    rc = cli_compare([str(store), "--base", "step=2000,layer=1", "--nboot", "50",
                        "--format", "markdown"])
    out = capsys.readouterr().out
    assert rc == 0 and "**Procedure level** (score" in out


def test_compare_few_seeds_warning_is_printed(store, capsys):
    rc = cli_compare([str(store), "--base", "step=0,layer=1,pretrain_seed=0|1",
                        "--expt", "step=20,layer=1,pretrain_seed=0|1", "--nboot", "50"])
    out = capsys.readouterr()
    assert rc == 0
    assert "WARNING" in out.err and "WARNING" in out.out


@pytest.mark.parametrize("args,message", [
    (["--base", "step=5"], "selects no rows. Values of 'step' in the store: ['0', '20', '2000']"),
    (["--base", "nope=1"], "does not have"),
    (["--base", ""], "must look like"),
    (["--base", "step=0", "--metric", "winogender_bias_r"], "needs the column(s)"),
    (["--base", "step=0", "--metric", "nonsense"], "must be one of"),
])
def test_compare_errors(store, capsys, args, message):
    rc = cli_compare([str(store)] + args + ["--nboot", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err


def test_compare_no_shared_examples(tmp_path, capsys):
    from multiberts_stats.store import Store

    st = Store(tmp_path / "s")
    t = steps_table(seed=0, n_ex=20, steps=(0, 20), layers=(0,), n_seeds=2)
    t.loc[t.step == 20, "example_id"] = "other-" + t.loc[t.step == 20, "example_id"]
    st.write("a", t.reset_index(drop=True))
    rc = cli_compare([str(tmp_path / "s"), "--base", "step=0", "--expt", "step=20"])
    assert rc == 2 and "must share examples" in capsys.readouterr().err


def test_empty_store_and_missing_store(tmp_path, capsys):
    from multiberts_stats.store import Store

    Store(tmp_path / "empty")
    rc = cli_compare([str(tmp_path / "empty"), "--base", "step=0"])
    assert rc == 2 and "no finished jobs" in capsys.readouterr().err
    rc = cli_report([str(tmp_path / "empty"), "-o", str(tmp_path / "r")])
    assert rc == 2 and "no finished jobs" in capsys.readouterr().err
    rc = cli_compare([str(tmp_path / "absent"), "--base", "step=0"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_report_markdown_and_html(store, tmp_path, capsys):
    rc = cli_report([str(store), "-o", str(tmp_path / "md"), "--nboot", "50", "--quiet"])
    assert rc == 0
    path = tmp_path / "md" / "report.md"
    assert str(path) in capsys.readouterr().out
    text = path.read_text()
    for heading in ("## sst2 — probe (accuracy)", "Procedure-level estimates at step 2000",
                    "step 2000 vs step 0 (best layer, 1)", "layer 1 vs layer 0 at step 2000",
                    "## Findings",
                    "### Learning curve", "Agreement between seeds"):
        assert heading in text
    import re

    figs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    # 3 comparisons (last vs first step, last vs previous step, top layer vs embeddings)
    # x (forest, variance, bootstrap), curve, agreement (#14 added the last two comparisons)
    assert len(figs) == 11
    for f in figs:
        assert (tmp_path / "md" / f).stat().st_size > 1000


def test_report_html_one_step(tmp_path, capsys):
    from multiberts_stats.store import Store

    st = Store(tmp_path / "s")
    t = steps_table(seed=3, n_ex=60, steps=(2000,), layers=(0, 1), n_seeds=3)
    for i, (_, rows) in enumerate(t.groupby(["pretrain_seed", "layer"], sort=True)):
        st.write(f"job{i}", rows.reset_index(drop=True))
    rc = cli_report([str(tmp_path / "s"), "-o", str(tmp_path / "html"), "--format", "html",
                       "--nboot", "30", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    html = (tmp_path / "html" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html
    assert "Learning curve" not in html  # one step: no curve
    import re

    srcs = re.findall(r'<img alt="[^"]*" src="([^"]+)"', html)
    # the top layer vs the embeddings (forest, variance, bootstrap of the difference) + agreement
    assert len(srcs) == 4
    assert all((tmp_path / "html" / f).stat().st_size > 1000 for f in srcs)
    assert "Warning:" in html  # 3 seeds: the engine's coverage warning is shown


def test_cli_entry_point_subprocess(store):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    r = subprocess.run([sys.executable, "-m", "multiberts_stats", "compare", str(store), "--base",
                        "step=0,layer=0", "--expt", "step=2000,layer=0", "--nboot", "30"],
                       capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "Procedure (seeds and examples)" in r.stdout
