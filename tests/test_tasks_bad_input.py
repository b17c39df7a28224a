"""Bad task files end in a clear error or a warning, never in a silently wrong table (#13)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from multiberts_stats.errors import DataWarning
from multiberts_stats.runner import ExperimentError, load_experiment
from multiberts_stats.tasks import TaskError, get_task, task_from_file


def _csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def _sst2_rows(shared_data, n, start=0):
    """Real SST-2 dev sentences and labels."""
    lines = (Path(shared_data) / "glue" / "SST-2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines[start:start + n]]


def _toml(tmp_path, task: str) -> Path:
    ck = tmp_path / "m"
    ck.mkdir(exist_ok=True)
    (ck / "config.json").write_text("{}")
    p = tmp_path / "exp.toml"
    p.write_text(f'store = "out"\ncheckpoints = ["m"]\ntasks = [{task}]\n[methods.probe]\nC = 1.0\n')
    return p


def test_toml_label_outside_declared_space_is_refused_at_load(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 30)
    _csv(tmp_path / "dev.csv", rows)
    _csv(tmp_path / "train.csv", rows[:10] + [("a stray example", "2")] + rows[10:])
    toml = _toml(tmp_path, '{ name = "r", files = { train = "train.csv", validation = "dev.csv" }, '
                           'text = ["text"], labels = ["0", "1"] }')
    with pytest.raises(ExperimentError, match=r"split 'train'.*train\.csv.*line 12: '2'"):
        load_experiment(toml)


def test_toml_inferred_stray_class_warns(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 200)
    _csv(tmp_path / "dev.csv", rows)
    _csv(tmp_path / "train.csv", rows[:50] + [("a stray example", "2")] + rows[50:])
    toml = _toml(tmp_path, '{ name = "r", files = { train = "train.csv", validation = "dev.csv" }, '
                           'text = ["text"] }')
    with pytest.warns(DataWarning, match=r"'2' \(1 line\(s\), first at .*train\.csv:52\) look stray"):
        exp = load_experiment(toml)
    assert exp.tasks[0]["spec"]["label_space"] == ["0", "1", "2"]


def test_toml_empty_label_and_duplicate_ids_are_refused(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 20)
    _csv(tmp_path / "dev.csv", rows[:5] + [("no label here", "")] + rows[5:])
    toml = _toml(tmp_path, '{ name = "r", files = { validation = "dev.csv" }, text = ["text"] }')
    with pytest.raises(ExperimentError, match=r"empty on line 7"):
        load_experiment(toml)
    ided = [(f"id{i % 15}", t, y) for i, (t, y) in enumerate(rows)]
    _csv(tmp_path / "dev.csv", ided, header=("id", "text", "label"))
    toml = _toml(tmp_path, '{ name = "r", files = { validation = "dev.csv" }, text = ["text"], id = "id" }')
    with pytest.raises(ExperimentError, match=r"`example_id` must be unique.*'id0'"):
        load_experiment(toml)


def test_task_from_file_labels_declared_or_stray_warned(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 300)
    named = [(t, "pos" if y == "1" else "neg") for t, y in rows]
    p = _csv(tmp_path / "r.csv", named[:100] + [("hmm", "maybe")] + named[100:])
    with pytest.warns(DataWarning, match=r"'maybe' \(1 line\(s\), first at .*r\.csv:102\)"):
        t = task_from_file("r", p, "text")
    assert t.label_space == ["maybe", "neg", "pos"]
    with pytest.raises(TaskError, match=r"line 102: 'maybe'"):
        task_from_file("r", p, "text", labels=["neg", "pos"]).load()
    ok = _csv(tmp_path / "ok.csv", named)
    df = task_from_file("r", ok, "text", labels=["neg", "pos"]).load()
    assert df["label"].tolist() == [1 if y == "1" else 0 for _, y in rows]
    with pytest.raises(TaskError, match="give one"):
        task_from_file("r", ok, "text", labels=["neg", "pos"], label_space=["pos", "neg"])
    # integer labels with a class that never occurs
    gap = _csv(tmp_path / "gap.csv", [(t, "3" if y == "1" else "0") for t, y in rows])
    with pytest.warns(DataWarning, match=r"\['1', '2'\] without a single example"):
        task_from_file("g", gap, "text")


def test_latin1_file_names_the_file_and_the_encoding_option(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 10)
    text = "text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows[:4]) + '"caf\xe9 cr\xe8me",1\n'
    p = tmp_path / "latin.csv"
    p.write_bytes(text.encode("latin-1"))
    with pytest.raises(TaskError, match=r"latin\.csv is not valid utf-8 text: line 6, column 5 .*"
                                        r"encoding='latin-1'"):
        task_from_file("l", p, "text")
    df = task_from_file("l", p, "text", encoding="latin-1").load()
    assert df["text"].iloc[-1] == "caf\xe9 cr\xe8me"
    with pytest.raises(TaskError, match="`encoding` parameter must name a known text encoding"):
        task_from_file("l", p, "text", encoding="latin-42")


def test_headerless_cola_style_file(tmp_path, shared_data):
    rows = _sst2_rows(shared_data, 40)
    p = tmp_path / "in_domain_dev.tsv"
    p.write_text("".join(f"gj04\t{y}\t{'' if y == '1' else '*'}\t{t}\n" for t, y in rows), encoding="utf-8")
    names = ["source", "label", "original_label", "sentence"]
    t = task_from_file("cola_like", p, "sentence", header=None, names=names, labels=["0", "1"],
                       metric="mcc")
    df = t.load()
    assert len(df) == 40 and df["sentence"].tolist() == [s for s, _ in rows]
    assert df["label"].tolist() == [int(y) for _, y in rows] and set(df["source"]) == {"gj04"}
    # the same file through the GLUE reader's CoLA layout gives the same sentences and labels
    (tmp_path / "glue" / "CoLA").mkdir(parents=True)
    (tmp_path / "glue" / "CoLA" / "dev.tsv").write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    glue = get_task("cola", data_dir=str(tmp_path)).load("validation")
    assert glue["sentence"].tolist() == df["sentence"].tolist()
    assert glue["label"].tolist() == df["label"].tolist()
    with pytest.raises(TaskError, match="needs the column `names`"):
        task_from_file("x", p, "sentence", header=None, labels=["0", "1"]).load()
