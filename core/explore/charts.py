"""Plotly figures of the explorer's trends, calendars and breakdowns (no Streamlit).

Each builder takes the small frames of :mod:`core.explore` and returns a
figure; labels are the official French wording of :mod:`core.codebook`.
Two-panel figures are laid out by hand (:func:`side_by_side`): ``make_subplots``
costs ten times more for the same layout.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core import codebook
from core.codebook import HOSPITALISATION_BREAK_YEAR

COLOURS = {"accidents": "#1f77b4", "killed": "#b2182b", "hospitalised": "#ef8a62", "light": "#67a9cf",
           "unharmed": "#999999"}
SEVERITY_COLOURS = {codebook.GRAV_KILLED: COLOURS["killed"], codebook.GRAV_HOSPITALISED: COLOURS["hospitalised"],
                    codebook.GRAV_LIGHT: COLOURS["light"], codebook.GRAV_UNHARMED: COLOURS["unharmed"]}
BREAK_NOTE = f"{HOSPITALISATION_BREAK_YEAR} : rupture de série « blessé hospitalisé »"
#: Plotly's decimal and thousands separators: a comma, and a narrow no-break space as in the page's figures.
SEPARATORS = ",\u202f"
#: Counts on axes and colour bars in full (``12 000``), not Plotly's ``12k``.
COUNT_FORMAT = ",d"
MONTH_YEAR_TITLE = "Accidents par mois et par année"
HOUR_WEEKDAY_TITLE = "Accidents par jour de la semaine et par heure"


def set_layout(fig: go.Figure, *, height: int) -> go.Figure:
    """The explorer's common layout: ``height`` px, narrow margins, French separators, legend below."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, separators=SEPARATORS,
                      legend={"orientation": "h", "y": -0.15})
    return fig


def side_by_side(fig: go.Figure, titles: tuple[str, str], *, split: float = 0.62, gap: float = 0.08,
                 shared_y: bool = False) -> None:
    """Two panels side by side (x/y and x2/y2), as ``make_subplots`` would lay them out at a tenth of the cost."""
    fig.update_layout(
        xaxis={"domain": [0, split], "anchor": "y"}, yaxis={"anchor": "x"},
        xaxis2={"domain": [split + gap, 1], "anchor": "y2"},
        yaxis2={"anchor": "x2", **({"matches": "y", "showticklabels": False} if shared_y else {})},
        annotations=[
            {"text": title, "x": (start + end) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14}}
            for title, (start, end) in zip(titles, ((0, split), (split + gap, 1)), strict=True)
        ],
    )


def yearly_trend_figure(by_year: pd.DataFrame) -> go.Figure:
    """Accidents and victims per year, with the 2018 break in hospitalisation recording marked.

    The hospitalised line stops before the break and starts again after it
    (two traces, the second dotted), and a dashed vertical line with a note
    sits between 2017 and 2018 on both panels.

    Parameters
    ----------
    by_year
        :attr:`core.explore.periods.PeriodComparison.by_year`.
    """
    years = by_year["year"]
    before = years < HOSPITALISATION_BREAK_YEAR
    traces = [go.Scatter(x=years, y=by_year["accidents"], name="Accidents", mode="lines+markers",
                         line={"color": COLOURS["accidents"]})]
    for part, name, dash in ((before, f"Blessés hospitalisés (avant {HOSPITALISATION_BREAK_YEAR})", "solid"),
                             (~before, f"Blessés hospitalisés (depuis {HOSPITALISATION_BREAK_YEAR})", "dot")):
        if part.any():
            traces.append(go.Scatter(x=years[part], y=by_year.loc[part, "hospitalised"], name=name,
                                     mode="lines+markers", legendgroup="hospitalised",
                                     line={"color": COLOURS["hospitalised"], "dash": dash}))
    traces.append(go.Scatter(x=years, y=by_year["light"], name="Blessés légers", mode="lines+markers",
                             line={"color": COLOURS["light"]}))
    traces.append(go.Scatter(x=years, y=by_year["killed"], name="Tués", mode="lines+markers", xaxis="x2",
                             yaxis="y2", line={"color": COLOURS["killed"]}))
    fig = go.Figure(traces)
    side_by_side(fig, ("Accidents et blessés", "Tués"))
    if len(years) and years.min() < HOSPITALISATION_BREAK_YEAR <= years.max():
        at = HOSPITALISATION_BREAK_YEAR - 0.5
        fig.update_layout(shapes=[
            {"type": "line", "xref": axis, "yref": "paper", "x0": at, "x1": at, "y0": 0, "y1": 1,
             "line": {"dash": "dash", "color": "#555", "width": 1.5}}
            for axis in ("x", "x2")
        ])
        fig.add_annotation(x=at, y=0.98, xref="x", yref="paper", text=BREAK_NOTE, showarrow=False,
                           xanchor="right", yanchor="top", font={"size": 11, "color": "#555"})
    tick = {"dtick": 1 if len(years) <= 8 else 2, "tickformat": "d"}
    counts = {"rangemode": "tozero", "tickformat": COUNT_FORMAT, "hoverformat": COUNT_FORMAT}
    fig.update_layout(xaxis=tick, xaxis2=tick, yaxis=counts, yaxis2=counts)
    return set_layout(fig, height=420)


