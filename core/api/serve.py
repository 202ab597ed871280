"""``python -m core serve``: the API on uvicorn, one or several workers, with a development key if none exists.

Why a module of its own
-----------------------
The settings reach each worker through the environment
(:meth:`core.api.settings.ApiSettings.to_env`), and several workers share
their metrics through a fresh ``PROMETHEUS_MULTIPROC_DIR``; both must be set
before the workers start, here.

Several workers are started here rather than by uvicorn's ``--workers``:
uvicorn's workers share one listening socket, and the first awake worker
accepts every connection that arrives at once, so a dispatch system's few
keep-alive connections all land on one worker while the other idles (seen in
``bench/api.py``: 0.98 and 0.00 cores). Here each worker opens its own socket
on the port with ``SO_REUSEPORT``, and the kernel spreads the connections
over them. The supervisor restarts a worker that dies (backing off, and
giving up when workers keep dying at start-up) and stops them all on SIGINT
or SIGTERM; a worker dies with its supervisor, even one killed by SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Final

from core.api.keys import create_key, read_keys
from core.api.settings import ApiSettings

if TYPE_CHECKING:
    import uvicorn

#: Name of the key ``make api`` creates when there is none.
DEV_KEY_NAME: Final = "dev"
#: Seconds an idle keep-alive connection stays open, and a worker has to finish its requests at shutdown.
KEEP_ALIVE: Final = 5
GRACEFUL: Final = 10
#: Connections served at once by one worker; beyond, uvicorn answers 503 at once instead of queueing.
MAX_CONNECTIONS: Final = 512
#: Connections waiting to be accepted, per worker.
BACKLOG: Final = 2048
#: A worker dying within this many seconds of the previous death counts as a quick death; after GIVE_UP of
#: them in a row the supervisor stops instead of restarting a worker that cannot start.
QUICK_DEATH: Final = 60.0
GIVE_UP: Final = 5
_PR_SET_PDEATHSIG: Final = 1
_APP: Final = "core.api.app:create_app"


def development_key(settings: ApiSettings) -> str | None:
    """Create an admin key named ``dev`` when no key exists at all, and return it (else None)."""
    if read_keys(settings.keys_file):
        return None
    return create_key(settings.keys_file, DEV_KEY_NAME, "admin")


def serve(settings: ApiSettings, *, host: str, port: int, workers: int, dev_key: bool) -> None:
    """Run the API until interrupted.

    Raises
    ------
    KeyFileError
        When the keys file cannot be read (checked before any worker starts).
    OSError
        When the port is already taken, by another program or another ``serve``.
    """
    read_keys(settings.keys_file)  # a broken keys file is said here, once, not by workers restarting
    if dev_key:
        key = development_key(settings)
        if key is not None:
            print(f"Clé de développement (rôle admin), affichée une seule fois :\n  {key}\n"
                  f"Pour la production, créez des clés nommées (python -m core keys create) et révoquez "
                  f"celle-ci (python -m core keys revoke {DEV_KEY_NAME}).", file=sys.stderr, flush=True)
    os.environ.update(settings.to_env())
    if workers <= 1:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        import uvicorn

        uvicorn.Server(_uvicorn_config(host, port)).run()
        return
    _probe(host, port)
    shared = settings.audit_file.parent / f"metrics-{port}"
    shutil.rmtree(shared, ignore_errors=True)
    shared.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    print(f"API Gravité sur http://{host}:{port} : {workers} processus (SO_REUSEPORT)", file=sys.stderr, flush=True)
    supervise(host, port, workers)


def _uvicorn_config(host: str, port: int) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(_APP, factory=True, host=host, port=port, timeout_keep_alive=KEEP_ALIVE,
                          timeout_graceful_shutdown=GRACEFUL, limit_concurrency=MAX_CONNECTIONS, backlog=BACKLOG,
                          access_log=False, server_header=False, proxy_headers=False)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _probe(host: str, port: int) -> None:
    """Raise OSError when anything holds the port: bound without SO_REUSEPORT, so another serve is seen too."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _die_with_parent() -> None:
    """Ask Linux to stop this worker when its supervisor dies, even by SIGKILL (no orphan keeps the port)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker(host: str, port: int) -> None:
    """One worker: its own socket on the shared port, and uvicorn on it (it handles SIGINT and SIGTERM)."""
    import uvicorn

    _die_with_parent()
    if os.getppid() == 1:  # the supervisor died before the request above took effect
        return
    sock = _listening_socket(host, port)
    uvicorn.Server(_uvicorn_config(host, port)).run(sockets=[sock])


class _Restarts:
    """When to restart a dead worker: at once, then waiting twice as long after each quick death (up to 30 s).

    Examples
    --------
    >>> restarts = _Restarts()
    >>> [restarts.delay(now) for now in (0.0, 1.0, 2.0, 3.0)]
    [0.0, 1.0, 2.0, 4.0]
    >>> restarts.delay(1000.0)  # after a long healthy run, at once again
    0.0
    """

    def __init__(self) -> None:
        self.quick = 0  # deaths in a row, each within QUICK_DEATH seconds of the previous one
        self.last = float("-inf")

    def delay(self, now: float) -> float:
        """Seconds to wait before restarting a worker that died at ``now``."""
        self.quick = self.quick + 1 if now - self.last < QUICK_DEATH else 0
        self.last = now
        return 0.0 if self.quick == 0 else min(30.0, 2.0 ** (self.quick - 1))


def supervise(host: str, port: int, workers: int) -> None:
    """Start ``workers`` processes, restart any that dies (backing off), stop them all on SIGINT or SIGTERM.

    Gives up, stopping the others, after :data:`GIVE_UP` quick deaths in a row (a worker that cannot start).
    """
    supervisor = _Supervisor(host, port)
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    processes = [supervisor.start() for _ in range(workers)]
    while not supervisor.stopping:
        time.sleep(0.2)
        processes = [supervisor.replace(process) for process in processes]
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests under way
    for process in processes:
        process.join(GRACEFUL + 5)
        if process.is_alive():
            process.kill()
    if supervisor.restarts.quick >= GIVE_UP:
        raise SystemExit(3)


class _Supervisor:
    """Starts workers and replaces dead ones, until stopped or until workers keep dying."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.context = multiprocessing.get_context("spawn")
        self.restarts = _Restarts()
        self.stopping = False

    def stop(self, *_: object) -> None:
        """Signal handler: stop at the next turn of the loop."""
        self.stopping = True

    def start(self) -> multiprocessing.process.BaseProcess:
        """A new worker process, started."""
        process = self.context.Process(target=_worker, args=(self.host, self.port), name="gravite-api-worker")
        process.start()
        return process

    def replace(self, process: multiprocessing.process.BaseProcess) -> multiprocessing.process.BaseProcess:
        """``process`` if it lives (or the service stops), else a new one after the back-off."""
        if process.is_alive() or self.stopping:
            return process
        _forget(process.pid)
        wait = self.restarts.delay(time.monotonic())
        if self.restarts.quick >= GIVE_UP:
            print(f"processus {process.pid} arrêté (code {process.exitcode}) {GIVE_UP} fois de suite au "
                  "démarrage : arrêt du service (voir les erreurs ci-dessus)", file=sys.stderr, flush=True)
            self.stopping = True
            return process
        print(f"processus {process.pid} arrêté (code {process.exitcode}) : relancé dans {wait:g} s",
              file=sys.stderr, flush=True)
        time.sleep(wait)
        return self.start()


def _forget(pid: int | None) -> None:
    """Drop a dead worker's live gauges from the shared metrics."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid)
