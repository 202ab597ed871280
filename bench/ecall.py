"""Speed of the eCall intake: one MSD read, mapped and answered, beside the same incident sent as a call.

Replays 2,000 accidents of 2020 as the eCall messages one of their vehicles would
have sent (:mod:`core.ecall.simulate`, as training does), then times per message,
in this process:

- ``incident_from_msd`` alone (read, locate, local time, sun, catv);
- ``ecall_answer``, the route's whole work without HTTP (mapping, prediction with
  the top factors, eCall calibration, machine answer);
- the naive baseline: ``predict_many`` + ``machine_answer`` on the mapped incident,
  as ``POST /v1/severity`` would answer it.

and prints p50 / p95 and the ratio eCall / baseline. Also prints, over 2019 and
2020's located accidents, how often the sun's light code agrees with BAAC's
recorded light (:mod:`core.ecall.sun`'s cut-offs were read from these years).

Run: ``.venv/bin/python bench/ecall.py`` (about a minute). Needs the store and the model.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import store  # noqa: E402
from core.dispatch.answer import machine_answer  # noqa: E402
from core.dispatch.ecall import ecall_answer  # noqa: E402
from core.ecall.locate import time_zone  # noqa: E402
from core.ecall.mapping import incident_from_msd  # noqa: E402
from core.ecall.simulate import accident_messages  # noqa: E402
from core.ecall.sun import light_code, solar_elevation  # noqa: E402
from core.features.training import training_frame  # noqa: E402
from core.model.loading import load_model  # noqa: E402
from core.model.predict import predict_many, warm_up  # noqa: E402
from core.model.risk_bands import band_thresholds  # noqa: E402

MESSAGES = 2_000


def _timed(function, values) -> list[float]:
    """Milliseconds per call of ``function`` on each value."""
    spent = []
    for value in values:
        started = time.perf_counter()
        function(value)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def _line(name: str, spent: list[float], baseline: list[float] | None = None) -> str:
    p50, p95 = statistics.median(spent), float(np.percentile(spent, 95))
    ratio = "" if baseline is None else f"   x{p50 / statistics.median(baseline):.2f} the baseline's p50"
    return f"  {name:<50} p50 {p50:6.3f} ms   p95 {p95:6.3f} ms{ratio}"


def light_agreement(con) -> str:
    """How the sun's light code agrees with the recorded light, 2019-2020, mainland France and Corsica."""
    import pandas as pd

    frame = con.execute("SELECT year, month, day, hour, minute, lat, lon, lum, dep FROM accidents "
                        "WHERE year >= 2019 AND lat IS NOT NULL AND hour IS NOT NULL AND lum IS NOT NULL "
                        "AND length(dep) = 2").df()
    local = pd.to_datetime({"year": frame["year"], "month": frame["month"], "day": frame["day"],
                            "hour": frame["hour"], "minute": frame["minute"].fillna(0)})
    utc = local.dt.tz_localize(time_zone("75"), ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    known = utc.notna().to_numpy()
    seconds = (utc[known] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    code = light_code(solar_elevation(seconds, frame["lat"].to_numpy()[known], frame["lon"].to_numpy()[known]))
    lum = frame["lum"].to_numpy()[known]
    day, dusk, night = code == 1, code == 2, code == 0
    return (f"  computed full day: {day.sum():,} accidents, recorded 'Plein jour' {np.mean(lum[day] == 1):.1%}\n"
            f"  computed dusk or dawn: {dusk.sum():,}, recorded 'Crépuscule ou aube' {np.mean(lum[dusk] == 2):.1%}, "
            f"'Plein jour' {np.mean(lum[dusk] == 1):.1%}, night {np.mean(lum[dusk] >= 3):.1%}\n"
            f"  computed night: {night.sum():,}, recorded at night (3-5) {np.mean(lum[night] >= 3):.1%}")


def main() -> int:
    con = store.connect()
    model = load_model()
    thresholds = band_thresholds(model.card)
    warm_up(model)
    frame = training_frame(con, first_year=2020, last_year=2020).sample(MESSAGES * 2, random_state=1)
    messages = [m for m in accident_messages(con, frame.to_dict("records"), np.random.default_rng(1)) if m][:MESSAGES]
    incidents = [incident_from_msd(m).incident for m in messages]

    mapping = _timed(incident_from_msd, messages)
    baseline = _timed(lambda i: machine_answer(predict_many(model, [i])[0], thresholds), incidents)
    answered = _timed(lambda m: ecall_answer(model, incident_from_msd(m), thresholds), messages)
    print(f"eCall intake, {len(messages):,} messages of 2020, one at a time, in process")
    print(_line("incident_from_msd (read + map)", mapping))
    print(_line("baseline: the mapped incident as a call", baseline))
    print(_line("ecall_answer (map + predict + eCall calibration)", answered, baseline))
    print("\nlight from the sun against BAAC's recorded light (2019-2020)")
    print(light_agreement(con))
    return 0


if __name__ == "__main__":
    sys.exit(main())
