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
    """The two cut-offs of the bands, chosen on the validation year (the card's ``bands``).

    ``medium_from`` is the card's ``recall_95`` threshold: the highest
    probability that still flags 95 % of the validation year's severe accidents,
    so "Faible" (below it) holds at most 5 % of them. ``high_from`` is its
    ``precision_75`` threshold: the lowest probability at which at least 75 % of
    the validation accidents flagged were severe ("Élevé" from it); when no
    threshold reached 75 %, the card gives the best-F1 one and
    ``high_fallback`` is ``"best_f1"``.
    """

    medium_from: float
    high_from: float
    validation_year: int
    high_fallback: str | None = None


def band_thresholds(card: ModelCard) -> BandThresholds:
    """Read the band cut-offs from the model card (``bands.medium_from`` and ``bands.high_from``).

    The card was checked when loaded (:func:`core.model.card.parse_card`): they
    are the ones its ``thresholds.severe`` rules give.

    Examples
    --------
    >>> t = band_thresholds(model.card)
    >>> round(t.medium_from, 4), round(t.high_from, 4), t.validation_year
    (0.1279, 0.5925, 2019)
    """
    bands = card.bands
    return BandThresholds(bands.medium_from.threshold, bands.high_from.threshold, bands.validation.year,
                          bands.high_from.fallback)


def band_range_text(key: str, thresholds: BandThresholds) -> str:
    """The probabilities of a band in words, thresholds to one decimal.

    Examples
    --------
    >>> t = BandThresholds(0.2, 0.615, 2019)
    >>> [band_range_text(key, t) for key in ("low", "medium", "high")]
    ['moins de 20,0\\xa0%', 'de 20,0\\xa0% à 61,5\\xa0%', 'à partir de 61,5\\xa0%']
    """
    low, high = format_percent(thresholds.medium_from, 1), format_percent(thresholds.high_from, 1)
    return {"low": f"moins de {low}", "medium": f"de {low} à {high}", "high": f"à partir de {high}"}[key]
