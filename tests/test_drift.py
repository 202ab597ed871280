"""The drift watch on real accidents of the store, the committed model and an audit log from the API's writer."""

from __future__ import annotations

import bisect
import gzip
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pytest

from core.api.audit import AuditLog, audit_incident
from core.features.columns import IncidentColumns, columns_from_frame
from core.features.names import KIND_NAMES, VEHICLE_KINDS
from core.features.training import incident_from_row, training_frame
from core.incident.parse import parse_incident
from core.lifecycle import drift
from core.lifecycle.drift import (
    DRIFT_FIELDS,
    PSI_FLOOR,
    PSI_THRESHOLD,
    audit_files,
    drift_report,
    format_drift,
    incidents_from_audit,
    population_stability,
    reference_columns,
    severe_probability,
)
from core.model.loading import load_model
from core.model.predict import predict_columns

FIELDS = {field.name: field for field in DRIFT_FIELDS}


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def frames(store_con) -> dict[int, object]:
    return {year: training_frame(store_con, first_year=year, last_year=year) for year in (2018, 2019, 2020)}


@pytest.fixture(scope="module")
def columns(frames) -> dict[int, IncidentColumns]:
    return {year: columns_from_frame(frame) for year, frame in frames.items()}


@pytest.fixture(scope="module")
def report_2020(store_con, model, columns) -> dict:
    return drift_report(model, reference_columns(store_con, model), columns[2020], source="accidents 2020 du magasin")


def rows_of(columns: IncidentColumns, rows: np.ndarray) -> IncidentColumns:
    return IncidentColumns({name: values[rows] for name, values in columns.numeric.items()}, columns.dep[rows],
                           columns.com[rows], [columns.vehicles[row] for row in rows])


