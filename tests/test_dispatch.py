"""The dispatch desk on real accidents: form to incident, result in words, similar accidents.

Expected values come from the store through plain SQL written here, or from
literal real accidents (tests.test_features), never from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pytest
from h3.api import basic_str as h3

from core import codebook
from core.dispatch import bands, intake, nearby, picker, session
from core.features import words
from core.features.facts import describe_key_facts, known_key_facts
from core.incident.fields import IncidentError
from core.maps import deck
from core.model.card import parse_card
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from core.model.spec import ModelCardError
from tests.cards import literal_card, literal_card_json
from tests.test_features import ACCIDENT_201900000011, ACCIDENT_201900000134


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


@pytest.fixture(scope="module")
def past(store_con, severity) -> nearby.PastAccidents:
    first, last = severity.card.years.history
    return nearby.load_past_accidents(store_con, first_year=first, last_year=last)


def _form_of(accident: dict) -> intake.CallForm:
    """The form an operator fills for a literal accident (vehicles counted by category)."""
    counts: dict[int, int] = {}
    for code in accident["vehicles"]:
        counts[code] = counts.get(code, 0) + 1
    return intake.CallForm(
        dep=accident["dep"], com=accident["com"], coordinates=f"{accident['lat']}, {accident['lon']}",
        moment=intake.MOMENT_OTHER, when=dt.datetime.fromisoformat(accident["datetime"]), vehicles=counts,
        n_pedestrians=accident["n_pedestrians"], n_people=accident["n_people"], obs=accident["obs"],
        col=accident["col"], atm=accident["atm"], lum=accident["lum"], surf=accident["surf"], catr=accident["catr"],
        vma=accident["vma"], agg=accident["agg"], intersection=accident["int"],
        people=tuple(tuple(person.get(fact) for fact in ("role", "age", "sex", "equipment"))
                     for person in accident.get("people", ())),
    )


# --------------------------------------------------------------------------- #
# Form -> incident
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("accident", [ACCIDENT_201900000011, ACCIDENT_201900000134])
def test_form_of_a_real_accident_gives_its_incident(accident: dict) -> None:
    incident = intake.incident_from_form(_form_of(accident))
    assert incident == accident


def test_every_field_unknown_gives_an_empty_incident() -> None:
    assert intake.incident_from_form(intake.CallForm(vehicles={7: 0, 33: 0})) == {}


def test_now_is_the_local_time_of_the_department() -> None:
    moment = dt.datetime(2020, 1, 15, 23, 30, tzinfo=dt.UTC)
    paris = intake.incident_from_form(intake.CallForm(dep="75", moment=intake.MOMENT_NOW), now=moment)
    reunion = intake.incident_from_form(intake.CallForm(dep="974", moment=intake.MOMENT_NOW), now=moment)
    unknown_place = intake.incident_from_form(intake.CallForm(moment=intake.MOMENT_NOW), now=moment)
    assert paris["datetime"] == "2020-01-16T00:30"  # UTC+1 in winter
    assert reunion["datetime"] == "2020-01-16T03:30"  # UTC+4
    assert unknown_place["datetime"] == paris["datetime"]


def test_every_overseas_time_zone_exists() -> None:
    for dep in intake.TIME_ZONES:
        assert intake.local_now(dep).year >= 2024


@pytest.mark.parametrize(("text", "expected"), [
    ("43.287899, 5.39117", (43.287899, 5.39117)),
    ("43,287899 5,39117", (43.287899, 5.39117)),
    ("43,287899, 5,39117", (43.287899, 5.39117)),
    ("-21.1151;55.5364", (-21.1151, 55.5364)),
    ("", None),
])
def test_coordinates_as_operators_paste_them(text: str, expected) -> None:
    assert intake.parse_coordinates(text) == expected


@pytest.mark.parametrize(("text", "field"), [("48.85", "lat"), ("nord, 2.3", "lat"), ("48.8, est", "lon"),
                                             ("95, 2", "lat"), ("45, 181", "lon")])
def test_bad_coordinates_name_the_field(text: str, field: str) -> None:
    with pytest.raises(IncidentError) as caught:
        intake.incident_from_form(intake.CallForm(coordinates=text))
    assert caught.value.field == field
    assert intake.field_label(caught.value.field) == "Coordonnées"


def test_more_pedestrians_than_people_is_refused_naming_pedestrians() -> None:
    with pytest.raises(IncidentError) as caught:
        intake.incident_from_form(intake.CallForm(n_pedestrians=3, n_people=2))
    assert caught.value.field == "n_pedestrians"
    assert intake.field_label(caught.value.field) == "Piétons"


def test_vehicle_choices_are_current_catv_codes_each_offered_once() -> None:
    offered = intake.BAAC_VEHICLES
    assert len(set(offered)) == len(offered)
    retired = {code for code, text in codebook.codes_of("catv").items() if text.startswith("Référence inutilisée")}
    assert set(offered) == set(codebook.codes_of("catv")) - retired
    assert words.vehicle_label(3) == "Voiturette (Quadricycle à moteur carrossé)"


def test_everyday_words_count_as_the_commonest_code_of_their_family(store_con) -> None:
    words = {v.word: v.catv for v in intake.EVERYDAY_VEHICLES}
    assert {"Voiture", "Moto", "Scooter", "Vélo", "Trottinette", "Camionnette", "Poids lourd", "Bus ou car",
            "Tracteur"} <= set(words)
    assert len({v.key for v in intake.EVERYDAY_VEHICLES}) == len(intake.EVERYDAY_VEHICLES)
    counts = dict(store_con.execute(
        "SELECT catv, count(*) FROM vehicles JOIN accidents USING (acc_id) WHERE year BETWEEN 2019 AND 2020 "
        "GROUP BY catv").fetchall())
    families = {"Moto": (31, 33), "Scooter": (30, 32, 34), "Poids lourd": (13, 14, 15, 16, 17), "Bus ou car": (37, 38),
                "Trottinette": (50, 60), "Camionnette": (10,), "Voiture": (7,)}
    for word, family in families.items():
        assert words[word] == max(family, key=lambda code: counts.get(code, 0)), word


def test_description_of_a_real_incident() -> None:
    text = intake.describe_incident(ACCIDENT_201900000011)
    assert text.startswith("Marseille 6e Arrondissement (13206) · Bouches-du-Rhône (13) · 43.2879, 5.3912")
    assert "1 × VL seul" in text and "1 piéton" in text and "En agglomération" in text


# --------------------------------------------------------------------------- #
# The result in words, on the committed model
# --------------------------------------------------------------------------- #


def test_bands_come_from_the_card_thresholds(severity) -> None:
    thresholds = bands.band_thresholds(severity.card)
    chosen = severity.card.thresholds.severe
    # "Faible" below the recall-95 threshold, "Élevé" from the precision-75 one (not recall_80 / best_f1).
    assert thresholds.medium_from == chosen["recall_95"].threshold
    assert thresholds.high_from == chosen["precision_75"].threshold
    assert thresholds.medium_from < thresholds.high_from
    assert thresholds.validation_year == 2019
    assert bands.severity_band(thresholds.medium_from - 1e-6, thresholds).key == "low"
    assert bands.severity_band(thresholds.medium_from, thresholds).key == "medium"
    assert bands.severity_band(thresholds.high_from - 1e-6, thresholds).key == "medium"
    assert bands.severity_band(thresholds.high_from, thresholds).key == "high"


def test_band_words_on_a_literal_card() -> None:
    card = literal_card()  # tests.cards.LITERAL_CARD: thresholds and validation bands with round figures
    thresholds = bands.band_thresholds(card)
    assert (thresholds.medium_from, thresholds.high_from) == (0.1834, 0.6125)
    assert [bands.severity_band(p, thresholds).label for p in (0.18, 0.1834, 0.5, 0.6125, 0.9)] == [
        "Faible", "Moyen", "Moyen", "Élevé", "Élevé"]
    nbsp = "\u00a0"
    assert [sentence for _, sentence in bands.band_sentences(card)] == [
        f"Faible : moins de 18,3{nbsp}% — sur 2019, 6{nbsp}% des accidents de cette bande avaient un tué ou un "
        f"blessé hospitalisé (30{nbsp}% des accidents, 5{nbsp}% des accidents graves).",
        f"Moyen : de 18,3{nbsp}% à 61,3{nbsp}% — sur 2019, 37{nbsp}% des accidents de cette bande avaient un tué ou "
        f"un blessé hospitalisé (50{nbsp}% des accidents).",
        f"Élevé : à partir de 61,3{nbsp}% — sur 2019, 79{nbsp}% des accidents de cette bande avaient un tué ou un "
        f"blessé hospitalisé (20{nbsp}% des accidents).",
    ]
    rule = bands.band_rule_text(card)
    assert f"« Faible » regroupe au plus 5{nbsp}% des accidents graves de 2019" in rule
    assert f"dans « Élevé », au moins 75{nbsp}% des accidents de 2019 étaient graves" in rule


def test_band_words_say_when_precision_fell_back_to_best_f1() -> None:
    raw = literal_card_json()
    raw["thresholds"]["severe"]["precision_75"] = {**raw["thresholds"]["severe"]["best_f1"], "fallback": "best_f1"}
    raw["bands"]["high_from"].update(threshold=0.396, fallback="best_f1")
    card = parse_card(raw)
    assert bands.band_thresholds(card).high_from == 0.396
    assert "Aucun seuil n’atteignait 75\u00a0% d’accidents graves sur 2019" in bands.band_rule_text(card)
    assert "meilleur F1" in bands.band_rule_text(card)


def test_a_card_whose_bands_disagree_with_its_thresholds_is_refused() -> None:
    raw = literal_card_json()
    raw["bands"]["high_from"]["threshold"] = 0.5
    with pytest.raises(ModelCardError, match="bands.*0.5.*differ from those of thresholds.severe"):
        parse_card(raw)
    raw = literal_card_json()
    raw["thresholds"]["severe"]["precision_75"]["fallback"] = "best_f1"
    with pytest.raises(ModelCardError, match="bands.high_from.fallback"):
        parse_card(raw)


def test_a_card_without_the_band_thresholds_is_refused() -> None:
    raw = literal_card_json()
    for rule in ("recall_95", "precision_75"):
        del raw["thresholds"]["severe"][rule]
    with pytest.raises(ModelCardError, match="thresholds.severe has no recall_95, precision_75.*python -m core train"):
        parse_card(raw)


def test_band_words_on_the_committed_card(severity) -> None:
    card = severity.card
    high = card.bands.validation.high
    cut = card.thresholds.severe["precision_75"].threshold
    expected = (f"Élevé : à partir de {cut * 100:.1f}\u00a0% — sur 2019, {high.observed * 100:.0f}\u00a0% des "
                "accidents de cette bande avaient un tué ou un blessé hospitalisé").replace(".", ",")
    assert bands.band_sentences(card)[2][1].startswith(expected)
    assert [band.key for band, _ in bands.band_sentences(card)] == ["low", "medium", "high"]


def test_a_lone_car_into_a_tree_at_night_is_high_and_its_band_follows_the_card(severity) -> None:
    """201900000134: one car into a tree at night in the countryside."""
    p_severe = predict_one(severity, ACCIDENT_201900000134, explain=False)["p_severe"]
    high_from = severity.card.thresholds.severe["precision_75"].threshold
    assert p_severe >= high_from
    assert bands.severity_band(p_severe, bands.band_thresholds(severity.card)).label == "Élevé"


def test_out_of_100_is_the_severe_share_of_the_same_facts_counted_in_the_store(severity, store_con) -> None:
    """Marseille, a car hits a pedestrian in town, daytime, on a communal road, no obstacle."""
    result = predict_one(severity, ACCIDENT_201900000011, explain=False)
    first, last = severity.card.years.training
    total, severe = store_con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE a.severe)
        FROM accidents a
        JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v USING (acc_id)
        WHERE a.year BETWEEN ? AND ? AND a.agg = 2 AND a.catr = 4 AND a.lum <= 2
          AND EXISTS (SELECT 1 FROM users u WHERE u.acc_id = a.acc_id AND u.catu IN (3, 4))
          AND NOT a.has_bicycle AND NOT a.has_two_wheeler AND NOT a.has_hgv AND NOT v.obstacle
        """, [first, last]).fetchall()[0]
    assert result["support"] == total
    assert bands.out_of_100(result) == round(100 * severe / total)
    assert bands.support_warning(result, known_key_facts(ACCIDENT_201900000011),
                                    years=(first, last)) is None


