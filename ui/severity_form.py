"""The call form of the severity page, ordered like a call: where, when, what, conditions.

"Where" sits outside the ``st.form``: a map click, the department and the
commune list depend on each other and must redraw at once. The rest is one
form, so typing does not rerun the page; everything is read at submit.
Every field starts as "Inconnu".
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import streamlit as st

from core import codebook, places
from core.dispatch import intake, picker
from core.incident import FIELD_LABELS
from ui import severity_data

DEP_KEY = "severity_dep"
COM_KEY = "severity_com"
COORDINATES_KEY = "severity_coordinates"
MAP_KEY = "severity_map"
MAP_VERSION_KEY = "severity_map_version"  # a new map after each click, so no selection lingers
FORM_KEY = "severity_form"
VEHICLE_KEY = "severity_catv_{code}"
_CODED_FIELDS = ("agg", "catr", "int", "atm", "lum", "surf", "col", "obs")
_PLACE_KEYS = (DEP_KEY, COM_KEY, COORDINATES_KEY)


def _unknown_or(variable: str):
    return lambda code: intake.UNKNOWN_LABEL if code is None else codebook.label(variable, code)


def _department_label(dep: str | None) -> str:
    return intake.UNKNOWN_LABEL if dep is None else f"{dep} – {places.department_name(dep)}"


def _on_map_select(key: str) -> None:
    """A click on the map: a department resets the place; a cell gives the coordinates."""
    picked = picker.picked_place(st.session_state.get(key))
    if picked is None:
        return
    if picked.point is not None:
        st.session_state[COORDINATES_KEY] = intake.format_coordinates(*picked.point)
    elif picked.dep != st.session_state.get(DEP_KEY):
        st.session_state[DEP_KEY] = picked.dep
        st.session_state[COM_KEY] = None
        st.session_state[COORDINATES_KEY] = ""
    st.session_state[MAP_VERSION_KEY] = st.session_state.get(MAP_VERSION_KEY, 0) + 1


def _on_department_change() -> None:
    st.session_state[COM_KEY] = None
    st.session_state[COORDINATES_KEY] = ""


def reset_call() -> None:
    """Clear every field of the form and the estimate shown (a new call); the session's list stays."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("severity_") and key != "severity_estimates":
            del st.session_state[key]


def place_section() -> tuple[str | None, str | None, str]:
    """Draw "Où" (map, department, commune, coordinates); return the three values."""
    for key, default in ((DEP_KEY, None), (COM_KEY, None), (COORDINATES_KEY, "")):
        st.session_state.setdefault(key, default)
    st.markdown("**1. Où**")
    dep = st.session_state[DEP_KEY]
    try:
        point = intake.parse_coordinates(st.session_state[COORDINATES_KEY])
    except ValueError:
        point = None
    key = f"{MAP_KEY}_{st.session_state.get(MAP_VERSION_KEY, 0)}"
    st.pydeck_chart(severity_data.place_picker(dep, point), height=340, key=key,
                    on_select=partial(_on_map_select, key), selection_mode="single-object")
    st.caption("Cliquez sur un département, puis sur une maille pour placer l'accident.")
    columns = st.columns(2)
    dep = columns[0].selectbox("Département", [None, *(code for code, _ in places.departments())], key=DEP_KEY,
                               format_func=_department_label, on_change=_on_department_change,
                               placeholder=intake.UNKNOWN_LABEL)
    names = dict(severity_data.communes(dep)) if dep else {}
    com = columns[1].selectbox("Commune", [None, *names], key=COM_KEY, disabled=not dep,
                               format_func=lambda c: intake.UNKNOWN_LABEL if c is None else f"{names[c]} ({c})",
                               placeholder=intake.UNKNOWN_LABEL,
                               help="Communes ayant connu au moins un accident depuis 2005.")
    coordinates = st.text_input("Coordonnées GPS (latitude, longitude)", key=COORDINATES_KEY,
                                placeholder="ex. 48.8566, 2.3522 — vide si inconnues")
    return dep, com, coordinates


