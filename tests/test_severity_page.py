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
from core.dispatch import bands, intake, picker
from core.dispatch.session import NO_ESTIMATE_LABEL, estimates_csv
from core.features.training import incident_from_row, training_frame
from core.formatting import format_percent
from core.incident.fields import INCIDENT_FIELDS
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from tests.apptest import run_page
from ui import severity_form

PAGE = str(config.ROOT / "app_pages" / "severity.py")
CODED = ("obs", "col", "atm", "lum", "surf", "catr", "int")  # drop-down lists; agg and vma are radio rows


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


def first_known_2020_accident(store_con) -> dict:
    """The first 2020 accident (by acc_id) with every field known and a pedestrian, as a caller would give it."""
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    offered = set(intake.BAAC_VEHICLES)
    for row in frame.to_dict(orient="records"):
        incident = incident_from_row(row)
        vehicles = incident.get("vehicles") or []
        if (len(incident) == len(INCIDENT_FIELDS) and incident["n_pedestrians"] > 0 and incident["obs"] == 0
                and incident["vma"] in intake.SPEED_LIMITS and set(vehicles) <= offered):
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
        app.number_input(key=f"severity_catv_{code}").set_value(count)
    app.number_input(key="severity_pedestrians").set_value(incident["n_pedestrians"])
    app.number_input(key="severity_people").set_value(incident["n_people"])
    for name in CODED:
        app.selectbox(key=f"severity_{name}").set_value(incident[name])
    app.radio(key="severity_agg").set_value(incident["agg"])
    app.radio(key="severity_vma").set_value(incident["vma"])
    for index, person in enumerate(incident.get("people", [])):
        for fact, value in person.items():
            key = severity_form.PERSON_KEY.format(index=index, fact=fact)
            (app.number_input if fact == "age" else app.selectbox)(key=key).set_value(value)
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


def _form_values(app: AppTest) -> dict[str, object]:
    """Every field of the call form as the page shows it, by session key."""
    return {key: app.session_state[key] for key in severity_form.fresh_values()}


def test_empty_page_starts_with_every_field_unknown(full_store) -> None:
    app = _app()
    assert app.title[0].value == "Estimation de gravité"
    assert any("Estimer la gravité" in i.value for i in app.info)
    for name in ("dep", "com", *CODED):
        assert app.selectbox(key=f"severity_{name}").value is None
    assert app.radio(key="severity_agg").value is None and app.radio(key="severity_vma").value is None
    for vehicle in intake.EVERYDAY_VEHICLES:
        assert app.number_input(key=f"severity_vehicle_{vehicle.key}").value == 0
    for code in intake.BAAC_VEHICLES:
        assert app.number_input(key=f"severity_catv_{code}").value == 0
    assert app.number_input(key="severity_pedestrians").value is None
    assert app.number_input(key="severity_people").value is None
    assert app.text_input(key="severity_coordinates").value == ""
    assert app.radio(key="severity_moment").value == intake.MOMENT_NOW
    assert not app.get("deck_gl_json_chart")  # the map is folded until asked for
    app.session_state[severity_form.MAP_PANEL_KEY] = True
    app.run()
    deck = app.get("deck_gl_json_chart")
    assert len(deck) == 1 and picker.DEPARTMENT_LAYER in deck[0].proto.json


