"""The accident filter form shared by the risk map and the explorer, drawn from the field table.

One ``st.form`` (one rerun per submit) with one widget per field of
:mod:`core.filter_fields`, chosen by the field's kind: a field added to the
table appears here without a line of this module changing. Its initial values
come from the URL query parameters, and a submit writes the filter back into
them, so a link reproduces what the user saw. Parameters that are not filter
fields (the map view, the metric...) are left alone.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.filter_fields import FilterField
from core.filters import AccidentFilter, read_params
from ui import data, url
from ui.text import warn_link


def data_years() -> tuple[int, int]:
    """The first and last year of the store: the bounds of every year range."""
    summary = data.store_summary()
    return int(summary["first_year"]), int(summary["last_year"])


def filter_from_url(filter_class: type = AccidentFilter) -> Any:
    """The filter carried by the current URL; what a link gets wrong is set aside with a French warning.

    The link's own text is quoted back escaped (a markdown link or image in it shows as typed).
    """
    spec = filter_class.spec
    params = url.read_params(spec.by_name)
    accident_filter, notes = read_params(params, years=data_years(), spec=spec)
    if notes:
        warn_link(notes, applied="le reste des filtres est appliqué")
        write_filter_to_url(accident_filter)  # the link now says what is applied
    return accident_filter


def write_filter_to_url(accident_filter: Any) -> None:
    """Replace the filter parameters of the URL, keeping the others (view, metric...)."""
    url.write_params(accident_filter.to_params(), owned=accident_filter.spec.by_name)


def _range(f: FilterField, current: tuple[int, int] | None, key: str, bounds: tuple[int, int]) -> tuple[int, int]:
    chosen = st.slider(f.label, *bounds, value=current or bounds, key=key)
    return int(chosen[0]), int(chosen[1])


def _hour_range(f: FilterField, current: tuple[int, int] | None, key: str) -> tuple[int, int]:
    low, high = f.kind.bounds
    first, last = current or (low, high)
    columns = st.columns(2)
    hours = range(low, high + 1)
    first = columns[0].selectbox("De (heure)", hours, index=first - low, key=f"{key}_from", format_func=_hour)
    last = columns[1].selectbox("À (heure incluse)", hours, index=last - low, key=f"{key}_to", format_func=_hour)
    return int(first), int(last)


def _hour(hour: int) -> str:
    return f"{hour} h"


def _multiselect(f: FilterField, current: tuple, key: str) -> tuple:
    options = f.kind.options()
    picked = st.multiselect(f.form_label or f.label, options, default=[v for v in current if v in options],
                            format_func=f.kind.option_label, key=key, placeholder=f.placeholder)
    return tuple(v for v in options if v in picked)  # in the options' order, whatever the clicks' order


def _radio(f: FilterField, current: str, key: str) -> str:
    options = f.kind.options()
    return st.radio(f.form_label or f.label, options, index=options.index(current), format_func=f.kind.option_label,
                    key=key, horizontal=True)


def _widget(f: FilterField, current: Any, key: str, years: tuple[int, int]) -> Any:
    if f.kind.widget == "range":
        return _range(f, current, key, years)
    if f.kind.widget == "hour_range":
        return _hour_range(f, current, key)
    if f.kind.widget == "radio":
        return _radio(f, current, key)
    return _multiselect(f, current, key)


def _full_range_as_default(f: FilterField, value: Any, years: tuple[int, int]) -> Any:
    """A range that spans all its bounds restricts nothing: keep it as the field's default."""
    if f.kind.widget in ("range", "hour_range"):
        bounds = years if f.kind.widget == "range" else f.kind.bounds
        return f.kind.default if value == bounds else value
    return value


def filter_form(key: str, *, container=None, extended: bool = False, default_years: tuple[int, int] | None = None,
                filter_class: type = AccidentFilter) -> Any:
    """Draw the filter form and return the filter in force.

    Parameters
    ----------
    key
        Prefix of the widget keys (one per page, e.g. ``"risk"``); a field's
        widget key is ``f"{key}_{field name}"``.
    container
        Where to draw (default: the sidebar).
    extended
        Also offer the explorer's filters (the fields marked ``extended``).
    default_years
        The page's own period when the URL carries no years (all years when
        None); a page with one writes every chosen period, all years included,
        into the URL.
    filter_class
        The filter to ask for (default the accident filter; tests pass one
        built from another field table).
    """
    years = data_years()
    current = filter_from_url(filter_class)
    if default_years and current.years is None:
        current = current.with_changes(years=default_years)
    shown = [f for f in filter_class.spec.fields if extended or not f.extended]
    where = container if container is not None else st.sidebar
    with where.form(f"{key}_filters"):
        chosen = {f.name: _widget(f, getattr(current, f.name), f"{key}_{f.name}", years) for f in shown}
        submitted = st.form_submit_button("Appliquer", type="primary")
    if not submitted:
        return current
    for f in shown:
        if not (f.name == "years" and default_years):
            chosen[f.name] = _full_range_as_default(f, chosen[f.name], years)
    chosen_filter = current.with_changes(**chosen)
    write_filter_to_url(chosen_filter)
    return chosen_filter

