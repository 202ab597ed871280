"""The estimate in an operator's words: risk band, "N out of 100", support warning, main factors.

Why a module of its own
-----------------------
A probability alone does not tell an operator what to do. The band cut-offs
come from the model card (thresholds chosen on the validation year, not set by
hand); "of 100 comparable past accidents, N had a killed or hospitalised
victim" restates the support in countable terms; and the warning says when
that comparison rests on too few accidents, or on no known key fact at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from core import codebook
from core import features as F

#: Below this many comparable past accidents, "N out of 100" is extrapolated: warn.
MIN_SUPPORT: Final = 100


@dataclass(frozen=True)
class Band:
    """A risk band: ``key`` (low, medium, high), French label and colour."""

    key: str
    label: str
    colour: str


BANDS: Final[dict[str, Band]] = {
    "low": Band("low", "Faible", "#1a7f37"),
    "medium": Band("medium", "Moyen", "#b35900"),
    "high": Band("high", "Élevé", "#c62828"),
}


@dataclass(frozen=True)
class BandThresholds:
    """The two cut-offs of the bands, chosen on the validation year (see the model card).

    ``medium_from``: the highest probability that still flags 80 % of the
    validation year's severe accidents (recall 80 %); ``high_from``: the one
    with the best F1 (balance of precision and recall).
    """

    medium_from: float
    high_from: float
    validation_year: int
    medium_rule: Mapping[str, float]
    high_rule: Mapping[str, float]


def band_thresholds(card: Mapping[str, Any]) -> BandThresholds:
    """Read the band cut-offs from the model card (``thresholds.severe``).

    Examples
    --------
    >>> card = {"years": {"validation": 2019}, "thresholds": {"severe": {
    ...     "recall_80": {"threshold": 0.21, "recall": 0.8}, "best_f1": {"threshold": 0.4, "recall": 0.6}}}}
    >>> t = band_thresholds(card); (t.medium_from, t.high_from)
    (0.21, 0.4)
    """
    chosen = card["thresholds"]["severe"]
    rules = sorted((chosen["recall_80"], chosen["best_f1"]), key=lambda rule: rule["threshold"])
    return BandThresholds(float(rules[0]["threshold"]), float(rules[1]["threshold"]),
                          int(card["years"]["validation"]), rules[0], rules[1])


def severity_band(p_severe: float, thresholds: BandThresholds) -> Band:
    """The band of a probability.

    Examples
    --------
    >>> t = BandThresholds(0.2, 0.4, 2019, {}, {})
    >>> [severity_band(p, t).label for p in (0.1, 0.2, 0.39, 0.4)]
    ['Faible', 'Moyen', 'Moyen', 'Élevé']
    """
    if p_severe >= thresholds.high_from:
        return BANDS["high"]
    if p_severe >= thresholds.medium_from:
        return BANDS["medium"]
    return BANDS["low"]


def out_of_100(result: Mapping[str, Any]) -> int | None:
    """Of 100 comparable past accidents, how many had a killed or hospitalised victim (None without any).

    Examples
    --------
    >>> out_of_100({"support": 812, "support_severe_share": 0.3166}), out_of_100({"support": 0})
    (32, None)
    """
    share = result.get("support_severe_share")
    if not result.get("support") or share is None:
        return None
    return int(round(100 * share))


def known_key_facts(incident: Mapping[str, Any]) -> dict[str, int]:
    """The key facts (:data:`core.features.KEY_FACTS`) the incident tells, as 0/1 or codes.

    Examples
    --------
    >>> known_key_facts({"agg": 2, "lum": 3, "vehicles": [7]})
    {'agg': 2, 'daylight': 0, 'bicycle': 0, 'two_wheeler': 0, 'heavy_goods': 0}
    """
    facts = F.key_facts(F.columns_from_incidents([F.parse_incident(incident)]))[0]
    return {name: int(value) for name, value in zip(F.KEY_FACTS, facts, strict=True) if not np.isnan(value)}


_FACT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "daylight": ("de nuit", "de jour (plein jour, crépuscule ou aube)"),
    "pedestrian": ("sans piéton", "piéton impliqué"),
    "bicycle": ("sans vélo", "vélo impliqué"),
    "two_wheeler": ("sans deux-roues motorisé", "deux-roues motorisé impliqué"),
    "heavy_goods": ("sans poids lourd", "poids lourd impliqué"),
    "obstacle": ("sans obstacle fixe heurté", "obstacle fixe heurté"),
}


def describe_key_facts(facts: Mapping[str, int]) -> str:
    """Known key facts in words, as the comparison uses them.

    Examples
    --------
    >>> describe_key_facts({"agg": 1, "catr": 3, "daylight": 0, "pedestrian": 1})
    'Hors agglomération, Route Départementale, de nuit, piéton impliqué'
    >>> describe_key_facts({})
    'aucun fait clé connu'
    """
    words = []
    for name, value in facts.items():
        if name in ("agg", "catr"):
            words.append(codebook.label(name, value))
        else:
            words.append(_FACT_WORDS[name][int(bool(value))])
    return ", ".join(words) if words else "aucun fait clé connu"


def support_warning(result: Mapping[str, Any], facts: Mapping[str, int], *, years: Sequence[int]) -> str | None:
    """The warning to show when the estimate rests on few comparable past accidents, else None.

    Two cases: no key fact is known (every past accident "shares" the facts, so
    the comparison says nothing about this one: the estimate is close to the
    national average), or fewer than :data:`MIN_SUPPORT` past accidents share them.

    Examples
    --------
    >>> support_warning({"support": 40}, {"agg": 2}, years=(2005, 2019))[:60]
    'Peu d’accidents comparables : seulement 40 accidents de 2005'
    >>> support_warning({"support": 900}, {"agg": 2}, years=(2005, 2019)) is None
    True
    """
    first, last = years
    if not facts:
        return ("Peu d’accidents comparables : aucun fait clé n’est connu (agglomération, catégorie de route, "
                "jour ou nuit, piéton, vélo, deux-roues motorisé, poids lourd, obstacle fixe). L’estimation est "
                "proche de la moyenne de tous les accidents : demandez au moins le lieu et les usagers impliqués.")
    support = int(result.get("support") or 0)
    if support < MIN_SUPPORT:
        return (f"Peu d’accidents comparables : seulement {support} accidents de {first}–{last} partagent les "
                f"faits clés connus (moins de {MIN_SUPPORT}). Estimation peu étayée, à prendre avec prudence.")
    return None


def factors_by_direction(result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The main factors pushing the estimate up and down, as short French phrases.

    Examples
    --------
    >>> factors_by_direction({"top_factors": [
    ...     {"label": "Véhicules", "value": "1 × Bicyclette", "effect": 0.4},
    ...     {"label": "Agglomération", "value": "En agglomération", "effect": -0.3}]})
    (['Véhicules : 1 × Bicyclette'], ['Agglomération : En agglomération'])
    """
    up, down = [], []
    for factor in result.get("top_factors", []):
        text = f"{factor['label']} : {factor['value']}"
        (up if factor["effect"] > 0 else down).append(text)
    return up, down


def worst_injury_shares(result: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The worst-injury distribution with the official ``grav`` labels, most severe first.

    Examples
    --------
    >>> worst_injury_shares({"worst_injury": {"unharmed": 0.0, "light": 0.6, "hospitalised": 0.35,
    ...                                       "killed": 0.05}})
    [('Tué', 0.05), ('Blessé hospitalisé', 0.35), ('Blessé léger', 0.6), ('Indemne', 0.0)]
    """
    worst = result["worst_injury"]
    return [
        (codebook.label("grav", codebook.GRAV_KILLED), float(worst["killed"])),
        (codebook.label("grav", codebook.GRAV_HOSPITALISED), float(worst["hospitalised"])),
        (codebook.label("grav", codebook.GRAV_LIGHT), float(worst["light"])),
        (codebook.label("grav", codebook.GRAV_UNHARMED), float(worst["unharmed"])),
    ]
