"""The drift watch on real accidents of the store, the committed model and an audit log from the API's writer."""

from __future__ import annotations

import bisect
import dataclasses
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
from core.formatting import format_percent
from core.incident.parse import parse_incident
from core.lifecycle import drift
from core.lifecycle.drift import (
    DRIFT_FIELDS,
    MIN_PEOPLE,
    PSI_FLOOR,
    PSI_THRESHOLD,
    RISK_PEOPLE,
    audit_files,
    drift_report,
    format_drift,
    incidents_from_audit,
    population_stability,
    reference_columns,
    severe_probability,
)
from core.lifecycle.views import drift_rows, drift_sentence
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
def reference(store_con, model) -> IncidentColumns:
    return reference_columns(store_con, model)


@pytest.fixture(scope="module")
def report_2020(model, reference, columns) -> dict:
    return drift_report(model, reference, columns[2020], source="accidents 2020 du magasin")


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
    assert found.columns.people == expected.people  # the people described come back from the log too


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
    nobody = dataclasses.replace(columns[2020], people=None)  # the risk is compared with the people left out
    predicted = [result["p_severe"] for result in predict_columns(model, nobody, explain=False)]
    assert risk["mean"]["current"] == pytest.approx(np.mean(predicted), abs=1e-6)
    assert risk["rows"] == {"reference": 50_000, "current": len(frames[2020])}
    assert risk["people"] == RISK_PEOPLE
    # the store describes every user of every accident, in the reference as in 2020: every people field compared
    assert report["not_compared"] == []
    assert report["people"]["described_share"] == {"reference": 1.0, "current": 1.0}
    assert report["people"]["persons"]["current"] == sum(len(people) for people in frames[2020]["people"])


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


def described_people(frame) -> list[dict]:
    """Every person of every accident of a training frame, as the store gives them (dicts, None when unknown)."""
    return [person for people in frame["people"] if people is not None for person in people]


def test_people_fields_equal_a_plain_loop_over_the_described_people(frames, columns, report_2020) -> None:
    before, after = described_people(frames[2019]), described_people(frames[2020])
    assert len(before) > 100_000 and len(after) > 100_000  # the BAAC records every user
    for fact in ("role", "sex"):  # one bin per code, over the people whose fact is said
        expected = loop_psi([p[fact] for p in before if p[fact] is not None],
                            [p[fact] for p in after if p[fact] is not None], lambda value: value)
        field = FIELDS[f"person_{fact}"]
        assert field.binning == "categories"
        assert population_stability(field.values(columns[2019]), field.values(columns[2020]),
                                    binning=field.binning) == pytest.approx(expected, rel=1e-9), fact
    ages = [[p["age"] for p in people if p["age"] is not None] for people in (before, after)]
    assert len(ages[1]) < len(after)  # some ages unknown: left out of the field, not binned as "unknown"
    edges = sorted(set(np.quantile(ages[0], np.linspace(0.1, 0.9, 9)).tolist()))
    expected = loop_psi(*ages, lambda v: bisect.bisect_right(edges, v))
    field = FIELDS["person_age"]
    assert population_stability(field.values(columns[2019]), field.values(columns[2020]),
                                binning=field.binning) == pytest.approx(expected, rel=1e-9)
    # in the report of 2020 against the training years: a PSI per people field, over 2020's people
    entries = {entry["field"]: entry for entry in report_2020["fields"]}
    for fact in ("role", "age", "sex"):
        said = sum(p[fact] is not None for p in after)
        assert math.isfinite(entries[f"person_{fact}"]["psi"]), fact
        assert entries[f"person_{fact}"]["values"]["current"] == said, fact
        assert report_2020["people"]["facts_said"]["current"][fact] == pytest.approx(said / len(after)), fact


