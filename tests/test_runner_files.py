"""File tasks in the experiment TOML go through the one reader of ``task_from_file``."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from test_runner_helpers import shared_family

from multiberts_stats import read_predictions
from multiberts_stats.runner import load_experiment, run_experiment
from multiberts_stats.runner.loading import resolve_task
from multiberts_stats.tasks import task_from_file


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


def _quoted_csv(path: Path, n: int, offset: int = 0) -> list[tuple[str, int]]:
    """A valid CSV whose text fields hold commas (and quotes) inside quotes."""
    rows = []
    for i in range(n):
        label = (i + offset) % 2
        word = "good, really good" if label else "bad, \"truly\" bad"
        rows.append((f"{word}, number {i + offset}", label))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return rows


def test_quoted_csv_through_toml_files_is_read_like_task_from_file(tmp_path, family):
    train = _quoted_csv(tmp_path / "train.csv", 40)
    dev = _quoted_csv(tmp_path / "dev.csv", 16, offset=1)
    assert 'bad, ""truly"" bad' in (tmp_path / "train.csv").read_text()
    toml = tmp_path / "exp.toml"
    toml.write_text(f"""
name = "quoted"
store = "store"
checkpoints = {{ family = "tiny", root = "{family}", seeds = [0] }}
tasks = [{{ name = "reviews", files = {{ train = "train.csv", validation = "dev.csv" }}, text = ["text"] }}]
[methods.probe]
max_train = 40
C = [1.0]
folds = 2
layers = [1]
""")
    exp = load_experiment(toml)
    # the experiment's task is the task_from_file task, read by the same reader
    via_toml = resolve_task(exp.tasks[0]["spec"])
    direct = task_from_file("reviews", paths={"train": str(tmp_path / "train.csv"),
                                              "validation": str(tmp_path / "dev.csv")},
                            text_fields=["text"])
    assert type(via_toml) is type(direct)
    for split, rows in (("train", train), ("validation", dev)):
        a, b = via_toml.load(split), direct.load(split)
        pd.testing.assert_frame_equal(a, b)
        assert a["text"].tolist() == [t for t, _ in rows]
        assert a["label"].tolist() == [y for _, y in rows]
    s = run_experiment(exp, quiet=True)
    assert (s.done, s.failed) == (1, 0), s.errors
    df = read_predictions(tmp_path / "store")
    assert len(df) == 16 and not df.label.isna().any()
    assert df.sort_values("example_id").label.tolist() == [float(y) for _, y in dev]


def test_input_failure_is_retried_once_its_data_file_changes(tmp_path, family):
    """An input failure is skipped on the next run, and retried without --retry-failed once the
    task's data file has changed (the job key stays: no old rows beside new ones)."""
    import os
    import warnings

    one_class = [(f"only bad, number {i}", 0) for i in range(12)]
    with open(tmp_path / "train.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("text", "label"), *one_class])
    _quoted_csv(tmp_path / "dev.csv", 8)
    toml = tmp_path / "exp.toml"
    toml.write_text(f"""
name = "edited"
store = "store"
checkpoints = {{ family = "tiny", root = "{family}", seeds = [0] }}
[[tasks]]
name = "reviews"
files = {{ train = "train.csv", validation = "dev.csv" }}
text = ["text"]
labels = [0, 1]
[methods.probe]
max_train = 40
C = [1.0]
folds = 2
layers = [1]
""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the declared class 1 has no training example
        first = run_experiment(load_experiment(toml), quiet=True)
        assert first.failed == 1
        again = run_experiment(load_experiment(toml), quiet=True)
        assert again.previously_failed == 1 and again.done == 0      # unchanged inputs: skipped
        _quoted_csv(tmp_path / "train.csv", 40)                      # the file is fixed in place
        st = os.stat(tmp_path / "train.csv")
        os.utime(tmp_path / "train.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        fixed = run_experiment(load_experiment(toml), quiet=True)
    assert (fixed.done, fixed.failed, fixed.previously_failed) == (1, 0, 0), fixed.errors
    assert len(read_predictions(tmp_path / "store")) == 8
