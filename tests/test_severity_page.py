"""The severity page run by Streamlit's AppTest on the real store and the committed model.

The expected estimate of a real 2020 accident comes from ``core.model.predict.predict_one``
called here on the incident read from the store; the history figure from SQL
written here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core import features as F
from core.dispatch import intake, picker
from core.dispatch.session import estimates_csv
from core.formatting import format_percent
from core.incident import INCIDENT_FIELDS
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "severity.py")
CODED = ("obs", "col", "atm", "lum", "surf", "agg", "catr", "int")


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


def first_known_2020_accident(store_con) -> dict:
    """The first 2020 accident (by acc_id) with every field known and a pedestrian, as a caller would give it."""
    frame = F.training_frame(store_con, first_year=2020, last_year=2020)
    offered = set(intake.MAIN_VEHICLES) | set(intake.OTHER_VEHICLES)
    for row in frame.to_dict(orient="records"):
        incident = F.incident_from_row(row)
        vehicles = incident.get("vehicles") or []
        others = [c for c in vehicles if c not in intake.MAIN_VEHICLES]
        if (len(incident) == len(INCIDENT_FIELDS) and incident["n_pedestrians"] > 0 and incident["obs"] == 0
                and incident["vma"] in intake.SPEED_LIMITS and set(vehicles) <= offered
                and len(others) == len(set(others))):
            return incident
    raise AssertionError("no fully known 2020 accident with a pedestrian")


@pytest.fixture(scope="module")
def accident_2020(store_con) -> dict:
    return first_known_2020_accident(store_con)


def _app() -> AppTest:
    return run_page(PAGE)


def _fill(app: AppTest, incident: dict) -> AppTest:
    """Type an incident into the form as an operator would (place first, then the form)."""
    app.selectbox(key="severity_dep").set_value(incident["dep"]).run()
    app.selectbox(key="severity_com").set_value(incident["com"])
    app.text_input(key="severity_coordinates").set_value(f"{incident['lat']!r}, {incident['lon']!r}").run()
    when = dt.datetime.fromisoformat(incident["datetime"])
    app.radio(key="severity_moment").set_value(intake.MOMENT_OTHER)
    app.date_input(key="severity_date").set_value(when.date())
    app.time_input(key="severity_time").set_value(when.time())
    counts: dict[int, int] = {}
    for code in incident["vehicles"]:
        counts[code] = counts.get(code, 0) + 1
    for code, count in counts.items():
        if code in intake.MAIN_VEHICLES:
            app.number_input(key=f"severity_catv_{code}").set_value(count)
    app.multiselect(key="severity_other_vehicles").set_value(
        [c for c in counts if c not in intake.MAIN_VEHICLES])
    app.number_input(key="severity_pedestrians").set_value(incident["n_pedestrians"])
    app.number_input(key="severity_people").set_value(incident["n_people"])
    for name in CODED:
        app.selectbox(key=f"severity_{name}").set_value(incident[name])
    app.selectbox(key="severity_vma").set_value(incident["vma"])
    return app


def _submit(app: AppTest) -> AppTest:
    app.button(key="severity_submit").click().run()
    assert not app.exception, app.exception[0].message
    return app


def _headline(app: AppTest) -> str:
    bodies = [h.proto.body for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    assert len(bodies) == 1
    return bodies[0]


def _shown_probability(app: AppTest) -> float:
    return float(re.search(r'data-p-severe="([0-9.]+)"', _headline(app)).group(1))


def test_empty_page_starts_with_every_field_unknown(full_store) -> None:
    app = _app()
    assert app.title[0].value == "Estimation de gravité"
    assert any("Estimer la gravité" in i.value for i in app.info)
    for name in ("dep", "com", *CODED, "vma"):
        assert app.selectbox(key=f"severity_{name}").value is None
    for code in intake.MAIN_VEHICLES:
        assert app.number_input(key=f"severity_catv_{code}").value == 0
    assert app.number_input(key="severity_pedestrians").value is None
    assert app.number_input(key="severity_people").value is None
    assert app.text_input(key="severity_coordinates").value == ""
    assert app.radio(key="severity_moment").value == intake.MOMENT_NOW
    deck = app.get("deck_gl_json_chart")
    assert len(deck) == 1 and picker.DEPARTMENT_LAYER in deck[0].proto.json


def test_real_2020_accident_gives_the_model_estimate(full_store, store_con, severity, accident_2020) -> None:
    app = _submit(_fill(_app(), accident_2020))
    expected = predict_one(severity, accident_2020)
    assert _shown_probability(app) == pytest.approx(expected["p_severe"], abs=1e-6)
    headline = _headline(app)
    assert format_percent(expected["p_severe"], 0) in headline
    # Bands from the card: "Faible" below recall_95, "Élevé" from precision_75, "Moyen" in between.
    chosen = severity.card["thresholds"]["severe"]
    low, high = chosen["recall_95"]["threshold"], chosen["precision_75"]["threshold"]
    band = "Élevé" if expected["p_severe"] >= high else "Moyen" if expected["p_severe"] >= low else "Faible"
    assert f"Risque {band.lower()}" in headline
    # The caption states each band with its 2019 figures, the estimate's own band in bold.
    caption = next(c.value for c in app.caption if "Élevé : à partir de" in c.value)
    validation = severity.card["bands"]["validation"]

    def percent(value: float, digits: int) -> str:
        return f"{value * 100:.{digits}f}".replace(".", ",") + "\u00a0%"

    assert (f"Faible : moins de {percent(low, 1)} — sur 2019, {percent(validation['low']['observed'], 0)} des "
            "accidents de cette bande avaient un tué ou un blessé hospitalisé") in caption
    assert (f"Élevé : à partir de {percent(high, 1)} — sur 2019, {percent(validation['high']['observed'], 0)} des "
            "accidents de cette bande avaient un tué ou un blessé hospitalisé") in caption
    assert f"**{band} : " in caption and caption.count("**") == 2
    assert "au plus 5\u00a0% des accidents graves de 2019" in caption
    assert float(re.search(r'data-p-fatal="([0-9.]+)"', headline).group(1)) == pytest.approx(expected["p_fatal"],
                                                                                              abs=1e-6)
    assert f"Risque d’un tué : <b style=\"font-size:1.6rem\">{format_percent(expected['p_fatal'], 0)}" in headline
    # "Sur 100 accidents passés comparables, N ...": N counted here in the store on the same key facts.
    first, last = severity.card["years"]["training"]
    total, severe = store_con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE a.severe)
        FROM accidents a JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v
            USING (acc_id)
        WHERE a.year BETWEEN ? AND ? AND a.agg = ? AND a.catr = ? AND (a.lum <= 2) = ? AND a.has_pedestrian
          AND a.has_bicycle = ? AND a.has_two_wheeler = ? AND a.has_hgv = ? AND NOT v.obstacle
        """,
        [first, last, accident_2020["agg"], accident_2020["catr"], accident_2020["lum"] <= 2,
         any(c in (1, 80) for c in accident_2020["vehicles"]),
         any(c in (2, 4, 5, 6, 30, 31, 32, 33, 34) for c in accident_2020["vehicles"]),
         any(c in (13, 14, 15, 16, 17) for c in accident_2020["vehicles"])]).fetchall()[0]
    sentence = next(m.value for m in app.markdown if "Sur 100 accidents" in m.value)
    assert f", {round(100 * severe / total)} ont fait un tué ou un blessé hospitalisé" in sentence
    # The estimate was made from exactly the accident's facts.
    record = app.session_state["severity_estimates"][-1]
    shown = dict(record["incident"])
    assert sorted(shown.pop("vehicles")) == sorted(accident_2020["vehicles"])
    assert shown == {k: v for k, v in accident_2020.items() if k != "vehicles"}
    # Similar past accidents: 8 rows of text, and one line in the session list.
    similar = next(t.value for t in app.table if "Bilan" in t.value.columns)
    assert len(similar) == 8 and similar["Date"].str.match(r"\d\d/\d\d/(20[01]\d)").all()
    session = next(t.value for t in app.table if "Bande" in t.value.columns)
    assert len(session) == 1 and session.iloc[0]["Bande"] in ("Faible", "Moyen", "Élevé")