def test_a_call_without_place_or_key_fact_gets_the_base_rate_not_an_estimate(severity, store_con) -> None:
    result = predict_one(severity, {}, explain=False)
    # Not a "few comparable accidents" warning: every past accident is "comparable" then.
    assert bands.support_warning(result, known_key_facts({}), years=(2005, 2019)) is None
    for empty in ({}, {"atm": 2, "datetime": "2020-03-14T18:30"}, {"lat": -1, "lon": -1, "vma": -1}):
        assert bands.call_facts(empty).empty
    for told in ({"dep": "59"}, {"vehicles": [7]}, {"n_pedestrians": 0}, {"agg": 1}, {"lat": 50.6, "lon": 3.06}):
        assert not bands.call_facts(told).empty
    year, share = bands.base_rate(severity.card)
    total, severe = store_con.execute("SELECT count(*), count(*) FILTER (WHERE severe) FROM accidents WHERE year = ?",
                                      [year]).fetchall()[0]
    assert year == severity.card.years.validation and share == pytest.approx(severe / total, abs=1e-9)


def test_similar_accidents_need_the_place_and_a_key_fact() -> None:
    def missing(incident: dict) -> str | None:
        return bands.call_facts(incident).similar_missing

    assert "lieu" in missing({"vehicles": [7]}) and "fait clé" not in missing({"vehicles": [7]})
    assert "fait clé" in missing({"dep": "13", "atm": 2}) and "lieu" not in missing({"dep": "13", "atm": 2})
    assert "lieu" in missing({}) and "fait clé" in missing({})
    assert missing({"com": "13055", "n_pedestrians": 1}) is None


