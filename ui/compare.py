"""The explorer's « Comparer » tab: two areas or two periods side by side, the rest of the filter shared.

The two sides live in the link (:data:`core.explore.compare.PARAMS`) like the
filter: a copied link reproduces the comparison. The mode is a radio (the
sides' widgets depend on it); the sides are asked in one form, so choosing
departments reruns nothing until « Comparer ».
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.explore import compare, compare_display
from core.explore.compare import CompareChoice
from core.filters import AccidentFilter
from ui import data, url
from ui.text import plain, warn_link

KEY = "explorer_cmp"


def _choice_from_url(store_years: tuple[int, int]) -> CompareChoice:
    choice, notes = compare.read_choice(url.read_params(compare.PARAMS), data_years=store_years)
    if notes:
        warn_link(notes, applied="le reste de la comparaison est appliqué")
        _write(choice)  # the link now says what is compared
    return choice


def _write(choice: CompareChoice) -> None:
    url.write_params(choice.to_params(), owned=compare.PARAMS)


def _mode(choice: CompareChoice, store_years: tuple[int, int]) -> CompareChoice:
    """The mode radio; a new mode starts from its default sides."""
    modes = list(compare.MODES)
    mode = st.radio("Comparer", modes, index=modes.index(choice.mode), format_func=compare.MODES.get,
                    horizontal=True, key=f"{KEY}_mode")
    if mode == choice.mode:
        return choice
    choice = compare.default_choice(mode, data_years=store_years)
    _write(choice)
    return choice


def _area_side(side: str, chosen: Any) -> Any:
    values = {}
    for name in compare.SIDE_FIELDS["area"]:
        field = AccidentFilter.spec.by_name[name]
        options = field.kind.options()
        picked = st.multiselect(field.label, options, default=[v for v in getattr(chosen, name) if v in options],
                                format_func=field.kind.option_label, key=f"{KEY}_{side.lower()}_{name}",
                                placeholder="France entière" if name == "regions" else field.placeholder)
        values[name] = tuple(v for v in options if v in picked)
    return AccidentFilter(**values)


def _period_side(side: str, chosen: Any, store_years: tuple[int, int]) -> Any:
    first, last = st.slider("Années", *store_years, value=chosen.years or store_years,
                            key=f"{KEY}_{side.lower()}_years")
    return AccidentFilter(years=(int(first), int(last)))


def _sides_form(choice: CompareChoice, store_years: tuple[int, int]) -> CompareChoice:
    """The two sides' widgets, in one form; a submit writes the comparison into the link."""
    with st.form(f"{KEY}_form"):
        sides = []
        for column, side, chosen in zip(st.columns(2), compare.SIDES, (choice.a, choice.b), strict=True):
            with column:
                st.markdown(f"**{side}**")
                sides.append(_area_side(side, chosen) if choice.mode == "area"
                             else _period_side(side, chosen, store_years))
        submitted = st.form_submit_button("Comparer", type="primary")
    if not submitted:
        return choice
    choice = CompareChoice(choice.mode, *sides)
    _write(choice)
    return choice


def _draw_sides(comparison: compare.Comparison) -> None:
    for column, side in zip(st.columns(2, border=True), (comparison.a, comparison.b), strict=True):
        column.subheader(f"{side.name} · {plain(side.label)}")
        metrics = compare_display.side_metrics(side, hospitalisation_comparable=comparison.hospitalisation_comparable)
        for cell, metric in zip(column.columns(2) * 3, metrics, strict=True):
            cell.metric(metric.label, metric.value, help=metric.help)


def compare_tab(accident_filter: Any, store_years: tuple[int, int]) -> None:
    """Draw the tab: mode, sides, both sides' figures, the differences and their chart."""
    choice = _mode(_choice_from_url(store_years), store_years)
    choice = _sides_form(choice, store_years)
    st.caption(compare_display.shared_caption(accident_filter, mode=choice.mode, data_years=store_years))
    if choice.mode == "area" and not (choice.a.department_codes() or choice.b.department_codes()):
        st.info("Choisissez les régions ou départements de A et de B (une zone laissée vide compte la France "
                "entière), puis « Comparer ».", icon=":material/info:")
        return
    comparison = data.cached(compare.compare, accident_filter, choice, data_years=store_years)
    _draw_sides(comparison)
    st.dataframe(compare_display.difference_table(comparison), hide_index=True, key=f"{KEY}_differences")
    st.markdown("\n".join(f"- {plain(compare_display.difference_sentence(d))}" for d in comparison.differences))
    for note in compare_display.cautions(comparison):
        st.caption(plain(note))
    st.plotly_chart(compare_display.comparison_figure(comparison), key=f"{KEY}_chart")
