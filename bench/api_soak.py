"""A bounded soak of the severity API: a minute of paced, mixed traffic; statuses, latency, workers' memory, audit.

Starts ``python -m core serve`` (2 workers by default) on loopback with its own
key and audit log, then sends requests at a fixed pace (open loop: request
``i`` leaves at ``i / rate`` whatever the server did with the previous ones,
over a pool of keep-alive connections, :mod:`http_load`): about 70 % valid
single incidents of 2020, 10 % batches of 20, and 20 % requests the API must
refuse (bad JSON, an unknown code, an unknown field, no key, a wrong key, a
batch of 1,001). Prints the answers by status and by kind, the achieved rate,
latency from the scheduled send time, each worker's resident memory every
5 s and its growth after the warm-up, and checks that the audit log has one
line per request (``/healthz``, probed beside the traffic, is not audited).
The naive baseline here is the plan itself: each kind's expected status and
the rate asked, printed beside what was seen.

Run: ``.venv/bin/python bench/api_soak.py [--seconds 60] [--rate 200] [--workers 2]``.
Exits 1 on any 5xx, a failed connection, a status other than the kind's
expected one, or an audit log that does not match the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Final

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_load import (  # noqa: E402
    WRONG_KEY,
    ApiServer,
    Connection,
    Tally,
    cpu_seconds,
    http_request,
    machine_busy_seconds,
    open_loop,
    rss_mib,
    run,
)

from core import store  # noqa: E402
from core.features.training import year_incidents  # noqa: E402

YEAR = 2020
#: Each kind of request: its share of the traffic (%) and the status the API must answer.
KINDS: Final = {
    "single": (70, 200),
    "batch_20": (10, 200),
    "bad_json": (4, 422),
    "unknown_code": (3, 422),
    "unknown_field": (3, 422),
    "no_key": (3, 401),
    "wrong_key": (3, 401),
    "batch_1001": (4, 422),
}
SMALL_BATCH = 20
#: An answer slower than this (seconds) is listed by the second it was sent in.
SLOW = 0.1
CONNECTIONS = 16
SAMPLE_EVERY = 5.0
#: The memory sample growth is measured from (after the warm-up), and the growth still called flat.
GROWTH_FROM = 10.0
FLAT = 0.05


def requests_by_kind(incidents: list[dict], key: str) -> dict[str, list[bytes]]:
    """A few distinct requests of each kind, encoded once (the traffic cycles through them)."""
    single, batch = "/v1/severity", "/v1/severity/batch"
    sample = incidents[:2000]

    def post(path: str, document: object, token: str | None = key) -> bytes:
        return http_request("POST", path, body=orjson.dumps(document), key=token)

    return {
        "single": [post(single, incident) for incident in sample],
        "batch_20": [post(batch, {"incidents": sample[i:i + SMALL_BATCH]}) for i in range(0, 2000, SMALL_BATCH)],
        "bad_json": [http_request("POST", single, body=orjson.dumps(incident)[:-7], key=key)
                     for incident in sample[:50]],
        "unknown_code": [post(single, {**incident, "atm": 42}) for incident in sample[:50]],
        "unknown_field": [post(single, {**incident, "couleur": "rouge"}) for incident in sample[:50]],
        "no_key": [post(single, incident, None) for incident in sample[:50]],
        "wrong_key": [post(single, incident, WRONG_KEY) for incident in sample[:50]],
        "batch_1001": [post(batch, {"incidents": incidents[:1001]})],
    }


def traffic(requests: dict[str, list[bytes]], total: int) -> list[tuple[str, bytes]]:
    """The ``total`` requests in the order they are sent, kinds drawn by their shares (seeded)."""
    rng = random.Random(11)
    kinds = rng.choices(list(KINDS), weights=[share for share, _ in KINDS.values()], k=total)
    seen: Counter[str] = Counter()
    plan = []
    for kind in kinds:
        plan.append((kind, requests[kind][seen[kind] % len(requests[kind])]))
        seen[kind] += 1
    return plan


async def sample_memory(server: ApiServer, seconds: float) -> tuple[list[tuple[float, list[float]]], int]:
    """Each worker's RSS (MiB) every :data:`SAMPLE_EVERY` s, and how many ``/healthz`` probes answered 200."""
    pids = server.worker_pids()
    samples, healthy = [], 0
    start = time.perf_counter()
    for index in range(int(seconds // SAMPLE_EVERY) + 1):
        await asyncio.sleep(max(0.0, start + index * SAMPLE_EVERY - time.perf_counter()))
        samples.append((time.perf_counter() - start, [rss_mib(pid) for pid in pids]))
        probe = Connection(server.port)  # a new one each time: the server closes one idle for 5 s
        try:
            status, _ = await probe.exchange(http_request("GET", "/healthz"))
        finally:
            probe.close()
        healthy += status == 200
    return samples, healthy


async def soak(server: ApiServer, plan: list[tuple[str, bytes]], *, rate: float,
               seconds: float) -> tuple[dict[str, Tally], float, list[tuple[float, list[float]]], int]:
    """Send the plan at ``rate`` while sampling memory; the tallies, seconds taken, samples and probes."""
    memory = asyncio.create_task(sample_memory(server, seconds))
    tallies, elapsed = await open_loop(server.port, plan.__getitem__, rate=rate, seconds=seconds,
                                       connections=CONNECTIONS)
    samples, healthy = await memory
    return tallies, elapsed, samples, healthy


def print_traffic(tallies: dict[str, Tally], elapsed: float, rate: float) -> tuple[Counter[int], int]:
    """Answers by kind and status; returns the statuses of all and the answers unlike the kind's expected one."""
    everything, unexpected, failures = Tally(), 0, Counter()
    print(f"{'kind':<15}{'sent':>7}{'expected':>10}  {'seen':<26}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, (_, expected) in KINDS.items():
        tally = tallies.get(kind, Tally())
        everything.latencies += tally.latencies
        everything.statuses += tally.statuses
        everything.sent_at += tally.sent_at
        failures += tally.failures
        unexpected += sum(count for status, count in tally.statuses.items() if status != expected)
        seen = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
        print(f"{kind:<15}{len(tally.latencies) + sum(tally.failures.values()):>7}{expected:>10}  {seen:<26}"
              f"{tally.percentile_ms(50):>9.2f}{tally.percentile_ms(99):>9.2f}")
    answered = len(everything.latencies)
    print(f"requests sent {answered + sum(failures.values()):,}, answered {answered:,} in {elapsed:.1f} s: "
          f"{answered / elapsed:.1f}/s achieved for {rate:g}/s asked; latency from the scheduled send: "
          f"p50 {everything.percentile_ms(50):.2f} ms, p99 {everything.percentile_ms(99):.2f} ms")
    print_slow(everything)
    fives = sum(count for status, count in everything.statuses.items() if status >= 500)
    print(f"by status: {dict(sorted(everything.statuses.items()))}; 5xx: {fives} (must be 0); "
          f"failed connections: {dict(failures) or 0}; answers unlike the kind's expected status: {unexpected}")
    return everything.statuses, unexpected + sum(failures.values())


def print_slow(tally: Tally) -> None:
    """How many answers took over :data:`SLOW` s, and in which seconds of the run they were sent."""
    slow = sorted(round(at) for at, seconds in zip(tally.sent_at, tally.latencies, strict=True) if seconds > SLOW)
    where = ", ".join(f"{second} s: {count}" for second, count in sorted(Counter(slow).items())[:12])
    print(f"answers slower than {SLOW * 1e3:g} ms: {len(slow):,} of {len(tally.latencies):,}"
          + (f"; sent at (s from the start: count) {where}" if slow else ""))


def print_memory(samples: list[tuple[float, list[float]]], pids: list[int]) -> None:
    """The samples, and each worker's growth from the sample at :data:`GROWTH_FROM` s to the last."""
    print("resident memory (VmRSS, MiB) of each worker:")
    print("     t s " + "".join(f"{'pid ' + str(pid):>14}" for pid in pids))
    for at, values in samples:
        print(f"  {at:6.1f} " + "".join(f"{value:>14.1f}" for value in values))
    base = next((values for at, values in samples if at >= GROWTH_FROM - 0.5), samples[0][1])
    growth = [(last - first) / first for first, last in zip(base, samples[-1][1], strict=True)]
    words = ", ".join(f"pid {pid} {share:+.1%}" for pid, share in zip(pids, growth, strict=True))
    flat = all(abs(share) < FLAT for share in growth)
    print(f"growth from {GROWTH_FROM:g} s to the end: {words}: "
          f"{'flat' if flat else 'NOT flat'} (flat = under {FLAT:.0%})")


def check_audit(server: ApiServer, statuses: Counter[int], probes: int) -> bool:
    """True when the audit log holds one line per request sent, with the same statuses."""
    lines = server.audit_lines()
    audited = Counter(orjson.loads(line)["status"] for line in lines)
    same = audited == statuses
    print(f"audit log: {len(lines):,} lines for {sum(statuses.values()):,} requests to /v1 "
          f"(plus {probes} /healthz probes, not audited); statuses "
          f"{'identical' if same else 'DIFFERENT: ' + str(dict(sorted(audited.items())))}")
    return same


def print_cpu(before: tuple[float, list[float], float], pids: list[int], elapsed: float) -> None:
    """Cores used over the run by each worker, this client and the machine's other processes."""
    machine, workers, client = before
    worker_cores = [(cpu_seconds([pid]) - spent) / elapsed for pid, spent in zip(pids, workers, strict=True)]
    client_cores = (time.process_time() - client) / elapsed
    others = (machine_busy_seconds() - machine) / elapsed - sum(worker_cores) - client_cores
    print(f"CPU over the run (cores of 2): workers {' + '.join(f'{cores:.2f}' for cores in worker_cores)}, "
          f"client {client_cores:.2f}, the machine's other processes {max(0.0, others):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    args = parser.parse_args(argv)
    con = store.connect()
    try:
        incidents = year_incidents(con, YEAR)
    finally:
        con.close()
    with ApiServer(workers=args.workers) as server:
        pids = server.worker_pids()
        plan = traffic(requests_by_kind(incidents, server.key), round(args.rate * args.seconds))
        print(f"soak: {args.workers} worker(s) (pids {pids}) on port {server.port}, {args.rate:g} requests/s "
              f"for {args.seconds:g} s over {CONNECTIONS} keep-alive connections; shares "
              + ", ".join(f"{kind} {share} %" for kind, (share, _) in KINDS.items()), flush=True)
        before = machine_busy_seconds(), [cpu_seconds([pid]) for pid in pids], time.process_time()
        tallies, elapsed, samples, probes = run(soak(server, plan, rate=args.rate, seconds=args.seconds))
        print_cpu(before, pids, elapsed)
        time.sleep(1.0)  # the last audit lines are written just after their answers
        statuses, wrong = print_traffic(tallies, elapsed, args.rate)
        print_memory(samples, pids)
        audit_ok = check_audit(server, statuses, probes)
    fives = sum(count for status, count in statuses.items() if status >= 500)
    ok = fives == 0 and wrong == 0 and audit_ok and probes == len(samples)
    print("soak passed" if ok else "SOAK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