def test_rare_facts_warn_with_the_count(severity) -> None:
    """A tram, a heavy goods vehicle and a bicycle hitting a pedestrian on a motorway at night: almost never seen."""
    incident = {"agg": 1, "catr": 1, "lum": 3, "vehicles": [40, 14, 1], "n_pedestrians": 1, "obs": 2}
    result = predict_one(severity, incident, explain=False)
    assert result["support"] < bands.MIN_SUPPORT
    warning = bands.support_warning(result, known_key_facts(incident), years=(2005, 2019))
    assert f"seulement {result['support']} accidents" in warning


def test_factors_are_split_by_sign_in_french(severity) -> None:
    result = predict_one(severity, ACCIDENT_201900000134)
    up, down = bands.factors_by_direction(result)
    effects = {f"{f['label']} : {f['value']}": f["effect"] for f in result["top_factors"]}
    assert up and all(effects[p] > 0 for p in up) and all(effects[p] < 0 for p in down)
    assert set(up) | set(down) == set(effects)
    assert sum(share for _, share in bands.worst_injury_shares(result)) == pytest.approx(1.0)


def test_key_facts_described_with_official_labels() -> None:
    facts = known_key_facts(ACCIDENT_201900000134)
    assert describe_key_facts(facts) == (
        "Hors agglomération, Route Départementale, de nuit, sans piéton, sans vélo, sans deux-roues motorisé, "
        "sans poids lourd, obstacle fixe heurté")


