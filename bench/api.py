"""Speed of the severity API over real HTTP: latency and throughput of singles and batches, 1 and 2 workers.

Starts ``python -m core serve`` on loopback (its own key and audit log in a
temporary folder), then for 1 and 2 workers and 1, 8 and 32 keep-alive clients
sends real incidents of 2020 one by one (``POST /v1/severity``) and by batches
of 1,000 (``POST /v1/severity/batch``), with the top factors (the API's
default) and without (``?factors=false``). The clients are raw asyncio
sockets (:mod:`http_load`) because they share the two cores with the server;
the CPU each worker, the client and the machine's other processes used is
printed (a busy machine shows there). Beside each figure: the same work in this
process without HTTP (``predict_many`` + ``machine_answer``, the naive
baseline) and the ratio HTTP / in-process.

Run: ``.venv/bin/python bench/api.py`` (about two and a half minutes). Exits 1
only on an error (a non-200 answer, a wrong body, a server that does not
start); aims missed are printed, not failed: the machine may be shared.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_load import (  # noqa: E402
    ApiServer,
    Tally,
    closed_loop,
    cpu_seconds,
    http_request,
    machine_busy_seconds,
    run,
)

from core import config, store  # noqa: E402
from core.api.service import Served, load_served  # noqa: E402
from core.dispatch.answer import machine_answer  # noqa: E402
from core.features.training import year_incidents  # noqa: E402
from core.model.predict import predict_many  # noqa: E402

YEAR = 2020
WORKERS = (1, 2)
CLIENTS = (1, 8, 32)
BATCH = 1000
#: The kinds of request: (single or batch, top factors asked).
KINDS = (("single", True), ("batch", True), ("single", False), ("batch", False))
#: Distinct requests prepared per kind (cycled through).
SINGLE_BODIES = 5000
BATCH_BODIES = 24
#: Seconds measured per cell, after warm-up seconds that are not counted.
SECONDS = {"single": 3.0, "batch": 4.0}
WARMUP = {"single": 0.5, "batch": 1.0}
#: Seconds between two clients' first connections (within the warm-up): see :func:`http_load.closed_loop`.
CONNECT_GAP = 0.01
INPROC_SINGLES = 2000
INPROC_BATCHES = 10
AIM_P99_MS, AIM_SINGLES, AIM_INCIDENTS = 10.0, 1500, 20_000
#: Cores used by the machine's other processes beyond which a verdict says the cell was disturbed.
BUSY = 0.25


@dataclass(frozen=True)
class Cell:
    """One measured cell: clients, answers, window seconds, CPU cores used by each worker, the client and others."""

    clients: int
    tally: Tally
    seconds: float
    server_cores: tuple[float, ...]
    client_cores: float
    other_cores: float

    @property
    def per_s(self) -> float:
        """Requests answered per second."""
        return len(self.tally.latencies) / self.seconds


def single_ok(body: bytes) -> bool:
    """A single answer carries its probability."""
    return body.startswith(b'{"p_severe"')


def batch_ok(body: bytes) -> bool:
    """A batch answer refused none of the 1,000 real incidents."""
    return body.rstrip().endswith(b'"counts":{"predicted":1000,"refused":0}}')


def in_process(served: Served, incidents: list[dict], *, factors: bool) -> dict[str, float]:
    """Seconds per single (p50, p99, mean) and incidents per second by batches, without HTTP."""

    def answer(values: list[dict]) -> list[dict]:
        return [machine_answer(result, served.thresholds)
                for result in predict_many(served.model, values, explain=factors)]

    for incident in incidents[:50]:
        answer([incident])
    singles = []
    for incident in incidents[:INPROC_SINGLES]:
        started = time.perf_counter()
        answer([incident])
        singles.append(time.perf_counter() - started)
    batches = []
    for index in range(INPROC_BATCHES):
        chunk = incidents[index * BATCH:(index + 1) * BATCH]
        started = time.perf_counter()
        answer(chunk)
        batches.append(time.perf_counter() - started)
    return {"p50": float(np.percentile(singles, 50)), "p99": float(np.percentile(singles, 99)),
            "per_s": 1 / statistics.fmean(singles), "incidents_per_s": BATCH / statistics.median(batches)}


def requests_of(kind: str, factors: bool, incidents: list[dict], key: str) -> list[bytes]:
    """The requests of one kind, encoded once, cycling through the incidents."""
    query = "" if factors else "?factors=false"
    if kind == "single":
        return [http_request("POST", "/v1/severity" + query, body=orjson.dumps(incident), key=key)
                for incident in incidents[:SINGLE_BODIES]]
    starts = (index * BATCH % (len(incidents) - BATCH) for index in range(BATCH_BODIES))
    return [http_request("POST", "/v1/severity/batch" + query,
                         body=orjson.dumps({"incidents": incidents[start:start + BATCH]}), key=key)
            for start in starts]


def measure_cell(server: ApiServer, requests: list[bytes], kind: str, clients: int) -> Cell:
    """One kind of request at ``clients`` clients, with the CPU both sides used over the whole cell."""
    pids = server.worker_pids()
    machine_before, server_before = machine_busy_seconds(), [cpu_seconds([pid]) for pid in pids]
    client_before, wall_before = time.process_time(), time.perf_counter()
    check = single_ok if kind == "single" else batch_ok
    tally, seconds = run(closed_loop(server.port, requests, clients=clients, seconds=SECONDS[kind],
                                     warmup=WARMUP[kind], connect_gap=CONNECT_GAP, check=check))
    wall = time.perf_counter() - wall_before
    server_cores = tuple((cpu_seconds([pid]) - before) / wall for pid, before in zip(pids, server_before, strict=True))
    client_cores = (time.process_time() - client_before) / wall
    others = (machine_busy_seconds() - machine_before) / wall - sum(server_cores) - client_cores
    return Cell(clients, tally, seconds, server_cores, client_cores, max(0.0, others))


def measure(workers: int, incidents: list[dict]) -> dict[tuple[str, bool, int], Cell]:
    """Every cell (kind, factors, clients) of one server with ``workers`` workers."""
    cells = {}
    with ApiServer(workers=workers) as server:
        print(f"  {workers} worker(s): port {server.port}, worker pids {server.worker_pids()}, "
              f"load average before {os.getloadavg()[0]:.2f}", flush=True)
        for kind, factors in KINDS:
            requests = requests_of(kind, factors, incidents, server.key)
            for clients in CLIENTS:
                cells[kind, factors, clients] = measure_cell(server, requests, kind, clients)
    return cells


def line(*columns: str) -> None:
    widths = (30, 9, 9, 7, 9, 8, 11, 8, 8, 7, 7)
    print("".join(f"{text:>{width}}" if i else f"{text:<{width}}"
                  for i, (text, width) in enumerate(zip(columns, widths, strict=False))))


def print_cell(workers: int, key: tuple[str, bool, int], cell: Cell, base: dict[str, float]) -> None:
    """One row: latency, rate, errors, CPU, and the ratios HTTP / in-process."""
    kind, factors, clients = key
    ms = 1e3
    if kind == "single":
        incidents, work_ms, flow_ratio = "", base["p50"] * ms, cell.per_s / base["per_s"]
    else:
        incidents, work_ms = f"{cell.per_s * BATCH:,.0f}", BATCH / base["incidents_per_s"] * ms
        flow_ratio = cell.per_s * BATCH / base["incidents_per_s"]
    workers_cores = "+".join(f"{cores:.2f}" for cores in cell.server_cores)
    line(f"{workers}w {kind:<6} {'f' if factors else '-'} {clients:>2} cl. n={len(cell.tally.latencies)}",
         f"{cell.tally.percentile_ms(50):.2f}", f"{cell.tally.percentile_ms(99):.2f}", f"{cell.per_s:,.0f}",
         incidents, f"{cell.tally.non_200 + cell.tally.bad_bodies}", workers_cores,
         f"{cell.client_cores:.2f}", f"{cell.other_cores:.2f}", f"{cell.tally.percentile_ms(50) / work_ms:.1f}x",
         f"{flow_ratio:.2f}x")


def verdict(met: bool, cell: Cell) -> str:
    """"aim met" or "aim missed", saying so when other processes took CPU from the cell."""
    busy = f" (other processes used {cell.other_cores:.2f} cores)" if cell.other_cores > BUSY else ""
    return ("aim met" if met else "aim missed") + busy


def print_aims(results: dict[int, dict[tuple[str, bool, int], Cell]]) -> None:
    """Each worker count, with and without top factors, against the issue's aims."""
    print("\nagainst the aims of issue 11 (f = with top factors, the API's default; - = ?factors=false):")
    for workers, cells in results.items():
        for factors in (True, False):
            label = f"{workers} worker(s), {'f' if factors else '-'}:"
            at_8 = cells["single", factors, 8]
            p99 = at_8.tally.percentile_ms(99)
            single = max((cells["single", factors, clients] for clients in CLIENTS), key=lambda cell: cell.per_s)
            batch = max((cells["batch", factors, clients] for clients in CLIENTS), key=lambda cell: cell.per_s)
            print(f"  {label:<18} single p99 at 8 clients {p99:7.2f} ms (aim <= {AIM_P99_MS:g} ms): "
                  f"{verdict(p99 <= AIM_P99_MS, at_8)}")
            print(f"  {label:<18} singles {single.per_s:,.0f}/s at {single.clients} clients, the best "
                  f"(aim >= {AIM_SINGLES:,}/s): {verdict(single.per_s >= AIM_SINGLES, single)}")
            print(f"  {label:<18} batches {batch.per_s * BATCH:,.0f} incidents/s at {batch.clients} clients, the best "
                  f"(aim >= {AIM_INCIDENTS:,}/s): {verdict(batch.per_s * BATCH >= AIM_INCIDENTS, batch)}")


