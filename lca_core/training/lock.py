"""One process per run directory: an exclusive lock on ``RUN_DIR/.lock``, held for the whole run.

Two processes training into one run directory would interleave their log rows and overwrite each
other's checkpoints. The lock is a ``flock`` on ``.lock``: the kernel drops it when its process dies, however it
dies, so a lock left by a killed process is never in the way. The file names its holder (PID, host,
start time) for the message a second process prints, and it stays after the run: finding a holder
there that no longer holds the lock is how a stale lock is detected and reported as taken over.

flock does not work across machines on every network filesystem; two machines sharing one run
directory over NFS are not protected (docs/reliability.md).
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from lca_core.api.errors import ConfigError, ConfigProblem

LOCK_FILE = ".lock"
#: set for the processes a ``lca-run --nproc`` launcher starts: the launcher holds the lock for them
HELD_ENV = "LCA_RUN_DIR_LOCKED"


class RunDirLock:
    """The exclusive lock of one run directory; `acquire` raises a ConfigError (exit 2) when another process holds it."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None
        self._holder: dict[str, Any] = {}
        #: the holder recorded by a process that died without releasing (None: none found)
        self.stale: dict[str, Any] | None = None

    def acquire(self) -> "RunDirLock":
        if os.environ.get(HELD_ENV) == str(self.run_dir.resolve()):
            return self  # our launcher holds it
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise ConfigError([ConfigProblem("run.dir", self._held_message(read_holder(self.path)))]) from None
        previous = read_holder(self.path)
        if previous and previous.get("state") == "running":
            self.stale = previous
        self._holder = _me("running")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self._holder).encode() + b"\n", 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            holder = {**self._holder, "state": "finished"}
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(holder).encode() + b"\n", 0)
        except OSError:  # a full disk must not hide the run's own outcome; the flock goes with the fd anyway
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunDirLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def stale_message(self) -> str | None:
        """One line about a lock taken over from a process that died holding it, or None."""
        if self.stale is None:
            return None
        return (f"{self.path}: took over the lock of lca-run PID {self.stale.get('pid')} on "
                f"{self.stale.get('host')} (started {self.stale.get('started')}), which ended without releasing it "
                "(killed?); its run is resumed from the latest complete checkpoint")

    def _held_message(self, holder: dict[str, Any] | None) -> str:
        who = (f"lca-run PID {holder.get('pid')} on host {holder.get('host')} (started {holder.get('started')})"
               if holder else "another process")
        return (f"the run directory {self.run_dir} is in use by {who}; two runs in one directory would "
                "overwrite each other's logs and checkpoints. Wait for it to end or stop it, or train into "
                "another directory (run.name=... or run.dir=...)")


def read_holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _me(state: str) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "state": state,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
