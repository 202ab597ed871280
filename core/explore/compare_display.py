"""What the « Comparer » tab shows of a :class:`~core.explore.compare.Comparison`, in French (no Streamlit).

Each side's figures as metrics, the table of differences with their 95 %
intervals, one plain sentence per difference saying whether it is beyond
chance, the cautions that limit the reading (overlapping sides, the 2018
break), and the figure of both sides year by year.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go

from core.codebook import HOSPITALISATION_BREAK_YEAR, HOSPITALISED_NOT_COMPARABLE
from core.explore.charts import set_layout, side_by_side
from core.explore.compare import SIDE_FIELDS, Comparison, Difference, Side
from core.explore.periods import NOT_COMPARABLE, Metric
from core.filter_text import filter_lines
from core.formatting import cut_text, format_count, format_decimal, format_percent

SIDE_COLOURS: Final = {"A": "#1f77b4", "B": "#d95f02"}
#: Why a difference touching hospitalisations is not read across the break.
BREAK_REASON: Final = (f"les deux périodes sont de part et d'autre de {HOSPITALISATION_BREAK_YEAR}, où la définition "
                       "de « blessé hospitalisé » a changé : l'écart ne serait pas réel")
CAUTION_POISSON: Final = (
    "Intervalles à 95\u00a0% : rapport de taux exact pour des comptes de Poisson, écart de parts de Newcombe (Wilson). "
    "Un accident peut faire plusieurs tués : les intervalles des tués sont un peu trop étroits. « Au-delà du "
    "hasard » dit qu'un écart est réel, pas ce qui le cause."
)


def _value_text(value: float | None, unit: str) -> str:
    if unit == "share":
        return format_percent(value)
    return format_decimal(value, 2 if unit == "per_100" else 1)


def side_metrics(side: Side, *, hospitalisation_comparable: bool) -> tuple[Metric, ...]:
    """The figures of one side, as the tab's metrics show them.

    Examples
    --------
    >>> from core.explore.compare import CompareChoice, compare
    >>> from core.filters import AccidentFilter
    >>> choice = CompareChoice("period", AccidentFilter(years=(2020, 2020)), AccidentFilter(years=(2019, 2019)))
    >>> result = compare(con, AccidentFilter(), choice, data_years=(2005, 2020))
    >>> [(m.label, m.value) for m in side_metrics(result.a, hospitalisation_comparable=True)][:2]
    [('Accidents', '47\\u202f744'), ('Tués', '2\\u202f780')]
    """
    figures = side.figures
    hospitalised_help = None if hospitalisation_comparable else HOSPITALISED_NOT_COMPARABLE
    return (
        Metric("Accidents", format_count(figures.accidents), None),
        Metric("Tués", format_count(figures.killed), None),
        Metric("Blessés hospitalisés", format_count(figures.hospitalised), None, help=hospitalised_help),
        Metric("Accidents par an", format_decimal(side.accidents_per_year), None,
               help=f"Sur {side.year_count} an{'s' if side.year_count > 1 else ''}."),
        Metric("Tués pour 100 accidents", format_decimal(side.killed_per_100, 2), None),
        Metric("Part d'accidents graves", format_percent(figures.severe_share), None,
               help="Accidents avec au moins un tué ou un blessé hospitalisé."),
    )


def _signed(value: float, digits: int, unit: str = "") -> str:
    return ("+" if value > 0 else "") + format_decimal(value, digits) + unit


def _gap_texts(difference: Difference) -> tuple[str, str]:
    """The estimate and its interval as the table writes them ("× 1,25", "1,20 à 1,30")."""
    estimate = difference.estimate
    if estimate.value is None or estimate.low is None or estimate.high is None:
        return "–", "–"
    if difference.is_ratio:
        return f"× {format_decimal(estimate.value, 2)}", (f"{format_decimal(estimate.low, 2)} à "
                                                         f"{format_decimal(estimate.high, 2)}")
    points = [100 * v for v in (estimate.value, estimate.low, estimate.high)]
    return _signed(points[0], 1, "\u00a0pt"), f"{_signed(points[1], 1)} à {_signed(points[2], 1)}\u00a0pt"


def _verdict(difference: Difference) -> str:
    if not difference.comparable:
        return NOT_COMPARABLE
    beyond = difference.estimate.beyond_chance
    return "–" if beyond is None else ("oui" if beyond else "non")


def difference_table(comparison: Comparison) -> pd.DataFrame:
    """One row per difference: both values, A against B, its 95 % interval and whether it is beyond chance.

    Across the 2018 break the hospitalisation rows keep their values but show
    no gap, no interval, and "non comparable (2018)".
    """
    rows = []
    for difference in comparison.differences:
        gap, interval = _gap_texts(difference) if difference.comparable else (NOT_COMPARABLE, "–")
        rows.append({
            "Indicateur": difference.label,
            "A": _value_text(difference.values[0], difference.unit),
            "B": _value_text(difference.values[1], difference.unit),
            "A par rapport à B": gap,
            "Intervalle à 95\u00a0%": interval,
            "Au-delà du hasard": _verdict(difference),
        })
    return pd.DataFrame(rows)


def _direction(difference: Difference, value: float) -> str:
    """"A est 12,5 % au-dessus de B" for a ratio, "A est 2,1 points au-dessous de B" for a difference."""
    if difference.is_ratio:
        change = value - 1
        amount = format_percent(abs(change))
    else:
        change = value
        amount = f"{format_decimal(abs(100 * value))} point{'s' if abs(100 * value) >= 2 else ''}"
    if round(abs(change) * 1000) == 0:
        return "A est au niveau de B"
    return f"A est {amount} {'au-dessus' if change > 0 else 'au-dessous'} de B"


def difference_sentence(difference: Difference) -> str:
    """A plain French sentence: how A stands against B, the interval, and whether it is beyond chance.

    Examples
    --------
    >>> from core.explore.intervals import rate_ratio
    >>> difference_sentence(Difference("Accidents par an", (200.0, 100.0), "per_year", rate_ratio(200, 1, 100, 1)))
    "Accidents par an : A est 100,0\\xa0% au-dessus de B (× 2,00 ; intervalle à 95\\xa0% : 1,57 à 2,57). \
L'écart est au-delà du hasard."
    """
    if not difference.comparable:
        return f"{difference.label} : pas de comparaison, {BREAK_REASON}."
    estimate = difference.estimate
    if estimate.value is None:
        return f"{difference.label} : pas de comparaison, une des deux sélections n'a rien à compter."
    gap, interval = _gap_texts(difference)
    verdict = ("L'écart est au-delà du hasard." if estimate.beyond_chance
               else "L'écart peut s'expliquer par le hasard.")
    direction = _direction(difference, estimate.value)
    return f"{difference.label} : {direction} ({gap} ; intervalle à 95\u00a0% : {interval}). {verdict}"


def cautions(comparison: Comparison) -> list[str]:
    """What limits the reading of this comparison, most important first."""
    notes = []
    if comparison.identical:
        notes.append("A et B sont la même sélection : il n'y a pas d'écart à attendre.")
    elif comparison.overlap:
        notes.append("A et B se recouvrent (des accidents comptent des deux côtés) : les intervalles, qui les "
                     "supposent distincts, sont à lire avec prudence.")
    if not comparison.hospitalisation_comparable:
        notes.append(HOSPITALISED_NOT_COMPARABLE + " Les blessés hospitalisés et la part d'accidents graves ne "
                     "sont pas comparés.")
    notes.append(CAUTION_POISSON)
    return notes


def shared_caption(shared: Any, *, mode: str, data_years: tuple[int, int]) -> str:
    """The filters common to both sides, in the form's words (the sides' own fields left out).

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> shared_caption(AccidentFilter(years=(2019, 2020), deps=("59",), lum=(3,)), mode="area",
    ...                data_years=(2005, 2020))
    'Filtres communs à A et B : Années : 2019–2020 ; Lumière : Nuit sans éclairage public.'
    """
    open_sides = shared.with_changes(**{name: shared.spec.by_name[name].kind.default for name in SIDE_FIELDS[mode]})
    lines = filter_lines(open_sides, data_years=data_years)
    if mode == "period":
        lines = lines[1:]  # the years are the sides'
    return "Filtres communs à A et B : " + (" ; ".join(lines) if lines else "aucun") + "."


def comparison_figure(comparison: Comparison) -> go.Figure:
    """Accidents and killed per year of both sides, A and B in their own colours on the same axes."""
    fig = go.Figure()
    for side in (comparison.a, comparison.b):
        name = f"{side.name} · {cut_text(side.label, 40)}"
        style = {"mode": "lines+markers", "line": {"color": SIDE_COLOURS[side.name]}, "legendgroup": side.name}
        fig.add_trace(go.Scatter(x=side.by_year["year"], y=side.by_year["accidents"], name=name, **style))
        fig.add_trace(go.Scatter(x=side.by_year["year"], y=side.by_year["killed"], name=name, showlegend=False,
                                 xaxis="x2", yaxis="y2", **style))
    side_by_side(fig, ("Accidents par an", "Tués par an"), split=0.48, gap=0.06)
    tick = {"tickformat": "d"}
    fig.update_layout(xaxis=tick, xaxis2=tick, yaxis={"rangemode": "tozero"}, yaxis2={"rangemode": "tozero"})
    return set_layout(fig, height=380)
