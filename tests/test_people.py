"""Call-time facts about the people involved (model v2): the input contract, the features, training's data.

The features are checked against the store's users table read with plain SQL, and against hand-counted
literal descriptions; the contract's refusals name the person and the fact.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.features.columns import columns_from_frame, columns_from_incidents
from core.features.people import PEOPLE_FEATURES, people_features
from core.features.training import incident_from_row, training_frame
from core.incident.fields import IncidentError
from core.incident.parse import parse_incident


def test_people_are_parsed_with_unknowns_as_none() -> None:
    parsed = parse_incident({"n_people": 3, "people": [{"role": 3, "age": 81, "sex": 2}, {"equipment": 0},
                                                        {"role": -1, "age": None, "sex": -1, "equipment": 8}]})
    # The third person is all unknown: nothing is said of them, as the form drops an empty row.
    assert parsed["people"] == ((3, 81, 2, None), (None, None, None, 0))
    assert parse_incident({"people": []})["people"] is None
    assert parse_incident({"people": [{}, {"age": None}]})["people"] is None
    assert parse_incident({})["people"] is None


def test_a_pedestrian_on_rollers_is_a_pedestrian_as_in_training() -> None:
    assert parse_incident({"people": [{"role": 4, "age": 12}]})["people"] == ((3, 12, None, None),)


@pytest.mark.parametrize(("incident", "reason"), [
    ({"n_pedestrians": 0, "people": [{"role": 3, "age": 80}]},
     "1 piéton(s) décrit(s) (rôle « Piéton », role 3) pour 0"),
    ({"n_pedestrians": 1, "people": [{"role": 3}, {"role": 4}]},
     "2 piéton(s) décrit(s) (rôle « Piéton », role 3) pour 1"),
    ({"n_people": 2, "n_pedestrians": 2, "people": [{"role": 1}, {"role": 1}]},
     "2 conducteur(s) ou passager(s) décrit(s) (role 1 ou 2) pour 0 personne(s)"),
])
def test_roles_beyond_the_counts_are_refused(incident, reason: str) -> None:
    with pytest.raises(IncidentError) as refused:
        parse_incident(incident)
    assert refused.value.field == "people" and reason in refused.value.reason


def test_roles_within_the_counts_or_without_counts_are_accepted() -> None:
    assert len(parse_incident({"n_people": 3, "n_pedestrians": 1,
                               "people": [{"role": 3}, {"role": 1}, {"role": 2}]})["people"]) == 3
    assert len(parse_incident({"people": [{"role": 3}, {"role": 3}]})["people"]) == 2


@pytest.mark.parametrize(("people", "field", "reason"), [
    ([{"role": 5}], "people[0].role", "code 5 inconnu"),
    ([{"role": 0}], "people[0].role", "code 0 inconnu"),
    ([{"sex": 0}], "people[0].sex", "code 0 inconnu"),
    ([{"age": 130}], "people[0].age", "entre 0 et 110"),
    ([{"sex": 1}, {"equipment": 12}], "people[1].equipment", "code 12 inconnu"),
    ([{"name": "Paul"}], "people[0].name", "champ inconnu"),
    (["piéton"], "people[0]", "attendu un objet"),
    ("deux", "people", "attendu une liste"),
])
def test_a_wrong_person_is_refused_naming_it(people, field: str, reason: str) -> None:
    with pytest.raises(IncidentError) as refused:
        parse_incident({"people": people})
    assert refused.value.field == field and reason in refused.value.reason


def test_more_people_described_than_involved_is_refused() -> None:
    with pytest.raises(IncidentError, match="3 personnes décrites pour 2"):
        parse_incident({"n_people": 2, "people": [{"age": 30}, {"age": 5}, {"sex": 2}]})


def test_features_of_literal_descriptions_counted_by_hand() -> None:
    rows = people_features([((3, 82, 2, None), (1, 40, 1, 1), (2, 9, None, 3)), ((None, None, None, 0),), None])
    first = dict(zip(PEOPLE_FEATURES, rows[0].tolist(), strict=True))
    assert first == {"people_described": 3, "age_min": 9, "age_max": 82, "n_children": 1, "n_elderly": 1,
                     "driver_age_min": 40, "driver_age_max": 40, "pedestrian_age_min": 82,
                     "pedestrian_age_max": 82, "n_male": 1, "n_female": 1, "n_no_equipment": 0, "n_belt": 1,
                     "n_helmet": 0}
    second = dict(zip(PEOPLE_FEATURES, rows[1].tolist(), strict=True))
    assert second["people_described"] == 1 and second["n_no_equipment"] == 1 and np.isnan(second["age_max"])
    assert np.isnan(rows[2]).all()


@pytest.mark.parametrize("year", [2017, 2020])
def test_training_people_are_the_store_users_as_callers_would_describe_them(store_con, year: int) -> None:
    """Rules of the contract: a pedestrian on rollers (pre-2019 catu 4) is a pedestrian, in the people and in
    ``n_pedestrians``; an age outside 0-110 (a birth year mistyped) is unknown; equipment 8 is unknown. 2017 has
    catu 4 and equipment (the pre-2019 ``secu`` mapped at ingest); 2020 has neither."""
    frame = training_frame(store_con, first_year=year, last_year=year)
    columns = columns_from_frame(frame)
    expected = store_con.execute("""
        SELECT a.acc_id, count(*) AS n, max(a.year - u.birth_year) FILTER (
                   WHERE u.catu IN (3, 4) AND a.year - u.birth_year BETWEEN 0 AND 110) AS oldest_walker,
               count(*) FILTER (WHERE u.catu IN (3, 4)) AS walkers,
               count(*) FILTER (WHERE u.sexe = 2) AS women,
               count(*) FILTER (WHERE u.secu1 = 1) AS belted, count(*) FILTER (WHERE u.secu1 = 0) AS unequipped
        FROM users u JOIN accidents a USING (acc_id) WHERE a.year = ? GROUP BY a.acc_id ORDER BY a.acc_id
    """, [year]).df().set_index("acc_id").reindex(frame["acc_id"])
    features = people_features(columns.described())
    index = {name: i for i, name in enumerate(PEOPLE_FEATURES)}
    assert (features[:, index["people_described"]] == expected["n"].to_numpy()).all()
    assert (features[:, index["n_female"]] == expected["women"].to_numpy()).all()
    assert (features[:, index["n_belt"]] == expected["belted"].to_numpy()).all()
    assert (features[:, index["n_no_equipment"]] == expected["unequipped"].to_numpy()).all()
    assert (frame["n_pedestrians"].to_numpy() == expected["walkers"].to_numpy()).all()
    walkers = expected["oldest_walker"].to_numpy(dtype=float, na_value=np.nan)
    assert np.array_equal(features[:, index["pedestrian_age_max"]], walkers, equal_nan=True)
    if year < 2019:  # the rules above are exercised, not vacuous
        assert expected["belted"].sum() > 10_000
        assert store_con.execute("SELECT count(*) FROM users u JOIN accidents a USING (acc_id) "
                                 "WHERE a.year = ? AND u.catu = 4", [year]).fetchone()[0] > 100


def test_a_store_accident_sent_as_a_call_gives_the_same_people(store_con) -> None:
    frame = training_frame(store_con, first_year=2019, last_year=2019).head(300)
    from_store = columns_from_frame(frame)
    from_calls = columns_from_incidents([parse_incident(incident_from_row(row)) for row in frame.to_dict("records")])
    assert np.array_equal(people_features(from_store.described()), people_features(from_calls.described()),
                          equal_nan=True)


def test_model_page_shows_the_three_ways_people_are_described(full_store) -> None:
    from core import config
    from core.model.loading import load_model
    from tests.apptest import run_page

    people = load_model().card.metrics.test.people
    app = run_page(str(config.ROOT / "app_pages" / "model.py"))
    table = next(t.value for t in app.table if "Ce que l’appelant dit des personnes" in t.value.columns)
    assert len(table) == 3
    shown = table["ROC-AUC (tué)"].tolist()
    expected = [f"{getattr(people, mode).fatal.auc:.3f}".replace(".", ",")
                for mode in ("all_described", "some_described", "none_described")]
    assert shown == expected
    # Describing the people must not make the model worse than describing nobody.
    assert people.all_described.fatal.auc >= people.none_described.fatal.auc
