"""The French sentences about a risk map: why it is empty or meaningless, what its figures stand on.

Built here rather than on the page, so that each sentence is tested without a
browser; the page only chooses where to draw them.
"""

from __future__ import annotations

import pandas as pd

from core import coverage
from core.filters import OUTCOME_LABELS, AccidentFilter
from core.formatting import format_count, format_percent
from core.risk.choices import CONDITIONS, MAX_HEXES, YEARLY_METRICS
from core.risk.result import HexRisk


def metric_help(by_year: pd.DataFrame) -> str:
    """Help of the metric picker: how the per-year figures and the rates are made.

    ``by_year`` is :func:`core.queries.located_by_year`; the share located over
    the default period is computed from it.

    Examples
    --------
    >>> from core import queries
    >>> "98,0\u00a0% des accidents géolocalisés" in metric_help(queries.located_by_year(con))
    True
    """
    first, last = coverage.DEFAULT_YEARS
    period = by_year[by_year["year"].between(first, last)]
    share = period["located"].sum() / period["accidents"].sum() if len(period) else 0.0
    return (
        f"Par an : seules comptent les années où au moins {format_percent(coverage.COVERED_SHARE, 0)} des "
        "accidents du département sont géolocalisés ; chaque accident géolocalisé y compte aussi pour ceux de même "
        "gravité et de même localisation (en ou hors agglomération) restés sans coordonnées ; la moyenne porte sur "
        f"ces années. Période par défaut {first}–{last} : {format_percent(share)} des accidents géolocalisés. "
        "Taux de gravité : part des accidents graves, lissée vers le voisinage, avec son intervalle à 95 %."
    ).replace(" %", "\u00a0%")


#: Above the relative-risk hotspots: what makes a cell one.
RELATIVE_RISK_HOTSPOTS = ("Hexagones où la condition est plus fréquente que dans la France entière, au-delà du "
                          "hasard : risque relatif au-dessus de 1 avec tout son intervalle à 95 %.")


def empty_reason(result: HexRisk, metric: str, condition: str | None) -> str | None:
    """Why the map of ``result`` has nothing to show, in one French line; None when it has.

    No located accident in the selection; or, for the relative risk, no
    accident under ``condition`` (no national share to compare with).
    """
    if result.located == 0:
        return "Aucun accident géolocalisé dans la sélection : élargissez les filtres."
    if metric == "relative_risk" and result.national_share is None:
        return (f"Aucun accident de la sélection sous la condition « {CONDITIONS[condition].label} » : "
                "pas de risque relatif à calculer.")
    return None


def meaningless_reason(accident_filter: AccidentFilter, metric: str, condition: str | None) -> str | None:
    """Why ``metric`` (with ``condition``) can say nothing about this filter's accidents, in one French line.

    None when the map means something. A severity rate among accidents
    already all severe is 100 % everywhere; the relative risk of a condition
    the filter already imposes (or excludes) is 1 (or nothing) everywhere.

    Examples
    --------
    >>> meaningless_reason(AccidentFilter(atm=(2, 3)), "relative_risk", "rain").split(" : ")[0]
    'Risque relatif de « Pluie » sans objet'
    >>> meaningless_reason(AccidentFilter(atm=(2, 4)), "relative_risk", "rain") is None
    True
    """
    if metric == "severity_rate" and accident_filter.outcome != "all":
        return (f"Taux de gravité sans objet : le filtre Gravité ne garde que les accidents "
                f"« {OUTCOME_LABELS[accident_filter.outcome]} », le taux vaudrait 100 % partout. "
                "Choisissez « Tous les accidents » ou un autre indicateur.")
    if condition is None:
        return None
    spec = CONDITIONS[condition]
    fixed = set(getattr(accident_filter, spec.column))
    if not fixed or (fixed & set(spec.codes) and fixed - set(spec.codes)):
        return None
    imposed = fixed <= set(spec.codes)
    if metric == "relative_risk":
        return (f"Risque relatif de « {spec.label} » sans objet : les filtres "
                + ("ne gardent que des accidents sous cette condition (part de 100 % partout)."
                   if imposed else "excluent déjà cette condition (aucun accident sous cette condition).")
                + " Retirez ce filtre ou choisissez une autre condition.")
    return None if imposed else (f"Aucun accident : les filtres excluent déjà la condition « {spec.label} ». "
                                 "Retirez ce filtre ou choisissez une autre condition.")


def years_text(year_span: tuple[int, int]) -> str:
    """How many years the per-year averages span (:attr:`core.risk.result.HexRisk.year_span`).

    Examples
    --------
    >>> years_text((4, 4)), years_text((1, 1)), years_text((2, 3))
    ('4 ans', '1 an', 'de 2 à 3 ans selon le département')
    >>> years_text((0, 0)) == coverage.NO_COUNTED_YEAR
    True
    """
    fewest, most = year_span
    if most == 0:
        return coverage.NO_COUNTED_YEAR
    if fewest == most:
        return f"{most} an{'s' if most > 1 else ''}"
    return f"de {fewest} à {most} ans selon le département"


def located_caption(result: HexRisk, selected: int) -> str:
    """The resolution, the share of the ``selected`` accidents that are located, and the years averaged over."""
    share = result.located / selected if selected else 0
    return (f"Résolution H3 {result.resolution}. {format_percent(share)} des accidents de la sélection sont "
            f"géolocalisés. Moyennes par an : {years_text(result.year_span)}.")


def early_years_note(metric: str, first_year: int, by_year: pd.DataFrame) -> str | None:
    """The bias of rates over the years when few accidents are located, if the selection starts then; else None.

    ``by_year`` is :func:`core.queries.located_by_year`: the years before
    :func:`core.coverage.well_located_from` and their severe shares, located and all, come from it.

    Examples
    --------
    >>> from core import queries
    >>> note = early_years_note("severity_rate", 2015, queries.located_by_year(con))
    >>> note.startswith("Avant 2016, moins de 50")
    True
    >>> early_years_note("severity_rate", 2016, queries.located_by_year(con)) is None
    True
    """
    cut = coverage.well_located_from(by_year)
    if metric in YEARLY_METRICS or cut is None or first_year >= cut:
        return None
    early = by_year[by_year["year"].between(first_year, cut - 1)]
    located = early["located_severe"].sum() / early["located"].sum()
    everyone = early["severe"].sum() / early["accidents"].sum()
    well_located = format_percent(coverage.WELL_LOCATED_SHARE, 0)
    return (f"Avant {cut}, moins de {well_located} des accidents sont géolocalisés, et "
            f"ceux-ci sont plus souvent graves que l'ensemble ({format_percent(located)} contre "
            f"{format_percent(everyone)} sur {first_year}–{cut - 1}) : taux de gravité et risques de ces années "
            "surestimés.").replace(" %", "\u00a0%")


def coarsened_warning(result: HexRisk) -> str | None:
    """That the map was drawn at a coarser resolution than asked, to stay under the cap; None when it was not."""
    if not result.coarsened:
        return None
    return (f"Plus de {format_count(MAX_HEXES)} hexagones à la résolution {result.asked_resolution} : "
            f"carte agrégée à la résolution {result.resolution}.")


def no_hotspot_text(metric: str) -> str:
    """Why the hotspot table is empty."""
    if metric == "relative_risk":
        return "Aucun hexagone dont l'intervalle à 95 % du risque relatif est au-dessus de 1."
    return "Aucun hexagone au-dessus du minimum d'accidents."
