"""The store under faults and hostile input (#13): corrupt and foreign parts, path escapes,
locks with a heartbeat (real processes), a full disk and a read-only store (real mounts)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from multiberts_stats.errors import DataWarning
from multiberts_stats.store import Store, StoreError, read_predictions
from multiberts_stats.store.locks import lock_is_stale

from test_store import _rows

ROOT = Path(__file__).resolve().parents[1]


def test_truncated_part_is_not_done_and_is_named(tmp_path):
    st = Store(tmp_path / "s")
    st.write("good", _rows(seed=0))
    path = st.write("cut", _rows(seed=1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])          # a truncated part (a disk that filled up, a bad copy)
    assert st.has("good") and not st.has("cut")
    assert st.done_keys() == {"good"}
    assert list(st.corrupt_parts()) == [path]
    with pytest.raises(StoreError, match=r"part-cut\.parquet: its Parquet footer cannot be read.*runner "
                                         r"recomputes them"):
        read_predictions(st.path)
    # the job written again replaces the corrupt part atomically
    st.write("cut", _rows(seed=1))
    assert st.done_keys() == {"good", "cut"} and len(read_predictions(st.path)) == 8


def test_part_whose_row_count_differs_from_the_record_is_not_done(tmp_path):
    st = Store(tmp_path / "s")
    path = st.write("k", _rows(n=6))
    other = tmp_path / "other"
    Store(other).write("k", _rows(n=4))
    shutil.copy(other / path.name, path)               # a valid Parquet file, but not what was written
    assert not st.has("k")
    assert "holds 4 rows where 6 were written" in st.corrupt_parts()[path]


def test_foreign_parquet_files_are_ignored_with_a_warning(tmp_path):
    st = Store(tmp_path / "s")
    st.write("a", _rows(seed=0))
    foreign = _rows(seed=5)
    foreign["pretrain_seed"] = foreign["pretrain_seed"].astype("int64")
    foreign.to_parquet(st.path / "notes.parquet")
    foreign.to_parquet(st.path / "part-from-elsewhere.parquet")
    with pytest.warns(DataWarning, match=r"2 Parquet file\(s\) it did not write .*notes\.parquet"):
        df = read_predictions(st.path)
    assert set(df.pretrain_seed) == {0} and df.pretrain_seed.dtype == np.int64
    assert st.done_keys() == {"a"}


@pytest.mark.parametrize("key", ["../../x", "/etc/passwd", "a/b", "..", "", "x\\y", 7])
def test_keys_that_would_escape_the_store_are_refused(tmp_path, key):
    st = Store(tmp_path / "s")
    for call in (lambda: st.claim(key), lambda: st.record_failure(key, "boom"),
                 lambda: st.write(key, _rows()), lambda: st.has(key)):
        with pytest.raises(StoreError, match="must be a job key"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert not (tmp_path / "x").exists()


_HOLDER = """
import sys, time
from multiberts_stats.store import Store
st = Store(sys.argv[1], heartbeat=0.2)
lock = st.claim("job1")
assert lock is not None
print("held", flush=True)
time.sleep(60)
"""


def test_lock_heartbeat_keeps_a_live_holder_and_frees_a_dead_one(tmp_path):
    store = tmp_path / "s"
    Store(store)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waiter = Store(store, stale_after=1.0)
        time.sleep(1.5)                         # longer than stale_after: only the heartbeat keeps it
        assert waiter.claim("job1") is None
        info = waiter.running()["job1"]
        assert info["pid"] == holder.pid and time.time() - info["heartbeat"] < 1.0
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # a dead holder on this host is stale at once
        lock = waiter.claim("job1")
        assert lock is not None
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_lock_of_another_host_is_stale_after_the_timeout_and_an_empty_one_soon(tmp_path):
    st = Store(tmp_path / "s", stale_after=30.0)
    locks = st.path / "_locks"
    locks.mkdir()
    other = locks / "far.lock"
    other.write_text(json.dumps({"pid": 1, "host": socket.gethostname() + "-elsewhere", "time": time.time()}))
    assert not lock_is_stale(other, 30.0) and st.claim("far") is None
    old = time.time() - 31
    os.utime(other, (old, old))                  # no heartbeat for 31 s
    assert lock_is_stale(other, 30.0)
    lock = st.claim("far")
    assert lock is not None
    lock.release()
    # a live pid of this host whose heartbeat stopped (a hung runner, psutil absent): stale too
    hung = locks / "hung.lock"
    hung.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                                "start": None}))
    assert st.claim("hung") is None
    os.utime(hung, (old, old))
    assert lock_is_stale(hung, 30.0) and st.claim("hung") is not None
    empty = locks / "empty.lock"
    empty.write_text("")
    assert st.claim("empty") is None             # being written right now, maybe
    os.utime(empty, (time.time() - 6, time.time() - 6))
    assert st.claim("empty") is not None


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a full disk, a read-only store) needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {r.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_write_and_record_failure_leave_nothing_half_written(tmpfs):
    _mount_tmpfs(tmpfs, "512k")
    st = Store(tmpfs / "s")
    st.write("small", _rows(n=4))
    filler = tmpfs / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY)  # fill the disk to the last block
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == 28
    finally:
        os.close(fd)
    big = _rows(n=20000)
    with pytest.raises(OSError) as err:
        st.write("big", big)
    assert err.value.errno == 28                   # ENOSPC
    assert st.record_failure("big", err.value, kind="environment") is False   # refused, not raised
    st.log_event("failed", "big")                  # the audit log refuses quietly too
    names = {p.name for p in st.path.rglob("*")}
    assert not any(n.startswith(".tmp-") for n in names), names
    assert st.done_keys() == {"small"} and not st.has("big")
    filler.unlink()
    assert st.record_failure("big", err.value, kind="environment") is True


def test_read_only_store_still_reads(tmpfs):
    _mount_tmpfs(tmpfs, "4m")
    st = Store(tmpfs / "s")
    st.write("a", _rows())
    r = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {r.stderr.strip()}")
    ro = Store(tmpfs / "s")
    assert ro.done_keys() == {"a"} and len(ro.read()) == 4
    assert ro.record_failure("a", "x") is False