def test_nobody_described_is_not_compared_and_leaves_the_risk_as_it_was(model, reference, columns,
                                                                        report_2020) -> None:
    """The same accidents of 2020, as calls that describe nobody: no people field compared, the same risk PSI."""
    nobody = dataclasses.replace(columns[2020], people=None)
    report = drift_report(model, reference, nobody, source="accidents 2020, personne décrite")
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    people_fields = {"person_role", "person_age", "person_sex"}
    assert {entry["field"] for entry in report["not_compared"]} == people_fields
    for entry in report["not_compared"]:
        assert entry["psi"] is None and not entry["flagged"] and entry["reason"].startswith("aucune personne décrite")
        said = report_2020["people"]["facts_said"]["reference"][entry["field"].removeprefix("person_")]
        assert entry["values"]["current"] == 0
        assert entry["values"]["reference"] == pytest.approx(report_2020["people"]["persons"]["reference"] * said)
    assert not people_fields & set(report["flagged"])
    assert report["people"]["described_share"] == {"reference": 1.0, "current": 0.0}
    # every other field as in the report of the same accidents with their people
    assert report["fields"] == [entry for entry in report_2020["fields"] if entry["field"] not in people_fields]
    # the risk: the same PSI whether the accidents describe their people or not, since both leave them out...
    assert report["risk"] == report_2020["risk"]
    # ...and leaving them out matters: their people move the risk of one accident in five by over 5 points (the
    # equality above would not hold if either report predicted with the people)
    moved = np.abs(severe_probability(model, columns[2020]) - severe_probability(model, nobody))
    assert np.mean(moved > 0.05) > 0.1
    # shown honestly in French, in the text and in the page's table
    text = format_drift(report)
    for entry in report["not_compared"]:
        line = next(line for line in text.splitlines() if line.strip().startswith(entry["label"]))
        assert "non comparé : aucune personne décrite" in line and "DÉRIVE" not in line
    assert f"{format_percent(0.0)} des incidents comparés" in text and "laissées de côté des deux côtés" in text
    rows = {row["Champ"]: row for row in drift_rows(report)}
    assert all(rows[entry["label"]]["Dérive (> 0,2)"].startswith("non comparé : aucune personne décrite")
               for entry in report["not_compared"])
    assert len(rows) == len(report["fields"]) + len(report["not_compared"]) + 1
    sentence = drift_sentence({**report, "at": "2026-12-03"})
    assert f"Personnes décrites dans {format_percent(0.0)} des incidents comparés" in sentence


def test_a_handful_of_people_described_is_not_compared(model, columns) -> None:
    current = columns[2020]
    few = dataclasses.replace(current, people=[people if row < 5 else None
                                               for row, people in enumerate(current.described())])
    count = sum(len(people) for people in few.described() if people)
    assert 0 < count < MIN_PEOPLE
    report = drift_report(model, columns[2019], few, source="cinq appels décrivant leurs personnes")
    assert [entry["field"] for entry in report["not_compared"]] == ["person_role", "person_age", "person_sex"]
    said = {fact: sum(person[position] is not None for people in few.described() if people for person in people)
            for position, fact in enumerate(("role", "age", "sex"))}
    assert [entry["reason"] for entry in report["not_compared"]] == [
        f"{said['role']} personnes décrites de rôle connu seulement (il en faut {MIN_PEOPLE})",
        f"{said['age']} personnes décrites d’âge connu seulement (il en faut {MIN_PEOPLE})",
        f"{said['sex']} personnes décrites de sexe connu seulement (il en faut {MIN_PEOPLE})"]
    assert report["people"]["persons"]["current"] == count


def test_only_elderly_people_described_is_flagged(model, reference, columns, report_2020) -> None:
    """Calls that describe only the people aged 75 and more of the 2020 accidents: their ages drift."""
    current = columns[2020]
    elderly = [tuple(person for person in people or () if person[1] is not None and person[1] >= 75) or None
               for people in current.described()]
    report = drift_report(model, reference, dataclasses.replace(current, people=elderly), source="aînés seulement")
    entries = {entry["field"]: entry for entry in report["fields"]}
    assert entries["person_age"]["values"]["current"] == sum(len(people) for people in elderly if people) > 1_000
    assert entries["person_age"]["psi"] > 1.0 and entries["person_age"]["flagged"]
    assert "person_age" in report["flagged"]
    assert report_2020["fields"] and not next(e for e in report_2020["fields"] if e["field"] == "person_age")["flagged"]
    assert 0 < report["people"]["described_share"]["current"] < 0.2
    assert report["risk"] == report_2020["risk"]  # the risk still leaves the people out


def test_people_described_without_their_sex_is_no_drift(model, reference, columns, report_2020) -> None:
    """Calls that describe the 2020 accidents' people with their role and age only: how callers talk. The sex
    is not compared (nobody's is said), role and age are compared as with the sex, and nothing is flagged."""
    current = columns[2020]
    unsexed = [None if people is None else tuple((role, age, None, equipment) for role, age, _sex, equipment in people)
               for people in current.described()]
    report = drift_report(model, reference, dataclasses.replace(current, people=unsexed), source="sans le sexe")
    assert [entry["field"] for entry in report["not_compared"]] == ["person_sex"]
    assert report["not_compared"][0]["reason"] == "aucune personne décrite de sexe connu"
    entries = {entry["field"]: entry for entry in report["fields"]}
    before = {entry["field"]: entry for entry in report_2020["fields"]}
    for name in ("person_role", "person_age"):
        assert entries[name] == before[name], name
    assert report["flagged"] == report_2020["flagged"]
    assert report["people"]["facts_said"]["current"]["sex"] == 0.0
    assert report["people"]["facts_said"]["reference"]["sex"] == 1.0
