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
over them. The supervisor restarts a worker that dies and stops them all on
SIGINT or SIGTERM.
"""

from __future__ import annotations

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
_APP: Final = "core.api.app:create_app"


def development_key(settings: ApiSettings) -> str | None:
    """Create an admin key named ``dev`` when no key exists at all, and return it (else None)."""
    if read_keys(settings.keys_file):
        return None
    return create_key(settings.keys_file, DEV_KEY_NAME, "admin")


def serve(settings: ApiSettings, *, host: str, port: int, workers: int, dev_key: bool) -> None:
    """Run the API until interrupted."""
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
    shared = settings.audit_file.parent / "metrics"
    shutil.rmtree(shared, ignore_errors=True)
    shared.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    _listening_socket(host, port).close()  # the port is free (or already ours): say so before forking
    print(f"API Gravité sur http://{host}:{port} : {workers} processus (SO_REUSEPORT)", file=sys.stderr, flush=True)
    supervise(host, port, workers)


def _uvicorn_config(host: str, port: int) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(_APP, factory=True, host=host, port=port, timeout_keep_alive=KEEP_ALIVE,
                          timeout_graceful_shutdown=GRACEFUL, limit_concurrency=MAX_CONNECTIONS, backlog=BACKLOG,
                          access_log=False, server_header=False, proxy_headers=False)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _worker(host: str, port: int) -> None:
    """One worker: its own socket on the shared port, and uvicorn on it (it handles SIGINT and SIGTERM)."""
    import uvicorn

    sock = _listening_socket(host, port)
    uvicorn.Server(_uvicorn_config(host, port)).run(sockets=[sock])


def supervise(host: str, port: int, workers: int) -> None:
    """Start ``workers`` processes, restart any that dies, stop them all on SIGINT or SIGTERM."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(host, port), name="gravite-api-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for number, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                print(f"processus {process.pid} arrêté (code {process.exitcode}) : relancé", file=sys.stderr,
                      flush=True)
                _forget(process.pid)
                processes[number] = start()
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests under way
    for process in processes:
        process.join(GRACEFUL + 5)
        if process.is_alive():
            process.kill()


def _forget(pid: int | None) -> None:
    """Drop a dead worker's live gauges from the shared metrics."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid)
