"""Reliability with real processes: SIGKILL and resume, two runners on one store, Dask, a pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_runner_helpers import shared_family, toml_text

from multiberts_stats import read_predictions
from multiberts_stats.runner import load_experiment, run_experiment
from multiberts_stats.store import Store

ROOT = Path(__file__).resolve().parents[1]
RUN_COLS = ["pretrain_seed", "step", "layer", "finetune_seed", "hparams", "example_id"]


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


def _runner(toml: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "multiberts_stats", "run", str(toml), "--quiet", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, family, shared_data) -> pd.DataFrame:
    """The largest grid of these tests run uninterrupted, in this process."""
    tmp = tmp_path_factory.mktemp("reference")
    toml = tmp / "ref.toml"
    toml.write_text(toml_text(tmp / "ref_store", family, shared_data, seeds="0-3"))
    s = run_experiment(load_experiment(toml), quiet=True)
    assert s.failed == 0
    return read_predictions(tmp / "ref_store")


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.sort_values(RUN_COLS).reset_index(drop=True)
    b = b.sort_values(RUN_COLS).reset_index(drop=True)
    assert len(a) == len(b)
    for c in a.columns:
        if c in ("score",):
            np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-5, atol=1e-6)
        elif c != "checkpoint":
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


def _no_duplicates(df: pd.DataFrame) -> None:
    assert not df.duplicated(["checkpoint", "task", "split", "method", *RUN_COLS]).any()


@pytest.mark.slow
def test_sigkill_mid_grid_then_resume(tmp_path, family, shared_data, reference):
    store = tmp_path / "store"
    toml = tmp_path / "exp.toml"
    toml.write_text(toml_text(store, family, shared_data, seeds="0-3"))
    total = 2 * 4
    proc = _runner(toml)
    st = Store(store)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(st.done_keys()) < 2:
        time.sleep(0.05)
    assert proc.poll() is None, f"the runner ended before it could be killed: {proc.communicate()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = st.done_keys()
    assert 2 <= len(done_at_kill) < total
    # readers never see a partial file
    partial = read_predictions(store)
    assert len(partial) == len(done_at_kill) * 3 * 40
    assert len(pd.read_parquet(store)) == len(partial)
    # resume
    t_resume = time.time()
    proc = _runner(toml)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"{total} jobs: {total - len(done_at_kill)} run, {len(done_at_kill)} already in the store" in out
    ev = st.events()
    assert not (set(ev[(ev.event == "start") & (ev.time >= t_resume)].key) & done_at_kill)
    assert ev[ev.event == "done"].key.value_counts().max() == 1       # no job done twice
    assert st.done_keys() == set(ev[ev.event == "done"].key) and len(st.done_keys()) == total
    assert not list((store / "_locks").glob("*.lock"))
    final = read_predictions(store)
    _no_duplicates(final)
    _same_table(final, reference)


@pytest.mark.slow
def test_two_runners_on_one_store(tmp_path, family, shared_data, reference):
    """One runner in-process, one through a process pool, started together."""
    store = tmp_path / "store"
    toml = tmp_path / "exp.toml"
    toml.write_text(toml_text(store, family, shared_data, seeds="0-2"))
    a, b = _runner(toml), _runner(toml, "--executor", "processes", "--workers", "1")
    for p in (a, b):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    st = Store(store)
    ev = st.events()
    done = ev[ev.event == "done"]
    assert len(st.done_keys()) == 6 and done.key.value_counts().max() == 1
    assert not st.failed()
    final = read_predictions(store)
    _no_duplicates(final)
    assert len(final) == 6 * 3 * 40
    _same_table(final, reference[reference.finetune_seed <= 2])


@pytest.mark.slow
def test_dask_local_cluster_matches_in_process(tmp_path, family, shared_data, reference):
    pytest.importorskip("dask.distributed")
    toml = tmp_path / "exp.toml"
    toml.write_text(toml_text(tmp_path / "dask_store", family, shared_data, seeds="0"))
    s = run_experiment(load_experiment(toml), executor="dask", workers=2, quiet=True)
    assert (s.done, s.failed) == (2, 0), s.errors
    st = Store(tmp_path / "dask_store")
    pids = {st.provenance(k)["pid"] for k in st.done_keys()}
    assert os.getpid() not in pids                           # ran in the worker processes
    _same_table(read_predictions(tmp_path / "dask_store"), reference[reference.finetune_seed == 0])
