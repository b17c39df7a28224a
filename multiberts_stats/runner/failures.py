"""Why a job failed: its inputs (a bad checkpoint, bad data — skipped on later runs until the
inputs change, or ``--retry-failed``) or its environment (no such device, out of memory, disk
full, a killed worker, an interrupt — retried on the next run)."""

from __future__ import annotations

import errno
import re

from multiberts_stats.errors import EnvironmentFailure

__all__ = ["failure_kind", "ENVIRONMENT_ERRNOS"]

#: errno values of an OSError that are the machine's fault, not the job's
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM, errno.EROFS,
                      errno.EAGAIN, errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNREFUSED,
                      errno.ENETUNREACH, errno.EHOSTUNREACH}
_ENVIRONMENT_TYPES = {"OutOfMemoryError", "KilledWorker", "BrokenProcessPool", "CommClosedError",
                      "CancelledError", "WorkerDied", "AcceleratorError"}
_ENVIRONMENT_TEXT = ("CUDA out of memory", "CUDA error", "out of memory", "No space left on device",
                     "Disk quota exceeded", "Read-only file system")
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's tofile on a full disk


def failure_kind(exc: BaseException) -> str:
    """``"environment"`` or ``"input"`` for an exception that ended a job.

    Examples
    --------
    >>> import errno
    >>> failure_kind(OSError(errno.ENOSPC, "No space left on device")), failure_kind(ValueError("bad"))
    ('environment', 'input')
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (EnvironmentFailure, MemoryError, KeyboardInterrupt, ConnectionError,
                            TimeoutError)):
            return "environment"
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            return "environment"
        if type(exc).__name__ in _ENVIRONMENT_TYPES:
            return "environment"
        if isinstance(exc, (RuntimeError, OSError)) and any(t in str(exc) for t in _ENVIRONMENT_TEXT):
            return "environment"  # e.g. Arrow's OSError without an errno, torch's CUDA errors
        if isinstance(exc, OSError) and _SHORT_WRITE.search(str(exc)):
            return "environment"
        exc = exc.__cause__ or exc.__context__
    return "input"