# --------------------------------------------------------------------------- #
# Similar past accidents
# --------------------------------------------------------------------------- #

_FACTS_SQL = """
    SELECT a.acc_id, a.agg, a.catr, a.lum <= 2 AS daylight, a.has_pedestrian, a.has_bicycle, a.has_two_wheeler,
           a.has_hgv, v.obstacle, a.com, a.lat, a.lon
    FROM accidents a JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v USING (acc_id)
    WHERE a.acc_id IN (SELECT unnest(?))
"""


def test_similar_accidents_share_the_facts_and_are_the_nearest(past, store_con) -> None:
    incident = ACCIDENT_201900000011
    similar = nearby.similar_nearby(past, incident, limit=8)
    assert len(similar) == 8
    rows = store_con.execute(_FACTS_SQL, [similar["acc_id"].tolist()]).fetchall()
    for row in rows:
        assert row[1:9] == (2, 4, True, True, False, False, False, False)
    # Brute force in SQL: the 8 nearest accidents sharing the facts, by the same flat-earth distance.
    lat0, lon0 = incident["lat"], incident["lon"]
    expected = store_con.execute(
        """
        SELECT 111.195 * sqrt(pow(CAST(a.lat AS FLOAT) - ?, 2) + pow((CAST(a.lon AS FLOAT) - ?) * ?, 2)) AS km
        FROM accidents a JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v
            USING (acc_id)
        WHERE a.year BETWEEN ? AND ? AND a.lat IS NOT NULL AND a.agg = 2 AND a.catr = 4 AND a.lum <= 2
          AND a.has_pedestrian AND NOT a.has_bicycle AND NOT a.has_two_wheeler AND NOT a.has_hgv AND NOT v.obstacle
        ORDER BY km LIMIT 8
        """, [lat0, lon0, math.cos(math.radians(lat0)), past.first_year, past.last_year]).fetchall()
    np.testing.assert_allclose(similar["distance_km"], [r[0] for r in expected], atol=1e-3)
    assert similar["distance_km"].is_monotonic_increasing