def test_every_field_unknown_gives_an_estimate_with_the_low_support_warning(full_store, severity) -> None:
    app = _app()
    app.radio(key="severity_moment").set_value(intake.MOMENT_UNKNOWN)
    _submit(app)
    expected = predict_one(severity, {})
    assert _shown_probability(app) == pytest.approx(expected["p_severe"], abs=1e-6)
    assert app.session_state["severity_estimates"][-1]["incident"] == {}
    assert any("Peu d’accidents comparables" in w.value and "aucun fait clé" in w.value for w in app.warning)


def test_now_is_the_local_time_at_submit(full_store) -> None:
    app = _app()
    app.selectbox(key="severity_dep").set_value("974").run()
    before = intake.local_now("974")
    _submit(app)
    stamp = dt.datetime.fromisoformat(app.session_state["severity_estimates"][-1]["incident"]["datetime"])
    assert before <= stamp <= intake.local_now("974")


def test_a_department_lists_its_communes_from_the_store(full_store, store_con) -> None:
    app = _app()
    app.selectbox(key="severity_dep").set_value("2A").run()
    communes = app.selectbox(key="severity_com").options
    expected = store_con.execute("SELECT count(DISTINCT com) FROM accidents WHERE dep = '2A'").fetchall()[0][0]
    assert len(communes) == expected + 1  # and "Inconnu"
    assert "Ajaccio (2A004)" in communes
    deck = app.get("deck_gl_json_chart")[0].proto.json
    assert picker.CELL_LAYER in deck


def test_bad_coordinates_name_the_field_and_give_no_estimate(full_store) -> None:
    app = _app()
    app.text_input(key="severity_coordinates").set_value("95, 2.35").run()
    _submit(app)
    assert any(e.value.startswith("Coordonnées : ") for e in app.error)
    assert not [h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    assert "severity_estimates" not in app.session_state


def test_session_list_keeps_every_estimate_and_new_call_clears_the_form(full_store, severity) -> None:
    app = _app()
    app.radio(key="severity_moment").set_value(intake.MOMENT_UNKNOWN)
    app.number_input(key="severity_catv_7").set_value(2)
    _submit(app)
    app.number_input(key="severity_catv_7").set_value(0)
    app.number_input(key="severity_catv_1").set_value(1)
    app.selectbox(key="severity_agg").set_value(1)
    _submit(app)
    session = next(t.value for t in app.table if "Bande" in t.value.columns)
    assert list(session["N°"]) == ["2", "1"]  # newest first
    rows = [r["row"] for r in app.session_state["severity_estimates"]]
    second = predict_one(severity, {"vehicles": [1], "agg": 1})
    assert rows[1]["p_grave"] == pytest.approx(second["p_severe"], abs=5e-5)
    assert json.loads(rows[0]["incident_json"]) == {"vehicles": [7, 7]}
    app.button(key="severity_reset").click().run()
    assert app.number_input(key="severity_catv_1").value == 0
    assert app.selectbox(key="severity_agg").value is None
    assert len(app.session_state["severity_estimates"]) == 2
    exported = pd.read_csv(io.StringIO(estimates_csv(rows)))
    assert exported["numero"].tolist() == [1, 2]
    assert exported["p_grave"].tolist() == [r["p_grave"] for r in rows]