def test_new_call_puts_every_field_back_to_its_fresh_value(full_store) -> None:
    """Every field of the form is changed, an estimate made; "Nouvel appel" must give back a fresh page's form."""
    fresh = _form_values(_app())
    app = _app()
    app.selectbox(key="severity_dep").set_value("13").run()
    app.selectbox(key="severity_com").set_value("13055")
    app.text_input(key="severity_coordinates").set_value("43.2965, 5.3698").run()
    app.radio(key="severity_moment").set_value(intake.MOMENT_OTHER)
    app.date_input(key="severity_date").set_value(dt.date(2020, 3, 14))
    app.time_input(key="severity_time").set_value(dt.time(18, 30))
    for vehicle in intake.EVERYDAY_VEHICLES:
        app.number_input(key=f"severity_vehicle_{vehicle.key}").set_value(1)
    for code in intake.BAAC_VEHICLES:
        app.number_input(key=f"severity_catv_{code}").set_value(1)
    app.number_input(key="severity_pedestrians").set_value(2)
    app.number_input(key="severity_people").set_value(40)
    for name in CODED:
        app.selectbox(key=f"severity_{name}").set_value(2)  # a code of every one of them
    app.radio(key="severity_agg").set_value(1)
    app.radio(key="severity_vma").set_value(90)
    for index in range(severity_form.DESCRIBED_PEOPLE):
        app.selectbox(key=severity_form.PERSON_KEY.format(index=index, fact="role")).set_value(1 + index % 3)
        app.number_input(key=severity_form.PERSON_KEY.format(index=index, fact="age")).set_value(20 + index)
        app.selectbox(key=severity_form.PERSON_KEY.format(index=index, fact="sex")).set_value(2)
        app.selectbox(key=severity_form.PERSON_KEY.format(index=index, fact="equipment")).set_value(0)
    _submit(app)
    changed = _form_values(app)
    assert all(changed[key] != fresh[key] for key in fresh if key not in ("severity_date", "severity_time")), \
        [key for key in fresh if changed[key] == fresh[key]]
    assert _shown_probability(app) > 0
    app.button(key="severity_reset").click().run()
    assert not app.exception
    after = _form_values(app)
    assert {k: v for k, v in after.items() if k != "severity_time"} == \
        {k: v for k, v in fresh.items() if k != "severity_time"}
    assert abs(dt.datetime.combine(dt.date.today(), after["severity_time"])
               - dt.datetime.combine(dt.date.today(), fresh["severity_time"])) <= dt.timedelta(minutes=2)
    assert not [h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    assert len(app.session_state["severity_estimates"]) == 1  # the session's list stays


def test_real_2020_accident_gives_the_model_estimate(full_store, store_con, severity, accident_2020) -> None:
    app = _submit(_fill(_app(), accident_2020))
    expected = predict_one(severity, accident_2020)
    assert _shown_probability(app) == pytest.approx(expected["p_severe"], abs=1e-6)
    headline = _headline(app)
    assert format_percent(expected["p_severe"], 0) in headline
    # Bands from the card: "Faible" below recall_95, "Élevé" from precision_75, "Moyen" in between.
    chosen = severity.card.thresholds.severe
    low, high = chosen["recall_95"].threshold, chosen["precision_75"].threshold
    band = "Élevé" if expected["p_severe"] >= high else "Moyen" if expected["p_severe"] >= low else "Faible"
    assert f"Risque {band.lower()}" in headline
    # The caption states each band with its 2019 figures, the estimate's own band in bold.
    caption = next(c.value for c in app.caption if "Élevé : à partir de" in c.value)
    validation = severity.card.bands.validation

    def percent(value: float, digits: int) -> str:
        return f"{value * 100:.{digits}f}".replace(".", ",") + "\u00a0%"

    assert (f"Faible : moins de {percent(low, 1)} — sur 2019, {percent(validation.low.observed, 0)} des "
            "accidents de cette bande avaient un tué ou un blessé hospitalisé") in caption
    assert (f"Élevé : à partir de {percent(high, 1)} — sur 2019, {percent(validation.high.observed, 0)} des "
            "accidents de cette bande avaient un tué ou un blessé hospitalisé") in caption
    assert f"**{band} : " in caption and caption.count("**") == 2
    assert "au plus 5\u00a0% des accidents graves de 2019" in caption
    assert float(re.search(r'data-p-fatal="([0-9.]+)"', headline).group(1)) == pytest.approx(expected["p_fatal"],
                                                                                              abs=1e-6)
    assert f"Risque d’un tué : <b style=\"font-size:1.5rem\">{format_percent(expected['p_fatal'], 0)}" in headline
    assert "parmi les accidents corporels" in headline
    # "Sur 100 accidents passés comparables, N ...": N counted here in the store on the same key facts.
    first, last = severity.card.years.training
    total, severe = store_con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE a.severe)
        FROM accidents a JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v
            USING (acc_id)
        WHERE a.year BETWEEN ? AND ? AND a.agg = ? AND a.catr = ? AND (a.lum <= 2) = ?
          AND EXISTS (SELECT 1 FROM users u WHERE u.acc_id = a.acc_id AND u.catu IN (3, 4))
          AND a.has_bicycle = ? AND a.has_two_wheeler = ? AND a.has_hgv = ? AND NOT v.obstacle
        """,
        [first, last, accident_2020["agg"], accident_2020["catr"], accident_2020["lum"] <= 2,
         any(c in (1, 80) for c in accident_2020["vehicles"]),
         any(c in (2, 4, 5, 6, 30, 31, 32, 33, 34) for c in accident_2020["vehicles"]),
         any(c in (13, 14, 15, 16, 17) for c in accident_2020["vehicles"])]).fetchall()[0]
    # Beside the estimate, what it is compared with: "N sur 100" comparable accidents, and how many they are.
    assert f'data-out-of-100="{round(100 * severe / total)}"' in headline
    assert f">{round(100 * severe / total)} sur 100</div>" in headline
    assert f"les {total:,} accidents".replace(",", "\u202f") in headline
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


def test_an_empty_call_shows_the_base_rate_without_band_or_similar_accidents(full_store, severity) -> None:
    app = _app()
    app.radio(key="severity_moment").set_value(intake.MOMENT_UNKNOWN)
    _submit(app)
    assert app.session_state["severity_estimates"][-1]["incident"] == {}
    bodies = [h.proto.body for h in app.get("html")]
    assert not [b for b in bodies if 'data-testid="severity-estimate"' in b or "severity-band" in b]
    block = next(b for b in bodies if 'data-testid="severity-base-rate"' in b)
    year, share = bands.base_rate(severity.card)
    assert float(re.search(r'data-share="([0-9.]+)"', block).group(1)) == pytest.approx(share, abs=1e-6)
    assert f"{format_percent(share, 0)}</b> des accidents corporels de {year}" in block
    assert not any("Peu d’accidents comparables" in w.value for w in app.warning)
    assert any("il faut connaître le lieu" in i.value for i in app.info)
    assert not [t for t in app.table if "Bilan" in t.value.columns]
    session = next(t.value for t in app.table if "Bande" in t.value.columns)
    assert session.iloc[0]["Bande"] == NO_ESTIMATE_LABEL and session.iloc[0]["Risque grave"] == "–"


def test_similar_accidents_wait_for_the_place(full_store, severity) -> None:
    app = _app()
    app.number_input(key="severity_vehicle_car").set_value(1)
    _submit(app)
    assert _shown_probability(app) > 0  # a key fact: an estimate
    assert any("il faut connaître le lieu" in i.value for i in app.info)
    app.selectbox(key="severity_dep").set_value("13").run()
    _submit(app)
    similar = next(t.value for t in app.table if "Bilan" in t.value.columns)
    assert len(similar) == 8


def test_input_warnings_are_shown_beside_the_estimate(full_store) -> None:
    app = _app()
    app.selectbox(key="severity_dep").set_value("13").run()
    app.text_input(key="severity_coordinates").set_value("50.6372, 3.0633").run()  # Lille, not the 13
    app.number_input(key="severity_vehicle_car").set_value(1)
    _submit(app)
    assert _shown_probability(app) > 0
    assert any("À vérifier" in w.value and "km du département 13" in w.value for w in app.warning)


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
    app.session_state[severity_form.MAP_PANEL_KEY] = True  # the map, unfolded, shows the department's cells
    app.run()
    deck = app.get("deck_gl_json_chart")[0].proto.json
    assert picker.CELL_LAYER in deck


def test_bad_coordinates_name_the_field_and_give_no_estimate(full_store) -> None:
    app = _app()
    app.text_input(key="severity_coordinates").set_value("95, 2.35").run()
    _submit(app)
    assert any(e.value.startswith("Coordonnées : la latitude doit être entre -90 et 90 degrés") for e in app.error)
    assert not [h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    assert "severity_estimates" not in app.session_state


def test_a_pedestrian_described_beyond_the_pedestrians_count_is_refused_in_the_form_words(full_store) -> None:
    app = _app()
    app.number_input(key="severity_pedestrians").set_value(0)
    app.selectbox(key=severity_form.PERSON_KEY.format(index=0, fact="role")).set_value(3)
    app.number_input(key=severity_form.PERSON_KEY.format(index=0, fact="age")).set_value(80)
    _submit(app)
    refusals = [e.value for e in app.error if "1 piéton(s) décrit(s)" in e.value]
    assert len(refusals) == 1 and "« Piéton »" in refusals[0] and "« Piétons »" in refusals[0], list(app.error)
    assert not [h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    # The same pedestrian with "Piétons" at 1 is estimated.
    app.number_input(key="severity_pedestrians").set_value(1)
    _submit(app)
    assert not [e for e in app.error if "piéton(s) décrit(s)" in e.value]
    assert len([h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]) == 1


def test_session_list_keeps_every_estimate_in_local_time(full_store, severity) -> None:
    app = _app()
    app.radio(key="severity_moment").set_value(intake.MOMENT_UNKNOWN)
    app.number_input(key="severity_vehicle_car").set_value(2)
    _submit(app)
    app.selectbox(key="severity_dep").set_value("974").run()
    app.number_input(key="severity_vehicle_car").set_value(0)
    app.number_input(key="severity_vehicle_bicycle").set_value(1)
    app.radio(key="severity_agg").set_value(1)
    _submit(app)
    session = next(t.value for t in app.table if "Bande" in t.value.columns)
    assert list(session["N°"]) == ["2", "1"]  # newest first
    rows = [r["row"] for r in app.session_state["severity_estimates"]]
    second = predict_one(severity, {"dep": "974", "vehicles": [1], "agg": 1})
    assert rows[1]["p_grave"] == pytest.approx(second["p_severe"], abs=5e-5), rows[1]["incident_json"]
    assert json.loads(rows[0]["incident_json"]) == {"vehicles": [7, 7]}
    # Times in each incident's own local time: Paris for an unknown place, Réunion (UTC+4, no DST) for the 974.
    first_stamp, second_stamp = (dt.datetime.fromisoformat(r["heure_estimation"]) for r in rows)
    assert second_stamp.utcoffset() == dt.timedelta(hours=4)
    assert first_stamp.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))
    assert session.iloc[0]["Heure (locale)"] == second_stamp.strftime("%H:%M")
    exported = pd.read_csv(io.StringIO(estimates_csv(rows)))
    assert exported["numero"].tolist() == [1, 2]
    assert exported["p_grave"].tolist() == [r["p_grave"] for r in rows]
