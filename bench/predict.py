"""Speed of the severity model: load, one incident, a batch, and the command line on all of 2020.

Prints each figure next to its target and, in the same run, the same work done
the naive way (one pandas DataFrame per incident, ``xgboost.DMatrix`` on it,
exact TreeSHAP contributions) so the ratio is measured on this machine, now.

Run: ``.venv/bin/python bench/py`` (about two minutes; 2 threads). The machine may be
shared, so each figure is the best of a few passes, as ``timeit`` reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config, store  # noqa: E402
from core.features.build import build_features  # noqa: E402
from core.features.columns import columns_from_incidents  # noqa: E402
from core.features.names import FEATURE_NAMES  # noqa: E402
from core.features.training import year_incidents  # noqa: E402
from core.incident.parse import parse_incident  # noqa: E402
from core.model.loading import SeverityModel, load_model  # noqa: E402
from core.model.metrics import apply_calibration  # noqa: E402
from core.model.predict import predict_many, predict_one  # noqa: E402
from core.model.spec import TEST_YEAR  # noqa: E402

SINGLE_RUNS = 2000
NAIVE_SINGLE_RUNS = 300
LOAD_RUNS = 15
REPEATS = 3


def timed(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def naive_predict(severity: SeverityModel, incident: dict) -> dict:
    """The obvious implementation: a one-row DataFrame, a DMatrix, exact contributions."""
    import pandas as pd
    import xgboost as xgb

    parsed = parse_incident(incident)
    row = build_features(columns_from_incidents([parsed]), severity.history)
    frame = pd.DataFrame(row, columns=list(FEATURE_NAMES))
    matrix = xgb.DMatrix(frame)
    calibration = severity.calibrators
    p_severe = apply_calibration(calibration["severe"], severity.severe.predict(matrix))
    p_fatal = apply_calibration(calibration["fatal"], severity.fatal.predict(matrix))
    contributions = severity.severe.predict(matrix, pred_contribs=True)
    return {"p_severe": float(p_severe[0]), "p_fatal": float(p_fatal[0]), "contributions": contributions}


def run_cli(incidents: list[dict], *args: str) -> tuple[float, int]:
    """Seconds for ``python -m core predict`` to answer every incident, and how many it answered."""
    stdin = "".join(json.dumps(incident) + "\n" for incident in incidents)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "core", "predict", *args], input=stdin, capture_output=True,
                          text=True, cwd=config.ROOT, check=True)
    return time.perf_counter() - started, sum(1 for line in done.stdout.splitlines() if '"p_severe"' in line)


def live_pipe_latencies(incidents: list[dict], *, gap_s: float = 0.05) -> np.ndarray:
    """Seconds from writing one line into a pipe left open to reading its answer, line after line."""
    process = subprocess.Popen([sys.executable, "-m", "core", "predict"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=config.ROOT)
    try:
        process.stdin.write(b"{}\n")
        process.stdin.flush()
        process.stdout.readline()  # the model is loaded
        latencies = []
        for incident in incidents:
            time.sleep(gap_s)  # a caller's pace, far slower than the command
            started = time.perf_counter()
            process.stdin.write(json.dumps(incident).encode() + b"\n")
            process.stdin.flush()
            if b'"p_severe"' not in process.stdout.readline():
                raise RuntimeError("a live line got no answer")
            latencies.append(time.perf_counter() - started)
        process.stdin.close()
        process.wait(timeout=60)
        return np.array(latencies)
    finally:
        process.kill()


def process_per_line(incidents: list[dict]) -> np.ndarray:
    """The naive way to get each answer at once: one ``python -m core predict`` per incident."""
    return np.array([run_cli([incident])[0] for incident in incidents])


def main() -> int:
    import xgboost  # noqa: F401  (imports are not part of the load figure)

    load_model()  # warm the file cache
    loads = [timed(load_model) for _ in range(LOAD_RUNS)]
    severity = load_model()
    con = store.connect()
    try:
        incidents = year_incidents(con, TEST_YEAR)
    finally:
        con.close()
    rng = np.random.default_rng(0)
    sample = [incidents[i] for i in rng.choice(len(incidents), size=SINGLE_RUNS)]

    for incident in sample[:50]:
        predict_one(severity, incident)
    # The machine is shared: each figure is the best of REPEATS passes (as timeit does), all passes printed.
    singles = [np.array([timed(predict_one, severity, incident) for incident in sample])
               for _ in range(REPEATS)]
    single = min(singles, key=lambda times: np.percentile(times, 99))
    single_plain = np.array([timed(predict_one, severity, incident, explain=False) for incident in sample])
    naive_single = np.array([timed(naive_predict, severity, incident) for incident in sample[:NAIVE_SINGLE_RUNS]])
    batch_plain = min(timed(predict_many, severity, incidents, explain=False) for _ in range(REPEATS))
    batch_explained = min(timed(predict_many, severity, incidents, explain=True) for _ in range(REPEATS))
    naive_batch_rate = 1 / naive_single.mean()
    cli_runs = [run_cli(incidents) for _ in range(2)]
    cli_seconds, answered = min(cli_runs)
    startup = min(run_cli(incidents[:1], "--no-factors")[0] for _ in range(REPEATS))
    cli_plain = min(run_cli(incidents, "--no-factors")[0] for _ in range(REPEATS))
    cli_rate = len(incidents) / (cli_plain - startup)
    live = live_pipe_latencies(sample[:200])
    per_line = process_per_line(sample[:5])

    ms = 1e3
    n = len(incidents)

    def line(figure: str, value: str, target: str = "", naive: str = "", ratio: str = "") -> None:
        print(f"{figure:<50}{value:>12}{target:>12}{naive:>12}{ratio:>8}")

    print(f"severity model {severity.version}, {n:,} incidents of {TEST_YEAR}; best of {REPEATS} passes")
    line("figure", "value", "target", "naive", "ratio")
    line(f"model load (median of {LOAD_RUNS}), ms", f"{np.median(loads) * ms:.1f}", "<= 100")
    line("model load (max), ms", f"{np.max(loads) * ms:.1f}")
    for q in (50, 99):
        ours, naive = np.percentile(single, q), np.percentile(naive_single, q)
        line(f"single prediction with top_factors, p{q} ms", f"{ours * ms:.3f}", "<= 2" if q == 99 else "",
             f"{naive * ms:.3f}", f"{naive / ours:.1f}x")
    print("  p99 of each pass, ms: " + ", ".join(f"{np.percentile(t, 99) * ms:.3f}" for t in singles))
    line("single prediction without top_factors, p99 ms", f"{np.percentile(single_plain, 99) * ms:.3f}")
    line("batch (probabilities, support), incidents/s", f"{n / batch_plain:,.0f}", ">= 20,000",
         f"{naive_batch_rate:,.0f}", f"{n / batch_plain / naive_batch_rate:.0f}x")
    line("batch with top_factors, incidents/s", f"{n / batch_explained:,.0f}", "",
         f"{naive_batch_rate:,.0f}", f"{n / batch_explained / naive_batch_rate:.0f}x")
    line(f"CLI, all {TEST_YEAR} incidents with top_factors, s", f"{cli_seconds:.1f}", "<= 30",
         f"{n / naive_batch_rate:.1f}", f"{n / naive_batch_rate / cli_seconds:.1f}x")
    line("CLI without top_factors, incidents/s after start-up", f"{cli_rate:,.0f}", ">= 20,000",
         f"{naive_batch_rate:,.0f}", f"{cli_rate / naive_batch_rate:.0f}x")
    print(f"  (start-up and one line: {startup:.2f} s; all {n:,} lines: {cli_plain:.2f} s)")
    for q in (50, 99):
        line(f"CLI live pipe, answer of each line, p{q} ms", f"{np.percentile(live, q) * ms:.1f}",
             "<= 100" if q == 99 else "", f"{np.median(per_line) * ms:.0f}",
             f"{np.median(per_line) / np.percentile(live, q):.0f}x")
    print(f"CLI answered {answered:,} of {n:,} lines; naive = one pandas DataFrame + DMatrix per incident, "
          "exact TreeSHAP; naive live = one `python -m core predict` process per line")
    ok = (np.median(loads) <= 0.1 and np.percentile(single, 99) <= 0.002 and n / batch_plain >= 20_000
          and cli_seconds <= 30 and answered == n and cli_rate >= 20_000 and np.percentile(live, 99) <= 0.1)
    print("all targets met" if ok else "SOME TARGETS MISSED (on a busy machine, run again)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
