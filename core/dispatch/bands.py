"""The estimate in an operator's words: risk band, "N out of 100", support warning, main factors.

Why a module of its own
-----------------------
A probability alone does not tell an operator what to do. The band cut-offs
(:mod:`core.model.risk_bands`) come from the model card, chosen on the
validation year only (not set by hand, never on the test year): "Faible" below the highest threshold that still
flags 95 % of the validation year's severe accidents, so that it holds at most
5 % of them; "Élevé" from the lowest threshold at which at least 75 % of the
validation accidents flagged were severe; "Moyen" in between (the rules live in
:data:`core.model.metrics.BAND_RULES`). "Of 100 comparable past accidents, N
had a killed or hospitalised victim" restates the support in countable terms;
and the warning says when that comparison rests on too few accidents, or on no
known key fact at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from core import codebook
from core.features.facts import known_key_facts
from core.formatting import format_percent
from core.incident.parse import parse_incident
from core.model.card import ModelCard
from core.model.metrics import BAND_KEYS, BAND_RULES, PRECISION_RULES, RECALL_RULES
from core.model.risk_bands import BANDS, Band, BandThresholds, band_range_text, band_thresholds

#: Below this many comparable past accidents, "N out of 100" is extrapolated: warn.
MIN_SUPPORT: Final = 100


def severity_band(p_severe: float, thresholds: BandThresholds) -> Band:
    """The band of a probability.

    Examples
    --------
    >>> t = band_thresholds(model.card)
    >>> [severity_band(p, t).label for p in (0.1, t.medium_from, t.high_from - 1e-9, t.high_from)]
    ['Faible', 'Moyen', 'Moyen', 'Élevé']
    """
    if p_severe >= thresholds.high_from:
        return BANDS["high"]
    if p_severe >= thresholds.medium_from:
        return BANDS["medium"]
    return BANDS["low"]


def band_rule_text(card: ModelCard) -> str:
    """How the bands were chosen, in French, from the rule constants and the card.

    Examples
    --------
    >>> band_rule_text(model.card)[:63]
    'Seuils choisis sur 2019 seulement : « Faible » regroupe au plus'
    """
    thresholds = band_thresholds(card)
    year = thresholds.validation_year
    low_recall = RECALL_RULES[BAND_RULES["medium_from"]]
    high_precision = PRECISION_RULES[BAND_RULES["high_from"]]
    at_most = format_percent(1 - low_recall, 0)
    text = (f"Seuils choisis sur {year} seulement : « Faible » regroupe au plus {at_most} des "
            f"accidents graves de {year} (un tué ou un blessé hospitalisé) ; dans « Élevé », au moins "
            f"{format_percent(high_precision, 0)} des accidents de {year} étaient graves.")
    if thresholds.high_fallback:
        text = (f"Seuils choisis sur {year} seulement : « Faible » regroupe au plus {at_most} "
                f"des accidents graves de {year} (un tué ou un blessé hospitalisé). Aucun seuil n’atteignait "
                f"{format_percent(high_precision, 0)} d’accidents graves sur {year} : « Élevé » commence au seuil du "
                "meilleur F1 (équilibre entre précision et rappel).")
    return text


def band_sentences(card: ModelCard) -> list[tuple[Band, str]]:
    """Per band, its range and what it held on the validation year, in French.

    Reads ``bands.validation`` of the card: the share of the validation year's
    accidents in the band and the share of them that were severe.

    Examples
    --------
    >>> band_sentences(model.card)[2][1]
    'Élevé : à partir de 59,3\\xa0% — sur 2019, 75\\xa0% des accidents de cette bande avaient un tué ou un \
blessé hospitalisé (30\\xa0% des accidents).'
    """
    thresholds = band_thresholds(card)
    validation = card.bands.validation
    sentences = []
    for key in BAND_KEYS:
        band, figures = BANDS[key], validation.of(key)
        sentence = (f"{band.label} : {band_range_text(key, thresholds)} — sur {validation.year}, "
                    f"{format_percent(figures.observed, 0)} des accidents de cette bande avaient un tué ou un "
                    f"blessé hospitalisé ({format_percent(figures.share, 0)} des accidents")
        if key == "low":
            sentence += f", {format_percent(figures.share_of_positives, 0)} des accidents graves"
        sentences.append((band, sentence + ")."))
    return sentences


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


#: Fields that place the incident (any one is enough for "the place is known").
PLACE_FIELDS: Final = ("dep", "com", "lat")


@dataclass(frozen=True)
class CallFacts:
    """What a call tells that decides how its answer is shown: its key facts and whether the place is known.

    Read once per estimate with :func:`call_facts`.
    """

    key_facts: dict[str, int]
    knows_place: bool

    @property
    def empty(self) -> bool:
        """Neither the place nor any key fact: the model could only restate the average.

        Such a call gets the base rate (:func:`base_rate`), shown as what it
        is, not an estimate with a band.
        """
        return not self.key_facts and not self.knows_place

    @property
    def similar_missing(self) -> str | None:
        """What the call must still tell before "similar accidents nearby" mean anything (French); None when ready.

        Similar means sharing the key facts, near the place: both must be known.
        """
        missing = []
        if not self.knows_place:
            missing.append("le lieu (département, commune ou coordonnées)")
        if not self.key_facts:
            missing.append("au moins un fait clé (véhicules, piéton, agglomération, route, jour ou nuit, obstacle)")
        return " et ".join(missing) or None


def call_facts(incident: Mapping[str, Any]) -> CallFacts:
    """The key facts of an incident and whether it says where it happened (department, commune or point).

    Examples
    --------
    >>> call_facts({"dep": "59"}).empty, call_facts({"atm": 2, "datetime": "2020-03-14T18:30"}).empty
    (False, True)
    >>> call_facts({"lat": -1, "lon": -1, "vehicles": [7]}).similar_missing
    'le lieu (département, commune ou coordonnées)'
    >>> call_facts({"com": "13055", "vehicles": [7]}).similar_missing is None
    True
    """
    parsed = parse_incident(incident)
    return CallFacts(known_key_facts(parsed=parsed), any(parsed[name] is not None for name in PLACE_FIELDS))


def base_rate(card: ModelCard) -> tuple[int, float]:
    """The share of the validation year's injury accidents with a killed or hospitalised victim.

    The validation year is the most recent year recorded as the model's
    probabilities are (the hospitalisation rule changed in 2018).

    Examples
    --------
    >>> year, share = base_rate(model.card)
    >>> year, round(share, 4)
    (2019, 0.3607)
    """
    validation = card.metrics.validation
    return validation.year, validation.severe.observed


def support_warning(result: Mapping[str, Any], facts: Mapping[str, int], *, years: Sequence[int]) -> str | None:
    """The warning to show when the comparison with past accidents rests on few of them, else None.

    No key fact known is not a warning: the comparison then covers every past
    accident and the page says so beside the estimate.

    Examples
    --------
    >>> support_warning({"support": 40}, {"agg": 2}, years=(2005, 2019))[:60]
    'Peu d’accidents comparables : seulement 40 accidents de 2005'
    >>> support_warning({"support": 900}, {"agg": 2}, years=(2005, 2019)) is None
    True
    >>> support_warning({"support": 295410}, {}, years=(2005, 2019)) is None
    True
    """
    first, last = years
    support = int(result.get("support") or 0)
    if facts and support < MIN_SUPPORT:
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