def loop_psi(expected: list, actual: list, bin_of) -> float:
    """PSI by hand: count each sample's values per bin (None for unknown), shares floored, summed term by term."""
    counts = Counter(bin_of(value) for value in expected), Counter(bin_of(value) for value in actual)
    total = 0.0
    for key in set(counts[0]) | set(counts[1]):
        e = max(counts[0][key] / len(expected), PSI_FLOOR)
        a = max(counts[1][key] / len(actual), PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def category(value: float) -> float | None:
    return None if math.isnan(value) else value


def test_identical_samples_have_no_drift(columns) -> None:
    for field in DRIFT_FIELDS:
        values = field.values(columns[2019])
        assert population_stability(values, values.copy(), binning=field.binning) == 0.0, field.name


def test_psi_of_real_fields_between_two_years_equals_a_plain_loop(columns) -> None:
    before, after = columns[2018], columns[2019]
    for name in ("atm", "catr", "surf", "hour"):  # one bin per code, NaN its own bin
        expected = loop_psi(before.numeric[name].tolist(), after.numeric[name].tolist(), category)
        assert FIELDS[name].binning == "categories"
        assert population_stability(before.numeric[name], after.numeric[name], binning="categories") == \
            pytest.approx(expected, rel=1e-9), name
    # deciles of the known 2018 latitudes (numpy's linear quantile); a value on an edge starts the next bin
    known = before.numeric["lat"][~np.isnan(before.numeric["lat"])]
    edges = sorted(set(np.quantile(known, np.linspace(0.1, 0.9, 9)).tolist()))
    expected = loop_psi(before.numeric["lat"].tolist(), after.numeric["lat"].tolist(),
                        lambda v: None if math.isnan(v) else bisect.bisect_right(edges, v))
    assert population_stability(before.numeric["lat"], after.numeric["lat"], binning="deciles") == \
        pytest.approx(expected, rel=1e-9)
    assert expected > 0.2  # 2018 gave 5.5 % of accidents no coordinates, 2019 none


def test_vehicle_fields_equal_a_plain_loop_over_the_vehicles(columns) -> None:
    before, after = columns[2018], columns[2019]

    def kinds(year_columns: IncidentColumns) -> list:
        """Each vehicle's kind (None when undetermined), and None for each incident whose vehicles are unknown."""
        kind_of = {code: kind for kind, codes in VEHICLE_KINDS.items() for code in codes}
        found = []
        for vehicles in year_columns.vehicles:
            if vehicles is None:
                found.append(None)
            for code in vehicles or ():
                found.append(None if code == 0 else kind_of.get(code, KIND_NAMES[-1]))
        return found

    expected = loop_psi(kinds(before), kinds(after), lambda kind: kind)
    field = FIELDS["vehicle_kinds"]
    assert population_stability(field.values(before), field.values(after), binning=field.binning) == \
        pytest.approx(expected, rel=1e-9)
    counts = [[math.nan if v is None else len(v) for v in c.vehicles] for c in (before, after)]
    edges = sorted(set(np.quantile(np.array(counts[0])[~np.isnan(counts[0])], np.linspace(0.1, 0.9, 9)).tolist()))
    expected = loop_psi(*counts, lambda v: None if math.isnan(v) else bisect.bisect_right(edges, v))
    field = FIELDS["n_vehicles"]
    assert population_stability(field.values(before), field.values(after), binning=field.binning) == \
        pytest.approx(expected, rel=1e-9)


def test_a_shifted_population_is_flagged_and_a_steady_field_is_not(columns) -> None:
    steady = population_stability(columns[2018].numeric["atm"], columns[2019].numeric["atm"], binning="categories")
    assert steady < 0.05  # weather of 2019 like 2018's (0.002)
    current = columns[2020]
    night = rows_of(current, np.flatnonzero(np.isin(current.numeric["lum"], [3, 4, 5])))  # dusk and night only
    for name in ("lum", "hour"):
        assert population_stability(columns[2019].numeric[name], night.numeric[name], binning="categories") > 1.0
    weather = current.numeric["atm"].copy()
    weather[::2] = np.nan  # a centre's software stops sending the weather on every other call
    assert population_stability(columns[2019].numeric["atm"], weather, binning="categories") > PSI_THRESHOLD
    no_vehicles = IncidentColumns(current.numeric, current.dep, current.com, [None] * len(current))  # never sent
    for name in ("n_vehicles", "vehicle_kinds"):
        field = FIELDS[name]
        assert population_stability(field.values(columns[2019]), field.values(no_vehicles),
                                    binning=field.binning) > PSI_THRESHOLD


def write_audit_log(folder: Path, incidents: list[dict]) -> Path:
    """An audit log as the API writes it (its own writer, rotated by size), with the lines it can also hold."""
    live = folder / "audit.jsonl"
    # An older rotated file a centre compressed: the first two incidents, one per request.
    old = [{"route": "/v1/severity", "incident": audit_incident(parse_incident(i))} for i in incidents[:2]]
    with gzip.open(folder / "audit.jsonl.2000-01-01T00-00-00.000000-1Z.gz", "wb") as compressed:
        compressed.write(b"".join(orjson.dumps(line) + b"\n" for line in old))
    log = AuditLog(live, max_bytes=600, backups=0)
    for incident in incidents[2:6]:
        log.write({"route": "/v1/severity", "status": 200, "incident": audit_incident(parse_incident(incident))})
    log.write({"route": "/v1/model", "status": 200})  # no incident
    log.write({"route": "/v1/severity", "status": 422, "incident": None})  # refused
    batch = [audit_incident(parse_incident(i)) for i in incidents[6:8]] + [None] + \
        [audit_incident(parse_incident(incidents[8]))]
    log.write({"route": "/v1/severity/batch", "status": 200, "incidents": batch})
    log.write({"route": "/v1/severity", "status": 200, "incident": {"atm": 42}})  # no longer a valid code
    log.close()
    with live.open("ab") as tail:  # a line cut by a full disk, an empty line, JSON that is no record
        tail.write(b'{"route": "/v1/severity", "incid\n\n[1, 2]\n')
    return live


@pytest.mark.parametrize("stack_every", [50_000, 4])  # 4: stacked in several parts, as a long log is
def test_audit_log_is_read_back_with_every_set_aside_line_counted(tmp_path, frames, monkeypatch,
                                                                   stack_every) -> None:
    monkeypatch.setattr(drift, "_STACK_EVERY", stack_every)
    rows = frames[2020].iloc[:9]
    incidents = [incident_from_row(row) for row in rows.to_dict("records")]
    live = write_audit_log(tmp_path, incidents)
    paths = audit_files(live)
    assert len(paths) >= 3 and paths[-1] == live and not any(p.suffix == ".lock" for p in paths)  # rotated by size
    assert (tmp_path / "audit.jsonl.lock").exists()

    found = incidents_from_audit(paths)
    assert found.set_aside == {"empty_line": 1, "not_json": 2, "no_incident": 1, "null_incident": 2,
                               "invalid_incident": 1}
    expected = columns_from_frame(rows)  # the same accidents straight from the store, in the order written
    assert len(found.columns) == 9
    for name, values in expected.numeric.items():
        np.testing.assert_array_equal(found.columns.numeric[name], values, err_msg=name)
    assert found.columns.dep.tolist() == expected.dep.tolist()
    assert found.columns.com.tolist() == expected.com.tolist()
    assert found.columns.vehicles == expected.vehicles


def test_severe_probability_equals_the_predictions_of_the_doors(model, columns) -> None:
    sample = rows_of(columns[2020], np.arange(0, len(columns[2020]), 97))
    doors = [result["p_severe"] for result in predict_columns(model, sample, explain=False)]
    np.testing.assert_allclose(severe_probability(model, sample), doors, atol=1e-6)


def test_drift_report_of_2020_against_the_training_years(report_2020, model, frames, columns) -> None:
    report = report_2020
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["reference"]["years"] == list(model.card.years.training)
    assert report["reference"]["rows"] == model.card.training_rows
    assert report["current"] == {"rows": len(frames[2020]), "set_aside": {}}
    names = [entry["field"] for entry in report["fields"]]
    assert sorted(names) == sorted(FIELDS) and "year" not in names
    psis = [entry["psi"] for entry in report["fields"]]
    assert all(math.isfinite(psi) and psi >= 0 for psi in psis) and psis == sorted(psis, reverse=True)
    entries = {entry["field"]: entry for entry in report["fields"]}
    for name in ("atm", "lum", "surf", "vma", "lat"):  # unknown shares, counted here with pandas
        assert entries[name]["unknown_share"]["current"] == pytest.approx(frames[2020][name].isna().mean())
    # the speed limit was only recorded from 2018 on: unknown for 80 % of the training years, 2 % in 2020
    assert entries["vma"]["unknown_share"]["reference"] > 0.75 and entries["vma"]["flagged"]
    assert not entries["atm"]["flagged"] and not entries["lum"]["flagged"]
    assert report["flagged"] == [name for name in names if entries[name]["flagged"]] + \
        (["risk"] if report["risk"]["flagged"] else [])
    risk = report["risk"]
    assert math.isfinite(risk["psi"]) and risk["psi"] >= 0 and risk["flagged"] == (risk["psi"] > PSI_THRESHOLD)
    predicted = [result["p_severe"] for result in predict_columns(model, columns[2020], explain=False)]
    assert risk["mean"]["current"] == pytest.approx(np.mean(predicted), abs=1e-6)
    assert risk["rows"] == {"reference": 50_000, "current": len(frames[2020])}


def test_drift_text_names_every_field_with_a_decimal_comma(report_2020) -> None:
    text = format_drift(report_2020)
    lines = text.splitlines()
    for entry in report_2020["fields"]:
        line = next(line for line in lines if line.strip().startswith(entry["label"]))
        assert f"{entry['psi']:.2f}".replace(".", ",") in line
        assert ("DÉRIVE" in line) == entry["flagged"]
    assert "la population a changé" in text and "0,20" in text
    assert any(line.strip().startswith(report_2020["risk"]["label"]) for line in lines)


def test_nothing_to_compare_is_refused(model, columns) -> None:
    empty = rows_of(columns[2020], np.arange(0))
    with pytest.raises(ValueError, match="rien à comparer"):
        drift_report(model, columns[2019], empty, source="journal vide")
