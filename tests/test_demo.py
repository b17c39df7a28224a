"""The main job end to end (quick variant): family -> runner -> store -> bootstrap -> report."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from multiberts_stats import demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path, shared_data):
    env = dict(os.environ, MULTIBERTS_SHARED_DATA=str(shared_data),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "multiberts_stats", "demo", "--quick", "--out",
                        str(out)], capture_output=True, text=True, env=env, timeout=540)
    assert r.returncode == 0, r.stderr[-3000:]
    report = out / "report" / "report.md"
    assert f"Report: {report}" in r.stdout
    assert "[demo] 1/4" in r.stderr and "[demo] 4/4" in r.stderr  # progress shown
    text = report.read_text()
    assert "## sst2 — probe (accuracy)" in text
    assert "## winogender — zeroshot (" in text  # bias r, or pronoun preference when undefined
    assert "Last step vs first step" in text and "**Procedure level**" in text
    figs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(figs) >= 6 and all((out / "report" / f).is_file() for f in figs)
    # the store is a real Parquet dataset with both tasks
    from multiberts_stats.store import read_predictions

    t = read_predictions(out / "store")
    assert set(t.task) == {"sst2", "winogender"}
    assert t.pretrain_seed.nunique() == 3 and t.step.nunique() == 2


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
    assert demo.cli_demo(["--tasks", "nope", "--out", "/tmp/x-never"]) == 2
    assert "must be among" in capsys.readouterr().err
    assert demo.cli_demo(["--seeds", "a-b"]) == 2
    assert "`--seeds` option" in capsys.readouterr().err
