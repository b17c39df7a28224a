"""The main job end to end (quick variant): family -> runner -> store -> bootstrap -> report."""
from __future__ import annotations

import json
import re

import pytest
from _demo_run import demo_run  # noqa: F401  (the session's one demo run)

from multiberts_stats import demo
from multiberts_stats.cli.demo import cli_demo



@pytest.mark.slow
def test_demo_quick_end_to_end(demo_run):  # noqa: F811
    out, r = demo_run
    report = out / "report" / "report.md"
    assert f"Report: {report}" in r.stdout
    assert "[demo] 1/4" in r.stderr and "[demo] 4/4" in r.stderr  # progress shown
    assert "\r" not in r.stderr  # no progress-bar redraws when stderr is not a terminal
    text = report.read_text()
    # the findings table comes first, under the title, the intro and the warnings banner
    assert text.index("## Findings") < text.index("## pos — probe (accuracy)")
    assert "## winogender — zeroshot (" in text  # bias r, or pronoun preference when undefined
    assert text.count("**Warning:**") == len(set(re.findall(r"\*\*Warning:\*\* (.*)", text)))
    assert "design `None`" not in text and "| None |" not in text
    assert "equivalence test" in text
    figs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(figs) >= 6 and all((out / "report" / f).is_file() for f in figs)
    assert (out / "report" / "findings.csv").is_file()
    assert len(list((out / "report" / "tables").glob("*.csv"))) >= 6
    # the store is a real Parquet dataset with both tasks
    from multiberts_stats.store import read_predictions

    t = read_predictions(out / "store")
    assert set(t.task) == {"pos", "winogender"}
    assert t.pretrain_seed.nunique() == 3 and t.step.nunique() == 3


@pytest.mark.slow
def test_demo_finding_from_findings_json(demo_run):  # noqa: F811
    """The main job's finding, read back from findings.json: on part of speech the last-step
    models beat the step-0 models at the procedure level (interval above zero), and the best
    layer beats the majority-class baseline by at least 10 points."""
    out, _ = demo_run
    rows = json.loads((out / "report" / "findings.json").read_text())
    assert all({"comparison", "task", "metric", "estimate", "low", "high", "verdict"} <= set(x)
               for x in rows)
    pos = [x for x in rows if x["task"] == "pos"]
    steps = [x for x in pos if x["comparison"].startswith("step 200 vs step 0")]
    assert len(steps) == 1
    s = steps[0]
    assert s["low"] > 0 and s["estimate"] > 0.02, s
    assert s["p_adjusted"] is not None and s["p_adjusted"] < 0.05
    assert s["baseline"] is not None  # the step-0 score beside the difference
    best = [x for x in pos if x["comparison"].endswith("vs majority class")]
    assert len(best) == 1 and best[0]["baseline_kind"] == "majority class"
    assert best[0]["estimate"] - best[0]["baseline"] >= 0.10, best[0]
    # a layer-wise artifact-vs-procedure comparison is reported, whatever its verdict
    layers = [x for x in pos if x["comparison"].startswith("layer ")]
    assert layers and all(x["n_artifacts"] == 3 and x["artifacts_disagree"] is not None
                          for x in layers)


def test_find_shared_data(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTIBERTS_SHARED_DATA", str(shared_data))
    assert demo.find_shared_data() == shared_data.resolve()
    monkeypatch.setenv("MULTIBERTS_SHARED_DATA", str(tmp_path))
    assert demo.find_shared_data() is None  # an explicit choice is respected
    monkeypatch.delenv("MULTIBERTS_SHARED_DATA")
    assert demo.find_shared_data() is not None  # ../shared/data beside the repository


def test_fallback_data_is_generated_outside_the_project(tmp_path):
    fb = demo._fallback_data(tmp_path / "d", 300)
    assert len(fb["sentences"]) == 300
    lines = fb["train"].read_text().splitlines()
    assert lines[0] == "sentence\tlabel" and len(lines) == 301
    labels = {ln.rsplit("\t", 1)[1] for ln in lines[1:]}
    assert labels == {"0", "1"}
    vocab = fb["vocab"].read_text().split()
    assert {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "film"} <= set(vocab)


def test_demo_bad_arguments(capsys):
    assert cli_demo(["--tasks", "nope", "--out", "/tmp/x-never"]) == 2
    assert "must be among" in capsys.readouterr().err
    assert cli_demo(["--seeds", "a-b"]) == 2
    assert "`--seeds` option" in capsys.readouterr().err


def test_report_first_lines_say_which_data():
    fallback = demo._intro("mini", (0, 1), (0, 10), None)
    assert fallback.startswith("**Data**: no data folder was found")
    assert "generated" in fallback.split("\n")[0]
    real = demo._intro("mini", (0, 1), (0, 10), "/data")
    assert real.startswith("**Data**: the public files in `/data`")