def print_baseline(bases: dict[bool, dict[str, float]]) -> None:
    for factors, base in bases.items():
        print(f"in-process, {'with' if factors else 'without'} top factors (predict_many + machine_answer, no HTTP): "
              f"single p50 {base['p50'] * 1e3:.2f} ms, p99 {base['p99'] * 1e3:.2f} ms, {base['per_s']:,.0f}/s; "
              f"batches of {BATCH:,}: {base['incidents_per_s']:,.0f} incidents/s")


def main() -> int:
    started = time.perf_counter()
    con = store.connect()
    try:
        incidents = year_incidents(con, YEAR)
    finally:
        con.close()
    served = load_served(config.MODELS_DIR)
    bases = {factors: in_process(served, incidents, factors=factors) for factors in (True, False)}
    print(f"severity API over HTTP/1.1 keep-alive on loopback ({os.cpu_count()} cores shared by server and "
          f"client), {len(incidents):,} real incidents of {YEAR} cycled; batches of {BATCH:,}")
    results = {workers: measure(workers, incidents) for workers in WORKERS}
    print_baseline(bases)
    line("cell (f = top factors)", "p50 ms", "p99 ms", "req/s", "incid./s", "non-200", "srv cpu", "cli cpu",
         "oth cpu", "p50 x", "rate x")
    for workers, cells in results.items():
        for key, cell in cells.items():
            print_cell(workers, key, cell, bases[key[1]])
    print("non-200 also counts 200 answers with a wrong body; cpu = cores used over the cell (of 2) by each server "
          "worker, the client\nand the machine's other processes; p50 x = HTTP p50 / in-process time of the same work; "
          "rate x = HTTP throughput / in-process")
    print_aims(results)
    errors = sum(cell.tally.non_200 + cell.tally.bad_bodies for cells in results.values() for cell in cells.values())
    print(f"\nnon-200 answers or wrong bodies: {errors} (must be 0); load average now {os.getloadavg()[0]:.2f}; "
          f"{time.perf_counter() - started:.0f} s in all")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
