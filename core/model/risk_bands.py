"""The three risk bands of ``p_severe`` and their cut-offs, read from the model card.

Why a module of its own
-----------------------
The bands are the model's own: training chooses their cut-offs on the
validation year (:data:`core.model.metrics.BAND_RULES`) and writes them in the
card. Both the dispatch desk (:mod:`core.dispatch.bands`, the band of an
estimate in words) and the model page (:mod:`core.model.report`, the bands'
table) read them here, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.formatting import format_percent
from core.model.card import ModelCard
from core.model.card_figures import Threshold
from core.model.metrics import BAND_RULES, ordered_cutoffs


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

    ``medium_from`` is the card's ``recall_95`` threshold: the highest
    probability that still flags 95 % of the validation year's severe accidents,
    so "Faible" (below it) holds at most 5 % of them. ``high_from`` is its
    ``precision_75`` threshold: the lowest probability at which at least 75 % of
    the validation accidents flagged were severe ("Élevé" from it); when no
    threshold reached 75 %, the card gives the best-F1 one and ``high_rule``
    has ``fallback="best_f1"``. ``medium_rule`` and ``high_rule`` are the
    card's entries (threshold, flagged_share, precision, recall on validation).
    """

    medium_from: float
    high_from: float
    validation_year: int
    medium_rule: Threshold
    high_rule: Threshold


def band_thresholds(card: ModelCard) -> BandThresholds:
    """Read the band cut-offs from the model card (``thresholds.severe.recall_95`` and ``.precision_75``).

    The card was checked when loaded (:func:`core.model.card.parse_card`): both rules are there.

    Examples
    --------
    >>> t = band_thresholds(model.card)
    >>> round(t.medium_from, 4), round(t.high_from, 4), t.validation_year
    (0.1194, 0.588, 2019)
    """
    chosen = card.thresholds.severe
    medium_rule, high_rule = chosen[BAND_RULES["medium_from"]], chosen[BAND_RULES["high_from"]]
    medium_from, high_from = ordered_cutoffs(medium_rule.threshold, high_rule.threshold)
    return BandThresholds(medium_from, high_from, card.years.validation, medium_rule, high_rule)


def band_range_text(key: str, thresholds: BandThresholds) -> str:
    """The probabilities of a band in words, thresholds to one decimal.

    Examples
    --------
    >>> rule = Threshold(0.2, 0.7, 0.5, 0.95)
    >>> t = BandThresholds(0.2, 0.615, 2019, rule, rule)
    >>> [band_range_text(key, t) for key in ("low", "medium", "high")]
    ['moins de 20,0\\xa0%', 'de 20,0\\xa0% à 61,5\\xa0%', 'à partir de 61,5\\xa0%']
    """
    low, high = format_percent(thresholds.medium_from, 1), format_percent(thresholds.high_from, 1)
    return {"low": f"moins de {low}", "medium": f"de {low} à {high}", "high": f"à partir de {high}"}[key]
