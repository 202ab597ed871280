"""A cheap HTTP/1.1 load client and a real API server for the API benches (``api.py``, ``api_soak.py``).

Why a module of its own
-----------------------
The load client shares the machine's two cores with the uvicorn workers it
measures, so it must cost as little CPU as possible: raw asyncio sockets,
request bytes written once in advance, and a response read as its status line,
its headers up to ``Content-Length`` and exactly that many body bytes (no
httpx, no requests, no header objects). Both API benches also start the same
server the same way (``python -m core serve`` in a temporary folder with its
own key and audit log, then ``/readyz``) and stop it whole; that is written
once here. Not a benchmark itself: ``make bench`` runs it and it does nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

ROOT: Final = Path(__file__).resolve().parent.parent
#: The ports the benches may listen on (shared machine: keep away from the app's).
PORTS: Final = range(8100, 8200)
#: Seconds the server has to load its model and answer ``/readyz`` with 200.
READY_TIMEOUT: Final = 90.0
#: Seconds the server has to stop after SIGTERM before its process group is killed.
STOP_TIMEOUT: Final = 20.0
#: A key that has the right shape but is in no key file (the server must answer 401).
WRONG_KEY: Final = "grv_00000000_" + "x" * 43


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on uvloop when it is installed (cheaper per request), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def http_request(method: str, path: str, *, body: bytes = b"", key: str | None = None,
                 host: str = "127.0.0.1") -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request, built once and sent as many times as needed.

    Examples
    --------
    >>> http_request("GET", "/healthz")
    b'GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 0\\r\\n\\r\\n'
    >>> http_request("POST", "/v1/severity", body=b"{}", key="k").split(b"\\r\\n")[2:4]
    [b'Authorization: Bearer k', b'Content-Type: application/json']
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    if body:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """Status, ``Content-Length`` (None when absent) and whether the server keeps the connection open.

    Examples
    --------
    >>> parse_head(b"HTTP/1.1 422 Unprocessable Content\\r\\ncontent-length: 12\\r\\n\\r\\n")
    (422, 12, True)
    >>> parse_head(b"HTTP/1.1 503 Service Unavailable\\r\\nConnection: close\\r\\n\\r\\n")
    (503, None, False)
    """
    status_line, *header_lines = head.rstrip(b"\r\n").split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, keep = None, True
    for line in header_lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    return status, length, keep


class Connection:
    """One keep-alive connection that sends a request and reads its whole answer; reopens when closed."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self._reader, self._writer

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request`` and return the answer's status and body."""
        reader, writer = await self._open()
        writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, keep = parse_head(head)
            body = await reader.readexactly(length) if length is not None else await reader.read()
        except BaseException:
            self.close()
            raise
        if not keep or length is None:
            self.close()
        return status, body

    def close(self) -> None:
        """Close the socket (the next exchange opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass
class Tally:
    """What one kind of request got: latencies (seconds), statuses, bodies a check refused, failed exchanges.

    ``sent_at`` holds, when the caller gives it, each request's send time in
    seconds from the start (to tell where slow answers fall).
    """

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    bad_bodies: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    sent_at: list[float] = field(default_factory=list)

    def add(self, status: int, seconds: float, sent_at: float | None = None) -> None:
        """Record one answer."""
        self.statuses[status] += 1
        self.latencies.append(seconds)
        if sent_at is not None:
            self.sent_at.append(sent_at)

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile of the latencies, in milliseconds (NaN with none)."""
        return float(np.percentile(self.latencies, q) * 1e3) if self.latencies else float("nan")

    @property
    def non_200(self) -> int:
        """Answers whose status was not 200."""
        return sum(count for status, count in self.statuses.items() if status != 200)


async def closed_loop(port: int, requests: Sequence[bytes], *, clients: int, seconds: float, warmup: float,
                      connect_gap: float = 0.0,
                      check: Callable[[bytes], bool] = lambda body: True) -> tuple[Tally, float]:
    """``clients`` keep-alive clients each sending the next of ``requests`` as soon as the last is answered.

    Client ``k`` starts ``k * connect_gap`` seconds after the first: connections
    opened all at once tend to be accepted by one uvicorn worker, and keep-alive
    keeps them there. Requests that start within ``warmup`` seconds are not
    counted; the clients stop sending ``warmup + seconds`` after the start.
    Returns the tally and the seconds of the measured window (throughput =
    answers counted / seconds).
    """
    tally = Tally()
    sent = 0
    start = time.perf_counter()
    counted_from, stop_at = start + warmup, start + warmup + seconds

    async def client(index: int) -> None:
        nonlocal sent
        await asyncio.sleep(index * connect_gap)
        connection = Connection(port)
        try:
            while (began := time.perf_counter()) < stop_at:
                request = requests[sent % len(requests)]
                sent += 1
                status, body = await connection.exchange(request)
                if began >= counted_from:
                    tally.add(status, time.perf_counter() - began)
                    if status == 200 and not check(body):
                        tally.bad_bodies += 1
        finally:
            connection.close()

    await asyncio.gather(*(client(index) for index in range(clients)))
    return tally, seconds


