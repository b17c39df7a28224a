"""Job claims: lock files created with ``O_CREAT | O_EXCL`` and kept alive by a heartbeat.

The holder touches its lock file every ``heartbeat`` seconds (its mtime is the heartbeat). A lock
is stale — and may be broken by another runner, under a short-lived second lock so two runners
never break it both — when its heartbeat is older than ``stale_after`` seconds (on any host), or
at once when its owner is a dead process on this host (or its pid was reused).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import threading
import time
from pathlib import Path

__all__ = ["JobLock", "create_lock", "lock_is_stale", "break_if_stale", "lock_info",
           "describe_holder", "HEARTBEAT_S", "STALE_AFTER_S"]

#: seconds between two heartbeats of a held lock
HEARTBEAT_S = 10.0
#: a lock whose heartbeat is older than this is stale, on any host
STALE_AFTER_S = 120.0
#: an empty lock file older than this is stale (its writer died between create and write)
_EMPTY_GRACE_S = 5.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def pid_start_time(pid: int) -> float | None:
    try:
        import psutil
        return float(psutil.Process(pid).create_time())
    except Exception:  # psutil missing, or no such process
        return None


class JobLock:
    """A claim on one job: a lock file whose mtime a background thread refreshes (the
    heartbeat) until :meth:`release`. Use as a context manager or call :meth:`release`."""

    def __init__(self, path: Path, heartbeat: float = HEARTBEAT_S):
        self.path = Path(path)
        self.released = False
        self._stop = threading.Event()
        self._thread = None
        if heartbeat and heartbeat > 0:
            self._thread = threading.Thread(target=self._beat, args=(float(heartbeat),),
                                            name=f"heartbeat-{self.path.stem[:12]}", daemon=True)
            self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                os.utime(self.path)
            except OSError:  # broken by someone else, or the disk is gone: nothing to refresh
                return

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._stop.set()
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def create_lock(path: Path, heartbeat: float = HEARTBEAT_S) -> JobLock | None:
    """Create the lock file ``path`` (``O_EXCL``) holding pid, host, start time; None if it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
            "start": pid_start_time(os.getpid())}
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(info))
        f.flush()
        os.fsync(f.fileno())
    return JobLock(path, heartbeat)


def lock_info(path: Path) -> dict | None:
    """The lock's record plus ``heartbeat`` (its mtime); None when the file is gone."""
    try:
        text = path.read_text()
        st = path.stat()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
        if not isinstance(info, dict):
            info = {}
    except ValueError:
        info = {}
    info["heartbeat"] = st.st_mtime
    info["empty"] = not text.strip()
    return info


def lock_is_stale(path: Path, stale_after: float = STALE_AFTER_S) -> bool:
    info = lock_info(path)
    if info is None:
        return True
    age = time.time() - info["heartbeat"]
    if info["empty"] or "pid" not in info:
        # being written right now (microseconds), or the writer died between create and write
        return age > _EMPTY_GRACE_S
    if age > stale_after:
        return True  # no heartbeat for too long: the holder is gone, whatever its host
    if info.get("host") == socket.gethostname():
        pid = int(info.get("pid", -1))
        if not pid_alive(pid):
            return True
        start, now_start = info.get("start"), pid_start_time(pid)
        if start is not None and now_start is not None and abs(now_start - start) > 1.0:
            return True  # the pid was reused by another process
    return False


def break_if_stale(path: Path, stale_after: float = STALE_AFTER_S) -> bool:
    """Remove ``path`` if stale; True if the caller should retry creating it."""
    if not path.exists():
        return True
    if not lock_is_stale(path, stale_after):
        return False
    breaker = path.with_suffix(".break")
    try:
        fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - breaker.stat().st_mtime > 60.0:
                breaker.unlink()
        except FileNotFoundError:
            pass
        return False
    os.close(fd)
    try:
        if path.exists() and lock_is_stale(path, stale_after):
            path.unlink()
        return True
    finally:
        try:
            breaker.unlink()
        except FileNotFoundError:
            pass


def describe_holder(info: dict) -> str:
    """``host H, pid P, since <UTC time> (heartbeat N s ago)`` for a lock record."""
    since = info.get("time")
    when = (_dt.datetime.fromtimestamp(float(since), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if since else "an unknown time")
    beat = time.time() - float(info.get("heartbeat", time.time()))
    return (f"host {info.get('host', '?')}, pid {info.get('pid', '?')}, since {when} "
            f"(heartbeat {beat:.0f} s ago)")
