"""The answer every machine door gives for one incident: rounded probabilities and the risk band.

Why a module of its own
-----------------------
``python -m core predict`` and the HTTP API (:mod:`core.api`) must answer with
the same numbers, so both shape :func:`core.model.predict.predict_many`'s
results here, once: probabilities to 4 decimals (the distribution still sums
to 1) and the band of ``p_severe`` (before rounding, as the page) with the card's cut-offs
(:mod:`core.model.risk_bands`). The severity page reads the unrounded figures
and words them itself (:mod:`core.dispatch.bands`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from core.dispatch.bands import severity_band
from core.model.risk_bands import BandThresholds

#: Decimals of the probabilities a machine door answers with.
DECIMALS: Final = 4


def machine_answer(result: Mapping[str, Any], thresholds: BandThresholds) -> dict[str, Any]:
    """One result of :func:`core.model.predict.predict_many` as the command line and the API answer it.

    An error object is returned as it is.

    Examples
    --------
    >>> t = BandThresholds(0.12, 0.59, 2019)
    >>> answer = machine_answer({"p_severe": 0.612345, "p_fatal": 0.100004, "support": 3,
    ...                          "support_severe_share": 2 / 3, "worst_injury": {"unharmed": 0.0,
    ...                          "light": 0.387655, "hospitalised": 0.512341, "killed": 0.100004}}, t)
    >>> answer["p_severe"], answer["worst_injury"], answer["band"], answer["support_severe_share"]
    (0.6123, {'unharmed': 0.0, 'light': 0.3877, 'hospitalised': 0.5123, 'killed': 0.1}, \
{'key': 'high', 'label': 'Élevé'}, 0.6667)
    >>> machine_answer({"id": 3, "error": {"field": "atm", "reason": "…"}}, t)["error"]["field"]
    'atm'
    """
    if "error" in result:
        return dict(result)
    worst = result["worst_injury"]
    killed, hospitalised = round(worst["killed"], DECIMALS), round(worst["hospitalised"], DECIMALS)
    answer = dict(result)
    answer["p_severe"] = round(killed + hospitalised, DECIMALS)
    answer["p_fatal"] = killed
    answer["worst_injury"] = {"unharmed": 0.0, "light": round(1 - killed - hospitalised, DECIMALS),
                              "hospitalised": hospitalised, "killed": killed}
    band = severity_band(result["p_severe"], thresholds)  # as the page bands it: before rounding
    answer["band"] = {"key": band.key, "label": band.label}
    if result.get("support_severe_share") is not None:
        answer["support_severe_share"] = round(result["support_severe_share"], DECIMALS)
    return answer