def test_similar_accidents_carry_their_store_vehicles_and_outcome(past, store_con) -> None:
    similar = nearby.similar_nearby(past, ACCIDENT_201900000134, limit=6)
    for row in similar.itertuples():
        vehicles = store_con.execute("SELECT list(coalesce(catv, 0) ORDER BY veh) FROM vehicles WHERE acc_id = ?",
                                     [row.acc_id]).fetchall()[0][0]
        outcome = store_con.execute("SELECT year, month, day, n_killed, n_hospitalised, n_light FROM accidents "
                                    "WHERE acc_id = ?", [row.acc_id]).fetchall()[0]
        assert row.vehicles == vehicles
        assert (row.year, row.month, row.day, row.n_killed, row.n_hospitalised, row.n_light) == outcome


def test_without_coordinates_the_commune_comes_first_most_recent_first(past, store_con) -> None:
    incident = {"com": "2A004", "dep": "2A", "vehicles": [33]}
    similar = nearby.similar_nearby(past, incident, limit=8)
    expected = store_con.execute(
        "SELECT acc_id FROM accidents WHERE com = '2A004' AND year BETWEEN ? AND ? AND has_two_wheeler "
        "AND NOT has_bicycle AND NOT has_hgv ORDER BY acc_id DESC LIMIT 8",
        [past.first_year, past.last_year]).fetchall()
    assert similar["acc_id"].tolist() == [r[0] for r in expected]
    assert similar["distance_km"].isna().all()
    table = nearby.similar_table(similar)
    assert set(table["Lieu"]) == {"Ajaccio"}
    assert list(table.columns) == ["Date", "Lieu", "Distance", "Véhicules", "Bilan"]


def test_matching_count_equals_the_store(past, store_con) -> None:
    similar = nearby.similar_nearby(past, {"agg": 1, "lum": 3}, limit=5)
    expected = store_con.execute("SELECT count(*) FROM accidents WHERE year BETWEEN ? AND ? AND agg = 1 AND lum > 2",
                                 [past.first_year, past.last_year]).fetchall()[0][0]
    assert similar.attrs["matching"] == expected


def test_outcome_and_vehicles_in_words() -> None:
    assert nearby.describe_outcome(1, 2, 0) == "1 tué, 2 blessés hospitalisés"
    assert nearby.describe_outcome(0, 0, 1) == "1 blessé léger"
    assert nearby.describe_vehicles([17, 7]) == "1 × Tracteur routier + semi-remorque, 1 × VL seul"


# --------------------------------------------------------------------------- #
# Session estimates and CSV
# --------------------------------------------------------------------------- #


