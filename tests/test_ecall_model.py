"""The eCall answer on real accidents: replayed messages, the eCall calibration, the card's figures."""

from __future__ import annotations

import numpy as np
import pytest

from core.dispatch.ecall import ecall_answer
from core.ecall.mapping import CATV_OF_CLASS, incident_from_msd
from core.ecall.msd import read_msd
from core.ecall.simulate import CLASS_OF_CATV, accident_messages
from core.features.training import training_frame
from core.model.loading import load_model
from core.model.metrics import apply_calibration, binary_metrics
from core.model.predict import predict_many
from core.model.risk_bands import band_thresholds


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def accidents_2020(store_con):
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    return frame.sample(3_000, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="module")
def replayed(store_con, accidents_2020):
    messages = accident_messages(store_con, accidents_2020.to_dict("records"), np.random.default_rng(3))
    kept = [row for row, message in enumerate(messages) if message is not None]
    return accidents_2020.iloc[kept].reset_index(drop=True), [messages[row] for row in kept]


def test_each_accident_with_a_motor_vehicle_is_replayed_from_one_of_its_vehicles(store_con, replayed) -> None:
    accidents, messages = replayed
    assert len(messages) > 2_700  # most accidents have a car, a van, a lorry or a powered two-wheeler
    catv_of = {}
    for acc_id, catv in store_con.execute(
            "SELECT acc_id, list(catv) FROM vehicles WHERE acc_id IN (SELECT unnest(?::BIGINT[])) GROUP BY acc_id",
            [accidents["acc_id"].tolist()]).fetchall():
        catv_of[acc_id] = catv
    for row, message in zip(accidents.to_dict("records"), messages, strict=True):
        read_msd(message)  # a valid MSD
        classes = {CLASS_OF_CATV[c] for c in catv_of[row["acc_id"]] if c in CLASS_OF_CATV}
        assert message["vehicleType"] in classes
        incident = incident_from_msd(message).incident
        assert incident["vehicles"] == [CATV_OF_CLASS[message["vehicleType"]][0]]
        assert incident["n_people"] >= 1
        if len(row["dep"]) == 2 and row["minute"] == row["minute"]:  # mainland: Paris time round-trips
            assert incident["datetime"] == f"{row['year']:04d}-{row['month']:02d}-{row['day']:02d}T" \
                                           f"{row['hour']:02d}:{int(row['minute']):02d}"


def test_the_ecall_answers_on_2020_are_calibrated_and_the_correction_goes_the_right_way(model, replayed) -> None:
    accidents, messages = replayed
    thresholds = band_thresholds(model.card)
    answers = [ecall_answer(model, incident_from_msd(m), thresholds, explain=False)["estimate"] for m in messages]
    p_ecall = np.array([a["p_severe"] for a in answers])
    as_calls = predict_many(model, [incident_from_msd(m).incident for m in messages], explain=False)
    p_call = np.array([r["p_severe"] for r in as_calls])
    severe = accidents["severe"].to_numpy().astype(int)
    observed = severe.mean()
    # Read as whole calls, the messages over-estimate (a lone vehicle); the eCall maps bring them back.
    assert p_call.mean() - observed > 0.01
    assert abs(p_ecall.mean() - observed) < min(0.025, p_call.mean() - observed)
    assert binary_metrics(severe, p_ecall)["auc"] > 0.78
    assert all(a["p_fatal"] <= a["p_severe"] and a["band"]["key"] in ("low", "medium", "high") for a in answers)
    # Never a certainty either way, with the point or without.
    untrusted = [ecall_answer(model, incident_from_msd({**m, "positionCanBeTrusted": False}), thresholds,
                              explain=False)["estimate"] for m in messages]
    for answer in (*answers, *untrusted):
        assert 0 < answer["p_fatal"] <= answer["p_severe"] < 1


def test_a_message_without_its_point_is_answered_with_the_other_map(model, replayed) -> None:
    _, messages = replayed
    thresholds = band_thresholds(model.card)
    maps = model.card.ecall.calibration
    assert maps.without_point.severe != maps.with_point.severe
    for message in messages[:20]:
        untrusted = incident_from_msd({**message, "positionCanBeTrusted": False})
        assert "lat" not in untrusted.incident
        answer = ecall_answer(model, untrusted, thresholds, explain=False)["estimate"]
        raw = predict_many(model, [untrusted.incident], explain=False)[0]["p_severe"]
        expected = apply_calibration({"x": maps.without_point.severe.x, "y": maps.without_point.severe.y},
                                     np.array([raw]))[0]
        assert answer["p_severe"] == pytest.approx(expected, abs=1.1e-4)  # killed and hospitalised are rounded apart


def test_the_card_reports_what_a_message_gives_beside_the_full_call(model) -> None:
    test = model.card.ecall.test
    assert test.year == model.card.years.test and test.rows > 40_000
    assert test.full_call.severe.auc > test.msd_facts.severe.auc > test.message.severe.auc
    assert test.message.severe.ece <= 0.02 < test.message_uncalibrated.severe.ece
    assert test.untrusted_position.severe.auc < test.message.severe.auc


def test_the_comparable_accidents_of_a_message_are_not_told_the_other_vehicles_are_absent(model, replayed) -> None:
    thresholds = band_thresholds(model.card)
    _, messages = replayed
    car = next(m for m in messages if m["vehicleType"] == "passengerVehicleClassM1")
    motorcycle = {**car, "vehicleType": "motorcyclesClassL3e"}  # same place and time
    answers = {}
    for name, message in (("car", car), ("motorcycle", motorcycle)):
        ecall = incident_from_msd(message)
        answers[name] = ecall_answer(model, ecall, thresholds, explain=False)["estimate"]
        as_call = predict_many(model, [ecall.incident], explain=False)[0]
        # Read as a call, [7] also means "no two-wheeler, no bicycle, no lorry": fewer comparable accidents.
        assert answers[name]["support"] > as_call["support"] > 0
    # A powered two-wheeler among the vehicles: comparable past accidents are more often severe.
    assert answers["motorcycle"]["support"] < answers["car"]["support"]
    assert answers["motorcycle"]["support_severe_share"] > answers["car"]["support_severe_share"]