def _vehicle_inputs(codes: tuple[int, ...], per_row: int = 3) -> dict[int, int]:
    counts = {}
    columns = st.columns(per_row)
    for position, code in enumerate(codes):
        counts[code] = int(columns[position % per_row].number_input(
            intake.vehicle_label(code), min_value=0, max_value=99, value=0, step=1,
            key=VEHICLE_KEY.format(code=code)))
    return counts


def _coded(column, variable: str) -> int | None:
    return column.selectbox(FIELD_LABELS[variable], [None, *sorted(codebook.codes_of(variable))],
                            format_func=_unknown_or(variable), key=f"severity_{variable}",
                            placeholder=intake.UNKNOWN_LABEL)


def call_form(dep: str | None, com: str | None, coordinates: str) -> intake.CallForm | None:
    """Draw "Quand", "Quoi" and "Conditions" in one form; the answers when submitted, else None."""
    now = intake.local_now(dep)
    with st.form(FORM_KEY, border=False):
        st.markdown("**2. Quand**")
        moment = st.radio("Moment de l'accident", list(intake.MOMENTS), format_func=intake.MOMENTS.get,
                          horizontal=True, key="severity_moment", label_visibility="collapsed")
        when_columns = st.columns(2)
        day = when_columns[0].date_input("Date (si autre moment)", value=now.date(), key="severity_date",
                                         format="DD/MM/YYYY")
        hour = when_columns[1].time_input("Heure (si autre moment)", value=now.time(), key="severity_time",
                                          step=dt.timedelta(minutes=1))

        st.markdown("**3. Quoi**")
        st.caption("Nombre de véhicules de chaque catégorie (tous à 0 : inconnu).")
        vehicles = _vehicle_inputs(intake.MAIN_VEHICLES)
        others = st.multiselect("Autres véhicules (un de chaque)", intake.OTHER_VEHICLES,
                                format_func=intake.vehicle_label, key="severity_other_vehicles",
                                placeholder="Aucun")
        vehicles.update(dict.fromkeys(others, 1))
        people = st.columns(2)
        n_pedestrians = people[0].number_input("Piétons", min_value=0, max_value=500, value=None, step=1,
                                               placeholder=intake.UNKNOWN_LABEL, key="severity_pedestrians")
        n_people = people[1].number_input("Personnes impliquées (piétons compris)", min_value=1, max_value=500,
                                          value=None, step=1, placeholder=intake.UNKNOWN_LABEL,
                                          key="severity_people")
        what = st.columns(2)
        obs = _coded(what[0], "obs")
        col = _coded(what[1], "col")

        st.markdown("**4. Conditions**")
        conditions = st.columns(3)
        atm = _coded(conditions[0], "atm")
        lum = _coded(conditions[1], "lum")
        surf = _coded(conditions[2], "surf")
        agg = _coded(conditions[0], "agg")
        catr = _coded(conditions[1], "catr")
        vma = conditions[2].selectbox(FIELD_LABELS["vma"], [None, *intake.SPEED_LIMITS],
                                      format_func=lambda v: intake.UNKNOWN_LABEL if v is None else f"{v} km/h",
                                      key="severity_vma", placeholder=intake.UNKNOWN_LABEL)
        intersection = _coded(conditions[0], "int")
        submitted = st.form_submit_button("Estimer la gravité", type="primary", key="severity_submit")
    if not submitted:
        return None
    return intake.CallForm(
        dep=dep, com=com, coordinates=coordinates, moment=moment,
        when=dt.datetime.combine(day, hour) if day is not None and hour is not None else None,
        vehicles=vehicles, n_pedestrians=None if n_pedestrians is None else int(n_pedestrians),
        n_people=None if n_people is None else int(n_people), obs=obs, col=col, atm=atm, lum=lum, surf=surf,
        catr=catr, vma=vma, agg=agg, intersection=intersection,
    )
