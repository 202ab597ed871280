"""The answer to an eCall message: the usual estimate of its incident, recalibrated for what an MSD leaves out.

Why a module of its own
-----------------------
The API route and any other door answer an MSD the same way: a test call gets
no estimate; otherwise the incident of :func:`core.ecall.mapping.incident_from_msd`
goes through the one prediction path (:func:`core.model.predict.predict_many`),
and its probabilities through the card's eCall calibration. That second map is
needed because a message says only "this vehicle, these people": read as a
whole call, "one car, two people" is a single-vehicle accident, and on 2020 the
model then over-estimated severe outcomes by about 5 points (ECE 0.06). The maps
are fitted at training on the validation year's accidents replayed as the MSD one
of their vehicles would have sent (:mod:`core.ecall.simulate`), one for messages
whose point is used and one for those without (untrusted, unknown or far
position); the card reports their test-year figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.dispatch.answer import machine_answer
from core.ecall.mapping import EcallIncident
from core.features.facts import known_key_facts
from core.model.metrics import recalibrate_targets
from core.model.predict import past_support, predict_many
from core.model.risk_bands import BandThresholds

#: Key facts a message can only tell as present: its vehicle is one of the accident's, not all of them.
_PRESENCE_ONLY = frozenset(("bicycle", "two_wheeler", "heavy_goods"))

_PLACE_FIELDS = frozenset(("lat", "lon", "dep", "com"))
TEST_CALL_NOTE = "appel de test (testCall) : aucune estimation, aucune intervention à engager"


def ecall_answer(model: Any, ecall: EcallIncident, thresholds: BandThresholds, *, explain: bool = True,
                 parsed_out: list[dict[str, Any] | None] | None = None) -> dict[str, Any]:
    """``{"estimate": …, "ecall": …}``: the machine answer of the message's incident and what the message told.

    ``estimate`` is None for a test call (and ``ecall.note`` says why); else it is
    :func:`core.dispatch.answer.machine_answer`'s answer after the eCall calibration,
    or an ``{"error"}`` object when the incident is refused (it should not be: the
    mapping writes valid fields).
    """
    summary = ecall.summary()
    if ecall.test_call:
        return {"estimate": None, "ecall": {**summary, "note": TEST_CALL_NOTE}}
    result = predict_many(model, [ecall.incident], explain=explain, parsed_out=parsed_out)[0]
    if "error" not in result:
        result = as_message_result(model, result, ecall.incident)
        if ecall.location is not None and ecall.location.method == "nearest":
            # The mapping chose the nearest department for a point at sea or just abroad and says so; the
            # input check's "the place or the department is wrong" would contradict it.
            result["warnings"] = [w for w in result.get("warnings", []) if w["field"] not in _PLACE_FIELDS]
    return {"estimate": machine_answer(result, thresholds), "ecall": summary}


def as_message_result(model: Any, result: dict[str, Any], incident: Mapping[str, Any]) -> dict[str, Any]:
    """A prediction of a message's incident, read as a message's: what the API and the page show.

    The card's eCall calibration is applied (the map with the point when the incident has it, else the
    one without), and the comparable past accidents share :func:`message_key_facts` only.
    """
    return _with_message_support(model, _recalibrate(model, result, with_point="lat" in incident), incident)


def _recalibrate(model: Any, result: dict[str, Any], *, with_point: bool) -> dict[str, Any]:
    """One result with the card's eCall calibration applied to p_severe and p_fatal (killed within severe)."""
    maps = model.card.ecall.calibration
    calibration = maps.with_point if with_point else maps.without_point
    severe, fatal = (float(p[0]) for p in recalibrate_targets(
        {"severe": _as_map(calibration.severe), "fatal": _as_map(calibration.fatal)},
        np.array([result["p_severe"]]), np.array([result["p_fatal"]])))
    out = dict(result)
    out["p_severe"], out["p_fatal"] = severe, fatal
    out["worst_injury"] = {"unharmed": 0.0, "light": 1.0 - severe, "hospitalised": severe - fatal, "killed": fatal}
    return out


def message_key_facts(incident: Mapping[str, Any]) -> dict[str, int]:
    """The key facts an eCall message's incident really tells: a vehicle fact only when present.

    Read as a call, ``vehicles: [7]`` also says "no two-wheeler, no lorry"; a message
    says only that its own vehicle was there.

    Examples
    --------
    >>> message_key_facts({"vehicles": [33], "lum": 1})
    {'daylight': 1, 'two_wheeler': 1}
    """
    return {name: value for name, value in known_key_facts(incident).items()
            if not (name in _PRESENCE_ONLY and value == 0)}


def _with_message_support(model: Any, result: dict[str, Any], incident: Mapping[str, Any]) -> dict[str, Any]:
    """A result whose ``support`` figures count the past accidents sharing :func:`message_key_facts`."""
    count, share = past_support(model, message_key_facts(incident))
    return {**result, "support": count, "support_severe_share": share}


def _as_map(isotonic: Any) -> dict[str, tuple[float, ...]]:
    return {"x": isotonic.x, "y": isotonic.y}
