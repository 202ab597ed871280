"""The accident filter form shared by the risk map and the explorer.

One ``st.form`` (one rerun per submit). Its initial values come from the URL
query parameters, and a submit writes the filter back into them, so a link
reproduces what the user saw. Parameters that are not filter fields (the map
view, the metric...) are left alone.
"""

from __future__ import annotations

import streamlit as st

from core import codebook, places
from core.filters import AGE_GROUPS, INVOLVED, OUTCOME_LABELS, VEHICLE_GROUPS, AccidentFilter, read_params
from ui.text import warn_link

YEAR_RANGE = (2005, 2020)
_FILTER_KEYS = {name for name in AccidentFilter.__dataclass_fields__}


def filter_from_url() -> AccidentFilter:
    """The filter carried by the current URL; what a link gets wrong is set aside with a French warning.

    The link's own text is quoted back escaped (a markdown link or image in it shows as typed).
    """
    params = {k: st.query_params.get_all(k)[-1] for k in st.query_params.keys() if k in _FILTER_KEYS}
    accident_filter, notes = read_params(params, years=YEAR_RANGE)
    if notes:
        warn_link(notes, applied="le reste des filtres est appliqué")
        write_filter_to_url(accident_filter)  # the link now says what is applied
    return accident_filter


def write_filter_to_url(accident_filter: AccidentFilter) -> None:
    """Replace the filter parameters of the URL, keeping the others (view, metric...)."""
    wanted = accident_filter.to_params()
    for key in list(st.query_params.keys()):
        if key in _FILTER_KEYS and key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _codes(variable: str) -> list[int]:
    return sorted(codebook.codes_of(variable))


def _multiselect(label: str, variable: str, chosen: tuple[int, ...], key: str) -> tuple[int, ...]:
    picked = st.multiselect(
        label,
        _codes(variable),
        default=[c for c in chosen if c in codebook.codes_of(variable)],
        format_func=lambda code: codebook.label(variable, code),
        key=key,
        placeholder="Tous",
    )
    return tuple(sorted(picked))


def filter_form(key: str, *, container=None, extended: bool = False,
                default_years: tuple[int, int] | None = None) -> AccidentFilter:
    """Draw the filter form and return the filter in force.

    Parameters
    ----------
    key
        Prefix of the widget keys (one per page, e.g. ``"risk"``).
    container
        Where to draw (default: the sidebar).
    extended
        Also offer the explorer's filters: collision type, user category,
        vehicle category and age group.
    default_years
        The page's own period when the URL carries no years (all years when
        None); a page with one writes every chosen period, all years included,
        into the URL.
    """
    current = filter_from_url()
    if default_years and current.years is None:
        current = current.with_changes(years=default_years)
    where = container if container is not None else st.sidebar
    with where.form(f"{key}_filters"):
        years = st.slider("Années", *YEAR_RANGE, value=current.years or YEAR_RANGE, key=f"{key}_years")
        region_names = dict(places.regions())
        regions = st.multiselect(
            "Régions", list(region_names), default=list(current.regions),
            format_func=lambda c: region_names.get(c, c), key=f"{key}_regions", placeholder="Toutes",
        )
        dep_names = dict(places.departments())
        deps = st.multiselect(
            "Départements", list(dep_names), default=list(current.deps),
            format_func=lambda c: f"{c} – {dep_names.get(c, c)}", key=f"{key}_deps", placeholder="Tous",
        )
        atm = _multiselect("Conditions atmosphériques", "atm", current.atm, f"{key}_atm")
        lum = _multiselect("Lumière", "lum", current.lum, f"{key}_lum")
        surf = _multiselect("État de la surface", "surf", current.surf, f"{key}_surf")
        agg = _multiselect("Localisation", "agg", current.agg, f"{key}_agg")
        catr = _multiselect("Catégorie de route", "catr", current.catr, f"{key}_catr")
        first, last = current.hours or (0, 23)
        hour_cols = st.columns(2)
        first = hour_cols[0].selectbox("De (heure)", range(24), index=first, key=f"{key}_hour_from",
                                       format_func=lambda h: f"{h} h")
        last = hour_cols[1].selectbox("À (heure incluse)", range(24), index=last, key=f"{key}_hour_to",
                                      format_func=lambda h: f"{h} h")
        weekdays = st.multiselect(
            "Jours", list(codebook.WEEKDAY_LABELS), default=list(current.weekdays),
            format_func=codebook.WEEKDAY_LABELS.get, key=f"{key}_weekdays", placeholder="Tous",
        )
        months = st.multiselect(
            "Mois", list(codebook.MONTH_LABELS), default=list(current.months),
            format_func=codebook.MONTH_LABELS.get, key=f"{key}_months", placeholder="Tous",
        )
        involves = st.multiselect(
            "Impliquant", list(INVOLVED), default=list(current.involves),
            format_func=codebook.VEHICLE_GROUP_LABELS.get, key=f"{key}_involves", placeholder="Tous usagers",
        )
        outcome = st.radio(
            "Gravité", list(OUTCOME_LABELS), index=list(OUTCOME_LABELS).index(current.outcome),
            format_func=OUTCOME_LABELS.get, key=f"{key}_outcome", horizontal=True,
        )
        col, user_categories, vehicle_groups, age_groups = current.col, current.user_categories, (
            current.vehicle_groups), current.age_groups
        if extended:
            col = _multiselect("Type de collision", "col", current.col, f"{key}_col")
            user_categories = _multiselect("Catégorie d'usager", "catu", current.user_categories, f"{key}_catu")
            vehicle_groups = tuple(st.multiselect(
                "Catégorie de véhicule", list(VEHICLE_GROUPS), default=list(current.vehicle_groups),
                format_func=codebook.VEHICLE_GROUP_LABELS.get, key=f"{key}_vehicle_groups", placeholder="Toutes",
            ))
            age_groups = tuple(st.multiselect(
                "Âge (au moins un usager)", list(AGE_GROUPS), default=list(current.age_groups),
                format_func=lambda g: g.replace("-", "–") + " ans", key=f"{key}_ages", placeholder="Tous",
            ))
        submitted = st.form_submit_button("Appliquer", type="primary")
    if not submitted:
        return current
    chosen = AccidentFilter(
        years=None if tuple(years) == YEAR_RANGE and not default_years else (int(years[0]), int(years[1])),
        regions=tuple(regions), deps=tuple(deps), atm=atm, lum=lum, surf=surf, agg=agg, catr=catr,
        col=col, user_categories=user_categories,
        vehicle_groups=tuple(g for g in VEHICLE_GROUPS if g in vehicle_groups),
        age_groups=tuple(g for g in AGE_GROUPS if g in age_groups),
        hours=None if (first, last) == (0, 23) else (int(first), int(last)),
        weekdays=tuple(sorted(weekdays)), months=tuple(sorted(months)),
        involves=tuple(g for g in INVOLVED if g in involves), outcome=outcome,
    )
    write_filter_to_url(chosen)
    return chosen