async def open_loop(port: int, pick: Callable[[int], tuple[str, bytes]], *, rate: float, seconds: float,
                    connections: int) -> tuple[dict[str, Tally], float]:
    """Send request ``i`` (kind and bytes from ``pick(i)``) at ``start + i / rate``, whatever came back before.

    Requests wait for a free connection of the ``connections`` open ones when all
    are busy; each latency runs from the scheduled send time, so a server that
    falls behind shows in the figures (no coordinated omission). Returns the
    tallies by kind and the seconds from the first send to the last answer.
    """
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(port))
    tallies: dict[str, Tally] = {}
    start = time.perf_counter()

    async def one(kind: str, request: bytes, scheduled: float) -> None:
        tally = tallies.setdefault(kind, Tally())
        connection = await pool.get()
        try:
            status, _ = await connection.exchange(request)
            tally.add(status, time.perf_counter() - scheduled, scheduled - start)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            tally.failures[type(error).__name__] += 1
            connection.close()
        finally:
            pool.put_nowait(connection)

    tasks = []
    for index in range(round(rate * seconds)):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*pick(index), scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return tallies, elapsed


def free_port() -> int:
    """The first port of :data:`PORTS` nobody listens on."""
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class ApiServer:
    """``python -m core serve`` with ``workers`` workers, its key file and audit log in a temporary folder.

    Use as a context manager: on entry a key (role operator, rate high enough
    never to be limited) is created and the server is started and waited for
    (``/readyz`` 200); on exit the server is stopped (SIGTERM, then its process
    group killed if it lingers) and the folder removed.
    """

    def __init__(self, *, workers: int, rate: float = 1e6) -> None:
        self.workers, self.rate = workers, rate
        self.folder = Path(tempfile.mkdtemp(prefix="gravite_bench_api_"))
        self.env = {**os.environ, "GRAVITE_API_KEYS_FILE": str(self.folder / "keys.json"),
                    "GRAVITE_API_AUDIT_FILE": str(self.folder / "audit.jsonl")}
        self.port = 0
        self.key = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ApiServer:
        try:
            self.key = self._create_key()
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _create_key(self) -> str:
        done = subprocess.run([_python(), "-m", "core", "keys", "create", "--name", "bench", "--role", "operator",
                               "--rate", f"{self.rate:g}"], env=self.env, cwd=ROOT, capture_output=True, text=True,
                              check=True)
        return done.stdout.strip().splitlines()[-1].strip()

    def _start(self) -> None:
        self.port = free_port()
        log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen(
            [_python(), "-m", "core", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped (code {self.process.returncode}):\n{self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready after {READY_TIMEOUT:g} s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        async def probe() -> int:
            connection = Connection(self.port)
            try:
                return (await connection.exchange(http_request("GET", "/readyz")))[0]
            finally:
                connection.close()

        try:
            return run(probe()) == 200
        except (OSError, asyncio.IncompleteReadError):
            return False

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed."""
        path = self.folder / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: uvicorn's children with several workers, the server itself with one."""
        if self.process is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in children(self.process.pid) if b"resource_tracker" not in _cmdline(pid)]

    def audit_lines(self) -> list[bytes]:
        """Every line of the audit log and its rotated copies."""
        return [line for path in sorted(self.folder.glob("audit.jsonl*")) if not path.name.endswith(".lock")
                for line in path.read_bytes().splitlines() if line]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL to its process group) and remove the folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process is not None:
            try:  # a worker left behind by its supervisor is still in the group the server led
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def children(parent: int) -> list[int]:
    """The pids whose parent is ``parent`` (read from ``/proc/*/stat``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == parent:
                found.append(int(entry.name))
    return sorted(found)


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (``VmRSS`` of ``/proc/PID/status``), NaN once it is gone."""
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return float("nan")
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), None)
    return int(line.split()[1]) / 1024 if line else float("nan")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU seconds spent so far by ``pids`` (``/proc/PID/stat``; a pid gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            stat = (Path("/proc") / str(pid) / "stat").read_bytes()
        except OSError:
            continue
        fields_after_name = stat[stat.rindex(b")") + 2:].split()
        total += int(fields_after_name[11]) + int(fields_after_name[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``: all but idle and iowait)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
