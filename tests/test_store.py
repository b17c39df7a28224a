"""The Parquet predictions store: round trip, filters, atomic writes, locks, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import multiberts_stats
from multiberts_stats.store import (
    COLUMNS,
    Store,
    StoreError,
    canonical_json,
    read_predictions,
)


def _rows(n=4, *, seed=0, layer=1, method="probe", task="sst2", extra=False):
    df = pd.DataFrame({
        "family": "tiny", "checkpoint": f"/ckpt/seed_{seed}", "pretrain_seed": seed, "step": 2000,
        "task": task, "split": "validation", "method": method, "layer": layer,
        "finetune_seed": 0, "hparams": canonical_json({"C": 1.0}),
        "example_id": [f"ex{i}" for i in range(n)], "label": np.arange(n) % 2 * 1.0,
        "prediction": np.ones(n), "score": np.linspace(0, 1, n), "cluster": [f"ex{i}" for i in range(n)],
    })
    if extra:
        df["gender"] = ["male", "female"] * (n // 2)
        df["bls_pct_female"] = np.arange(n, dtype=float)
    return df


def test_round_trip_dtypes_and_top_level_name(tmp_path):
    st = Store(tmp_path / "s")
    st.write("a", _rows(seed=0))
    st.write("b", _rows(seed=1, layer=None, method="finetune"))
    df = multiberts_stats.read_predictions(tmp_path / "s")
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 8
    assert str(df["layer"].dtype) == "Int64"
    assert df["layer"].isna().sum() == 4
    for c in ("pretrain_seed", "step", "finetune_seed"):
        assert df[c].dtype == np.int64
    for c in ("label", "prediction", "score"):
        assert df[c].dtype == np.float64
    assert df.loc[df.method == "probe", "example_id"].tolist() == ["ex0", "ex1", "ex2", "ex3"]
    assert st.done_keys() == {"a", "b"}
    prov = st.provenance("a")
    assert prov["job_key"] == "a" and "written_at" in prov


def test_filters_value_list_null_and_errors(tmp_path):
    st = Store(tmp_path)
    for s in range(3):
        st.write(f"k{s}", _rows(seed=s, layer=s))
    st.write("ft", _rows(seed=0, layer=None, method="finetune"))
    assert set(read_predictions(tmp_path, pretrain_seed=1).pretrain_seed) == {1}
    assert set(read_predictions(tmp_path, pretrain_seed=[0, 2]).pretrain_seed) == {0, 2}
    assert set(read_predictions(tmp_path, method="finetune").method) == {"finetune"}
    assert len(read_predictions(tmp_path, layer=None)) == 4
    assert len(read_predictions(tmp_path, layer=[None, 2])) == 8
    assert len(read_predictions(tmp_path, example_id="ex3", method="probe")) == 3
    assert list(read_predictions(tmp_path, columns=["example_id", "score"]).columns) == ["example_id", "score"]
    with pytest.raises(KeyError, match="unknown columns \\['nope'\\]"):
        read_predictions(tmp_path, nope=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_predictions(tmp_path / "missing")


def test_task_extras_across_files_and_pandas_reads_the_folder(tmp_path):
    st = Store(tmp_path)
    st.write("plain", _rows(seed=0))
    st.write("wino", _rows(seed=0, task="winogender", method="zeroshot", layer=None, extra=True))
    df = read_predictions(tmp_path)
    assert {"gender", "bls_pct_female"} <= set(df.columns)
    assert df.loc[df.task == "sst2", "gender"].isna().all()
    assert read_predictions(tmp_path, gender="female").shape[0] == 2
    # a stray temporary file (a writer killed mid-write) and the bookkeeping folders are invisible
    (tmp_path / ".tmp-part-x.parquet-123").write_bytes(b"PAR1 garbage")
    st.record_failure("bad", RuntimeError("boom"))
    assert st.claim("running") is not None
    pdf = pd.read_parquet(tmp_path)
    assert len(pdf) == 8
    assert len(read_predictions(tmp_path)) == 8


def test_duckdb_reads_the_store(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    st = Store(tmp_path)
    st.write("a", _rows(seed=0))
    st.write("b", _rows(seed=1))
    n = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/part-*.parquet')").fetchall()[0][0]
    assert n == 8


def test_write_rejects_bad_rows(tmp_path):
    st = Store(tmp_path)
    with pytest.raises(StoreError, match="Missing \\['score'\\]"):
        st.write("x", _rows().drop(columns="score"))
    bad = _rows()
    bad.loc[0, "example_id"] = None
    with pytest.raises(StoreError, match="`example_id`"):
        st.write("x", bad)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        st.write("x", {"a": 1})
    assert st.done_keys() == set()
    with pytest.raises(TypeError, match="`path` parameter of Store"):
        Store(3)


def test_locks_exclusive_and_stale_dead_pid_broken(tmp_path):
    st = Store(tmp_path)
    lock = st.claim("job")
    assert lock is not None
    assert st.claim("job") is None            # held by a live process (this one)
    assert set(st.running()) == {"job"}
    lock.release()
    assert st.claim("job") is not None
    # a lock left by a dead process on this host is stale and broken
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "_locks" / "old.lock").write_text(json.dumps(
        {"pid": int(dead), "host": os.uname().nodename, "time": 0.0}))
    assert "old" not in st.running()
    again = st.claim("old")
    assert again is not None
    again.release()
    # a lock from another host is honoured until it is older than stale_after
    (tmp_path / "_locks" / "remote.lock").write_text(json.dumps(
        {"pid": 1, "host": "elsewhere", "time": 1e18}))
    assert st.claim("remote") is None


def test_failures_and_status(tmp_path):
    st = Store(tmp_path)
    st.register_jobs("exp", {"a": {"task": "x"}, "b": {"task": "y"}, "c": {"task": "z"}})
    st.write("a", _rows())
    try:
        raise ValueError("the checkpoint folder /x has corrupt weights")
    except ValueError as e:
        st.record_failure("b", e, job={"task": "y"})
    s = st.status()
    assert s["done"] == {"a"} and s["failed"] == {"b"} and s["pending"] == {"c"}
    assert "corrupt weights" in s["errors"]["b"]
    assert "Traceback" in st.failed()["b"]["traceback"]
    st.write("b", _rows())              # a later success clears the failure
    assert st.failed() == {}


def test_empty_store_has_the_schema(tmp_path):
    df = read_predictions(Store(tmp_path).path)
    assert list(df.columns) == list(COLUMNS) and len(df) == 0