def month_year_heatmap(by_month: pd.DataFrame) -> go.Figure:
    """Accidents by month (rows) and year (columns), from :attr:`core.explore.counts.Calendar.by_month`."""
    grid = by_month.pivot_table(index="month", columns="year", values="accidents", aggfunc="sum", fill_value=0)
    grid = grid.reindex(index=list(codebook.MONTH_LABELS), fill_value=0)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(y) for y in grid.columns], y=[codebook.MONTH_LABELS[m] for m in grid.index],
        colorscale="Blues", colorbar={"title": "Accidents", "tickformat": COUNT_FORMAT},
        hovertemplate="%{y} %{x} : %{z:,d} accidents<extra></extra>",
    ))
    fig.update_layout(title=MONTH_YEAR_TITLE)
    # Years as categories: read as numbers, they would get half-year ticks ("2016,5").
    fig.update_xaxes(type="category")
    fig.update_yaxes(autorange="reversed")
    return set_layout(fig, height=420)


def hour_weekday_heatmap(by_hour: pd.DataFrame) -> go.Figure:
    """Accidents by weekday (rows, Monday first) and hour (columns).

    Parameters
    ----------
    by_hour
        :attr:`core.explore.counts.Calendar.by_hour`.
    """
    grid = by_hour.pivot_table(index="weekday", columns="hour", values="accidents", aggfunc="sum", fill_value=0)
    grid = grid.reindex(index=list(codebook.WEEKDAY_LABELS), columns=range(24), fill_value=0)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[f"{h} h" for h in grid.columns], y=[codebook.WEEKDAY_LABELS[d] for d in grid.index],
        colorscale="Blues", colorbar={"title": "Accidents", "tickformat": COUNT_FORMAT},
        hovertemplate="%{y} à %{x} : %{z:,d} accidents<extra></extra>",
    ))
    fig.update_layout(title=HOUR_WEEKDAY_TITLE)
    fig.update_yaxes(autorange="reversed")
    return set_layout(fig, height=360)


def people_figure(people: pd.DataFrame) -> go.Figure:
    """People involved by user category, stacked by severity (killed first).

    Parameters
    ----------
    people
        :attr:`core.explore.breakdowns.Breakdowns.people`.
    """
    fig = go.Figure()
    for grav, rows in people.groupby("grav", sort=False, dropna=False):
        if not rows["people"].any():
            continue
        fig.add_trace(go.Bar(
            y=rows["catu_label"], x=rows["people"], name=rows["grav_label"].iloc[0], orientation="h",
            marker_color=SEVERITY_COLOURS.get(None if pd.isna(grav) else int(grav), "#cccccc"),
            hovertemplate="%{y} : %{x:,d} (%{fullData.name})<extra></extra>",
        ))
    fig.update_layout(barmode="stack", title="Usagers impliqués par catégorie et gravité")
    fig.update_xaxes(tickformat=COUNT_FORMAT)
    fig.update_yaxes(autorange="reversed")
    return set_layout(fig, height=360)


def vehicles_figure(vehicles: pd.DataFrame) -> go.Figure:
    """Vehicles involved by group, and their occupants killed or hospitalised.

    Parameters
    ----------
    vehicles
        :attr:`core.explore.breakdowns.Breakdowns.vehicles`.
    """
    shown = vehicles[vehicles["vehicles"] > 0]
    fig = go.Figure([
        go.Bar(y=shown["label"], x=shown["vehicles"], orientation="h", name="Véhicules",
               marker_color=COLOURS["accidents"]),
        go.Bar(y=shown["label"], x=shown["occupants_killed"], orientation="h", name="Occupants tués",
               marker_color=COLOURS["killed"], xaxis="x2", yaxis="y2"),
        go.Bar(y=shown["label"], x=shown["occupants_hospitalised"], orientation="h",
               name="Occupants blessés hospitalisés", marker_color=COLOURS["hospitalised"], xaxis="x2", yaxis="y2"),
    ])
    side_by_side(fig, ("Véhicules impliqués", "Occupants tués ou hospitalisés"), split=0.46, gap=0.04,
                  shared_y=True)
    fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"}, xaxis={"tickformat": COUNT_FORMAT},
                      xaxis2={"tickformat": COUNT_FORMAT})
    return set_layout(fig, height=360)

