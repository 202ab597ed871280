"""The temporary folder an ingest builds its store in, and the removal of dead runs' folders.

An ingest writes the new store into ``OUT/.ingest-PID-XXXX`` and swaps it in
when complete; a run killed before that leaves the folder behind (0.3 to 0.9 GB).
Each run holds an exclusive lock on a file inside its folder for as long as it
lives, and the operating system drops the lock when the process ends, however
it ends. So a later run removes every ``.ingest-*`` folder whose lock it can
take, and never the folder of a run still going. A folder seen before its lock
file exists is judged by the process id in its name.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = ".ingest-"
LOCK_FILE = "lock"
_PID = re.compile(r"^\.(?:ingest-|.+\.old-)(\d+)")


@contextmanager
def work_folder(out_dir: Path) -> Iterator[Path]:
    """Create and lock this run's folder in ``out_dir``; remove it on exit.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out, work_folder(Path(out)) as folder:
    ...     folder.name.startswith(f".ingest-{os.getpid()}-"), in_use(folder)
    (True, True)
    """
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=out_dir))
    lock = open(folder / LOCK_FILE, "wb")  # held open for the whole run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()


def remove_leftovers(out_dir: Path, store_name: str) -> list[Path]:
    """Remove the folders dead ingests left in ``out_dir``; return them.

    Besides ``.ingest-*`` work folders, a run killed in the middle of the swap
    leaves the previous store as ``.STORE.old-PID``: it is put back when no
    store is in place, removed otherwise.
    """
    out_dir = Path(out_dir)
    removed = []
    for folder in sorted(out_dir.glob(f"{PREFIX}*")):
        if folder.is_dir() and _remove_if_dead(folder):
            removed.append(folder)
    store = out_dir / store_name
    for old in sorted(out_dir.glob(f".{store_name}.old-*")):
        if not old.is_dir() or _pid_alive(_pid_of(old)):
            continue
        if store.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, store)
        removed.append(old)
    return removed


def in_use(folder: Path) -> bool:
    """Whether a live process holds ``folder`` (its lock, or before the lock its process id)."""
    try:
        handle = open(folder / LOCK_FILE, "rb")
    except FileNotFoundError:
        return _pid_alive(_pid_of(folder))
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _remove_if_dead(folder: Path) -> bool:
    if in_use(folder):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _pid_of(folder: Path) -> int | None:
    match = _PID.match(folder.name)
    return int(match.group(1)) if match else None


def _pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists (folders named before process ids were used count as dead)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
