"""Plotly figures of a map's time profile (:class:`~core.risk.profile.TimeProfile`): hour × weekday, month.

Built here rather than with :mod:`core.explore.charts` (a sibling layer, and
its heatmaps read frames by hour where these read bincount arrays); they keep
its look: blue scale for accidents, weekdays as rows Monday first, French
labels of :mod:`core.codebook`, counts as :func:`core.formatting.format_count`
writes them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core import codebook
from core.formatting import NARROW_NBSP, format_count
from core.risk.profile import HOURS, TimeProfile

ACCIDENTS_COLOUR, SEVERE_COLOUR = "#1f77b4", "#b2182b"
HOUR_LABELS = [f"{h} h" for h in range(HOURS)]
SEVERE_WORDS = "graves (tué ou hospitalisé)"


def _layout(fig: go.Figure, *, title: str, height: int) -> go.Figure:
    # separators: decimal comma, narrow no-break space between thousands, as format_count writes them.
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=height, separators="," + NARROW_NBSP,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.2})
    return fig


def _formatted(counts: np.ndarray) -> np.ndarray:
    return np.vectorize(format_count, otypes=[object])(counts)


def hour_weekday_figure(profile: TimeProfile, *, severe: bool = False) -> go.Figure:
    """Accidents (or severe ones) by weekday (rows, Monday first) and hour (columns), as a heatmap.

    Examples
    --------
    >>> empty = np.zeros((7, 24), dtype=int)
    >>> fig = hour_weekday_figure(TimeProfile(empty, empty, np.zeros(12, int), np.zeros(12, int), 0), severe=True)
    >>> fig.layout.title.text, fig.data[0].y[0], fig.data[0].x[-1]
    ('Accidents graves (tué ou hospitalisé) par jour et heure', 'Lundi', '23 h')
    """
    counts = profile.severe_by_hour if severe else profile.accidents_by_hour
    noun = f"accidents {SEVERE_WORDS}" if severe else "accidents"
    fig = go.Figure(go.Heatmap(
        z=counts, x=HOUR_LABELS, y=list(codebook.WEEKDAY_LABELS.values()), customdata=_formatted(counts),
        colorscale="Reds" if severe else "Blues", colorbar={"title": "Graves" if severe else "Accidents"},
        hovertemplate=f"%{{y}} à %{{x}} : %{{customdata}} {noun}<extra></extra>", xgap=1, ygap=1,
    ))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title=f"{noun.capitalize()} par jour et heure", height=320)


def month_figure(profile: TimeProfile) -> go.Figure:
    """Accidents and severe accidents by month, side by side bars labelled with their counts.

    Examples
    --------
    >>> empty = np.zeros((7, 24), dtype=int)
    >>> fig = month_figure(TimeProfile(empty, empty, np.array([1500] + [0] * 11), np.array([40] + [0] * 11), 0))
    >>> fig.layout.title.text, fig.data[0].text[0], fig.data[1].name
    ('Accidents et accidents graves par mois', '1\u202f500', 'Accidents graves (tué ou hospitalisé)')
    """
    months = list(codebook.MONTH_LABELS.values())
    fig = go.Figure([
        go.Bar(x=months, y=profile.accidents_by_month, name="Accidents", marker_color=ACCIDENTS_COLOUR,
               text=_formatted(profile.accidents_by_month), textposition="outside",
               hovertemplate="%{x} : %{text} accidents<extra></extra>"),
        go.Bar(x=months, y=profile.severe_by_month, name=f"Accidents {SEVERE_WORDS}", marker_color=SEVERE_COLOUR,
               text=_formatted(profile.severe_by_month), textposition="outside",
               hovertemplate=f"%{{x}} : %{{text}} accidents {SEVERE_WORDS}<extra></extra>"),
    ])
    fig.update_layout(barmode="group", yaxis={"rangemode": "tozero"})
    return _layout(fig, title="Accidents et accidents graves par mois", height=340)