def test_session_csv_round_trips(severity) -> None:
    rows = []
    for number, incident in enumerate((ACCIDENT_201900000011, {}), start=1):
        result = predict_one(severity, incident)
        band = None if bands.call_facts(incident).empty else bands.severity_band(
            result["p_severe"], bands.band_thresholds(severity.card))
        made_at = intake.local_moment("13", now=dt.datetime(2024, 5, 1, 12, 3, tzinfo=dt.UTC))
        rows.append(session.estimate_row(number, incident, result, band, made_at=made_at))
    parsed = list(csv.DictReader(io.StringIO(session.estimates_csv(rows))))
    assert [r["numero"] for r in parsed] == ["1", "2"]
    assert json.loads(parsed[0]["incident_json"]) == ACCIDENT_201900000011
    assert json.loads(parsed[1]["incident_json"]) == {}
    assert float(parsed[0]["p_grave"]) == pytest.approx(predict_one(severity, ACCIDENT_201900000011)["p_severe"],
                                                         abs=1e-4)
    assert parsed[1]["resume"] == "Aucune information"
    assert parsed[0]["heure_estimation"] == "2024-05-01T14:03:00+02:00"  # Marseille's summer time
    assert parsed[1]["p_grave"] == "" and parsed[1]["bande"] == session.NO_ESTIMATE_LABEL


# --------------------------------------------------------------------------- #
# Place picker
# --------------------------------------------------------------------------- #


def test_paris_cells_cover_paris_at_resolution_8() -> None:
    outlines = deck.load_outlines()
    resolution, cells = picker.department_cells(outlines, "75")
    assert resolution == 8 and 100 < len(cells) <= picker.MAX_PICK_CELLS
    assert any(h3.latlng_to_cell(48.8530, 2.3499, 8) == cell for cell in cells)  # Notre-Dame
    big_resolution, big = picker.department_cells(outlines, "33")  # Gironde, 10,000 km²: resolution 6
    assert big_resolution < 8 and len(big) <= picker.MAX_PICK_CELLS


def test_a_click_on_a_cell_gives_its_centre_and_on_a_department_its_code() -> None:
    cell = h3.latlng_to_cell(43.287899, 5.39117, 8)
    picked = picker.picked_place({"selection": {"objects": {picker.CELL_LAYER: [{"cell": cell}]}}})
    lat, lon = h3.cell_to_latlng(cell)
    assert picked.point == (round(lat, 5), round(lon, 5))
    assert h3.latlng_to_cell(*picked.point, 8) == cell
    department = {"selection": {"objects": {picker.DEPARTMENT_LAYER: [{"code": "2A", "nom": "Corse-du-Sud"}]}}}
    assert picker.picked_place(department) == picker.PickedPlace(dep="2A")


def test_place_picker_spec_has_named_light_pickable_layers() -> None:
    outlines = deck.load_outlines()
    departments = picker.pickable_departments(outlines)
    assert {row["code"] for row in departments} == {f["properties"]["code"] for f in outlines["features"]}
    assert sum(len(row["polygon"]) for row in departments) < 3000  # light enough to pick in software WebGL
    resolution, cells = picker.department_cells(outlines, "13")
    picker_deck = picker.place_picker_deck(outlines, departments, dep="13", resolution=resolution, cells=cells,
                                             point=(43.2879, 5.3912))
    spec = json.loads(picker_deck.to_json())
    pickable = [layer["id"] for layer in spec["layers"] if layer.get("pickable")]
    assert pickable == [picker.DEPARTMENT_LAYER, picker.CELL_LAYER]
    assert {layer["@@type"] for layer in spec["layers"] if layer.get("pickable")} == {"PolygonLayer",
                                                                                     "ScatterplotLayer"}
    discs = next(layer for layer in spec["layers"] if layer["id"] == picker.CELL_LAYER)["data"]
    assert [d["cell"] for d in discs] == cells
    assert h3.latlng_to_cell(discs[0]["lat"], discs[0]["lon"], resolution) == cells[0]
    assert spec["initialViewState"]["latitude"] == pytest.approx(43.2879)


def test_communes_of_a_department_come_from_the_store(store_con) -> None:
    communes = dict(picker.communes_of(store_con, "2A"))
    assert communes["2A004"] == "Ajaccio"
    expected = store_con.execute("SELECT count(DISTINCT com) FROM accidents WHERE dep = '2A'").fetchall()[0][0]
    assert len(communes) == expected
