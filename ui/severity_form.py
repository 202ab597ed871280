"""The call form of the severity page, ordered like a call: where, what, who, conditions, when.

"Where" sits outside the ``st.form``, in a fragment: a map click, the
department and the commune list depend on each other and must redraw at once,
and choosing a department reruns only that part of the page. The rest is one
form, so typing does not rerun the page; everything is read at submit.

Every field's fresh-page value is written once (:func:`fresh_values`): the page
starts from it and "Nouvel appel" puts every field back to it, so a new call
never keeps the last caller's facts (nor a pasted eCall message and its notes);
:func:`fill_call` shows a call read elsewhere (an eCall message) the same way,
every field it does not give back to fresh. Widgets are laid out row by row (a
horizontal container or one ``st.columns`` per row) so that Tab follows the
order the eye reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import streamlit as st

from core import codebook, places
from core.dispatch import intake, picker
from core.dispatch.ecall_form import MAX_FORM_PEOPLE
from core.features.words import vehicle_label
from core.incident.fields import FIELD_LABELS
from core.maps.deck import DeckJson

DEP_KEY: Final = "severity_dep"
COM_KEY: Final = "severity_com"
COORDINATES_KEY: Final = "severity_coordinates"
MAP_KEY: Final = "severity_map"
MAP_PANEL_KEY: Final = "severity_map_open"
MAP_VERSION_KEY: Final = "severity_map_version"  # a new map after each click or new call, so no selection lingers
FORM_KEY: Final = "severity_form"
MOMENT_KEY: Final = "severity_moment"
DATE_KEY: Final = "severity_date"
TIME_KEY: Final = "severity_time"
PEDESTRIANS_KEY: Final = "severity_pedestrians"
PEOPLE_KEY: Final = "severity_people"
VMA_KEY: Final = "severity_vma"
EVERYDAY_KEY: Final = "severity_vehicle_{key}"
BAAC_KEY: Final = "severity_catv_{code}"
NEW_CALL_SHORTCUT: Final = "Alt+N"
SUBMIT_SHORTCUT: Final = "Ctrl+Enter"
#: Coded fields asked in the form, in their order on screen.
CODED_KEYS: Final = ("obs", "col", "agg", "lum", "atm", "surf", "catr", "int")
_VEHICLE_INPUT_WIDTH: Final = 150  # narrower, Streamlit hides the - and + buttons
FOCUS_KEY: Final = "severity_focus_place"  # set on a new call: the cursor goes to "Département"
#: The pasted eCall message and what its pre-fill told (:mod:`ui.ecall_paste`): part of the call, emptied with it.
ECALL_TEXT_KEY: Final = "severity_ecall_text"
ECALL_STATUS_KEY: Final = "severity_ecall_status"
ECALL_NOTES_KEY: Final = "severity_ecall_notes"
#: The incident the last eCall pre-fill gave (see ui.ecall_paste.is_pasted_message).
ECALL_INCIDENT_KEY: Final = "severity_ecall_incident"


def coded_key(variable: str) -> str:
    """Session key of a coded field's widget."""
    return f"severity_{variable}"


def fresh_values() -> dict[str, Any]:
    """Every field of the call form with the value it has on a fresh page (date and hour: now, metropolitan time).

    "Maintenant" is read again at submit, in the local time of the department given.
    """
    now = intake.local_now(None)
    values: dict[str, Any] = {
        DEP_KEY: None, COM_KEY: None, COORDINATES_KEY: "",
        MOMENT_KEY: intake.MOMENT_NOW, DATE_KEY: now.date(), TIME_KEY: now.time(),
        PEDESTRIANS_KEY: None, PEOPLE_KEY: None, VMA_KEY: None,
    }
    values.update({coded_key(name): None for name in CODED_KEYS})
    values.update({EVERYDAY_KEY.format(key=v.key): 0 for v in intake.EVERYDAY_VEHICLES})
    values.update({BAAC_KEY.format(code=code): 0 for code in intake.BAAC_VEHICLES})
    values.update({PERSON_KEY.format(index=index, fact=fact): None
                   for index in range(DESCRIBED_PEOPLE) for fact, *_ in _PERSON_FACTS})
    return values


def start_call() -> None:
    """Give each field its fresh value unless the session already has one (the first run of a session)."""
    if DEP_KEY not in st.session_state:
        st.session_state[FOCUS_KEY] = True
    for key, value in fresh_values().items():
        st.session_state.setdefault(key, value)


def reset_call(*, extra_keys: tuple[str, ...] = ()) -> None:
    """"Nouvel appel": every field back to its fresh value, a new map; ``extra_keys`` (the result shown) dropped.

    The pasted eCall message and its notes go too; the session's list of estimates is kept.
    """
    _set_form(fresh_values(), extra_keys=extra_keys)
    st.session_state[ECALL_TEXT_KEY] = ""
    st.session_state.pop(ECALL_STATUS_KEY, None)
    st.session_state.pop(ECALL_NOTES_KEY, None)
    st.session_state.pop(ECALL_INCIDENT_KEY, None)
    st.session_state[FOCUS_KEY] = True


def form_values(call: intake.CallForm) -> dict[str, Any]:
    """Every field of the call form set to show ``call`` (the inverse of what :func:`call_form` reads).

    A vehicle goes to its everyday word when it has one (7 to "Voiture"), else to the full BAAC list.
    """
    values = fresh_values()
    values.update({DEP_KEY: call.dep, COM_KEY: call.com, COORDINATES_KEY: call.coordinates or "",
                   MOMENT_KEY: call.moment, PEDESTRIANS_KEY: call.n_pedestrians, PEOPLE_KEY: call.n_people,
                   VMA_KEY: call.vma})
    if call.when is not None:
        values[DATE_KEY], values[TIME_KEY] = call.when.date(), call.when.time()
    coded = {"obs": call.obs, "col": call.col, "agg": call.agg, "lum": call.lum, "atm": call.atm,
             "surf": call.surf, "catr": call.catr, "int": call.intersection}
    values.update({coded_key(name): code for name, code in coded.items()})
    everyday = {vehicle.catv: EVERYDAY_KEY.format(key=vehicle.key) for vehicle in intake.EVERYDAY_VEHICLES}
    for code, count in call.vehicles.items():
        key = everyday.get(code) or BAAC_KEY.format(code=code)
        values[key] += int(count)
    for index, person in enumerate(call.people[:DESCRIBED_PEOPLE]):
        for (fact, *_), value in zip(_PERSON_FACTS, person, strict=True):
            values[PERSON_KEY.format(index=index, fact=fact)] = value
    return values


def fill_call(call: intake.CallForm, *, extra_keys: tuple[str, ...] = ()) -> None:
    """Show ``call`` in the form (every other field fresh), a new map; ``extra_keys`` (the result shown) dropped.

    Must run before the widgets are drawn (in a callback).
    """
    _set_form(form_values(call), extra_keys=extra_keys)


def _set_form(values: dict[str, Any], *, extra_keys: tuple[str, ...]) -> None:
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state[MAP_VERSION_KEY] = st.session_state.get(MAP_VERSION_KEY, 0) + 1
    for key in extra_keys:
        st.session_state.pop(key, None)


def keyboard_shortcuts() -> None:
    """Make the two shortcuts work from any field.

    * "Nouvel appel" (Alt+N) leaves the field being typed in first: a field
      that has the focus keeps what is typed in it even when the server sends
      it a new value, so it would not be emptied.
    * "Estimer la gravité" (Ctrl+Enter) also works from a row of radio buttons,
      which keeps Enter for itself: the field is left (so that what was typed
      counts), then the button is pressed.
    """
    new_call = NEW_CALL_SHORTCUT.split("+")[-1].upper()
    st.html("<script>if (!window.graviteShortcuts) { window.graviteShortcuts = true;"
            "document.addEventListener('keydown', (event) => {"
            f"if (event.altKey && !event.ctrlKey && event.code === 'Key{new_call}') document.activeElement?.blur();"
            "if (event.ctrlKey && event.key === 'Enter' && event.target?.type === 'radio') {"
            "event.preventDefault(); event.stopPropagation(); event.target.blur();"
            "setTimeout(() => document.querySelector('.st-key-severity_submit button')?.click(), 50); }"
            "}, true); }</script>", unsafe_allow_javascript=True, width=1)


def focus_place_on_new_call() -> None:
    """Put the cursor in "Département" at the start of a call, on screens wide enough for a keyboard."""
    if not st.session_state.pop(FOCUS_KEY, False):
        return
    version = st.session_state.get(MAP_VERSION_KEY, 0)  # new text, so the script runs again after each new call
    st.html(f"<script>/* call {version} */ if (window.innerWidth >= 640) {{ let tries = 0;"
            "const focus = () => { const box = document.querySelector('input[aria-label=\"Département\"]');"
            "if (box) box.focus(); else if (++tries < 50) setTimeout(focus, 100); }; setTimeout(focus, 50); }"
            "</script>", unsafe_allow_javascript=True, width=1)


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


@st.fragment
def place_section(*, communes: Callable[[str], list[tuple[str, str]]],
                  place_picker: Callable[[str | None, tuple[float, float] | None], DeckJson],
                  first_year: int) -> None:
    """Draw "Où": department and commune, coordinates, the map folded (values are read from the session).

    Parameters
    ----------
    communes : callable
        ``(code, name)`` of the communes of a department (the page passes its cached loader).
    place_picker : callable
        The place-picker map of a department (or of France, for None) with the chosen point.
    first_year : int
        The store's first year (the communes offered had an accident since then).
    """
    st.markdown("**1. Où**")
    columns = st.columns(2)
    dep = columns[0].selectbox("Département", [None, *(code for code, _ in places.departments())], key=DEP_KEY,
                               format_func=_department_label, on_change=_on_department_change,
                               placeholder=intake.UNKNOWN_LABEL)
    names = dict(communes(dep)) if dep else {}
    columns[1].selectbox("Commune", [None, *names], key=COM_KEY, disabled=not dep,
                         format_func=lambda c: intake.UNKNOWN_LABEL if c is None else f"{names[c]} ({c})",
                         placeholder=intake.UNKNOWN_LABEL)
    st.text_input("Coordonnées GPS (latitude, longitude)", key=COORDINATES_KEY,
                  placeholder="ex. 48.8566, 2.3522 — vide si inconnues")
    try:
        point = intake.parse_coordinates(st.session_state[COORDINATES_KEY])
    except ValueError:
        point = None
    key = f"{MAP_KEY}_{st.session_state.get(MAP_VERSION_KEY, 0)}"
    map_panel = st.expander("Placer sur la carte", icon=":material/map:", key=MAP_PANEL_KEY, on_change="rerun")
    if map_panel.open:  # the map is drawn only when asked for: it costs the browser most of a rerun
        map_panel.pydeck_chart(place_picker(dep, point), height=300, key=key,
                               on_select=partial(_on_map_select, key), selection_mode="single-object")
        map_panel.caption("Cliquez sur un département, puis sur une maille pour placer l’accident. Les communes "
                          f"proposées sont celles qui ont connu au moins un accident depuis {first_year}.")


def _vehicle_counts() -> dict[int, int]:
    """The vehicle question: everyday words, then the full BAAC list folded; counts per catv code."""
    counts: dict[int, int] = {}
    row = st.container(horizontal=True, gap="small")
    for vehicle in intake.EVERYDAY_VEHICLES:
        count = row.number_input(vehicle.word, min_value=0, max_value=99, step=1, width=_VEHICLE_INPUT_WIDTH,
                                 key=EVERYDAY_KEY.format(key=vehicle.key))
        counts[vehicle.catv] = counts.get(vehicle.catv, 0) + int(count or 0)
    with st.expander("Liste BAAC complète (catégorie précise)"):
        st.caption("Les mots courants ci-dessus comptent comme : " + " ; ".join(
            f"{v.word.lower()} = {vehicle_label(v.catv)}" for v in intake.EVERYDAY_VEHICLES) + ".")
        grid = st.container(horizontal=True, gap="small")
        for code in intake.BAAC_VEHICLES:
            count = grid.number_input(vehicle_label(code), min_value=0, max_value=99, step=1, width=220,
                                      key=BAAC_KEY.format(code=code))
            counts[code] = counts.get(code, 0) + int(count or 0)
    return counts


#: People the form can describe, and the session key of each of their facts.
DESCRIBED_PEOPLE: Final = MAX_FORM_PEOPLE
PERSON_KEY: Final = "severity_person_{index}_{fact}"
#: Each fact of a person: its label and its codes (None: a number, the age).
_PERSON_FACTS: Final = (("role", "Rôle", "catu", (1, 2, 3)), ("age", "Âge (ans)", None, None),
                        ("sex", "Sexe", "sexe", (1, 2)), ("equipment", "Équipement utilisé", "secu1",
                                                          (0, 1, 2, 3, 4, 5, 6, 7, 9)))


def _described_people() -> tuple[tuple[int | None, ...], ...]:
    """Up to :data:`DESCRIBED_PEOPLE` people the caller describes (a child, an elderly pedestrian, no helmet…)."""
    with st.expander("Décrire les personnes (âge, sexe, équipement) si l’appelant le dit", icon=":material/person:"):
        st.caption("Facultatif : ne décrivez que ce que l’appelant dit, une ligne par personne. Un âge approximatif "
                   "suffit (enfant : 8, adolescent : 16, personne âgée : 80).")
        people = []
        for index in range(DESCRIBED_PEOPLE):
            row = st.columns(4)
            person = []
            for column, (fact, label, variable, codes) in zip(row, _PERSON_FACTS, strict=True):
                key = PERSON_KEY.format(index=index, fact=fact)
                shown_label = f"{label} ({index + 1})"
                if codes is None:
                    value = column.number_input(shown_label, min_value=0, max_value=110, value=None, step=1,
                                                placeholder=intake.UNKNOWN_LABEL, key=key)
                else:
                    value = column.selectbox(shown_label, [None, *codes], key=key, placeholder=intake.UNKNOWN_LABEL,
                                             format_func=lambda c, v=variable: intake.UNKNOWN_LABEL if c is None
                                             else codebook.label(v, c))
                person.append(None if value is None else int(value))
            people.append(tuple(person))
    return tuple(person for person in people if any(fact is not None for fact in person))


def _coded(variable: str, column: Any = st) -> int | None:
    return column.selectbox(FIELD_LABELS[variable], [None, *sorted(codebook.codes_of(variable))],
                            format_func=_unknown_or(variable), key=coded_key(variable),
                            placeholder=intake.UNKNOWN_LABEL)


def _choice(variable: str, options: list[int], format_func: Any, *, key: str) -> int | None:
    """A short list as one row of radio buttons ("Inconnu" first): one click, one Tab stop, arrows to move."""
    return st.radio(FIELD_LABELS[variable], [None, *options], key=key, horizontal=True,
                    format_func=lambda v: intake.UNKNOWN_LABEL if v is None else format_func(v))


def call_form() -> intake.CallForm | None:
    """Draw "Quoi", "Qui", "Conditions" and "Quand" in one form; the answers when submitted, else None.

    What a caller says first comes first; "Quand" is last because it is
    "Maintenant" unless the caller reports an older accident.
    """
    with st.form(FORM_KEY, border=False):
        st.markdown("**2. Véhicules** (nombre de chaque)")
        vehicles = _vehicle_counts()

        st.markdown("**3. Personnes et lieu**")
        people = st.columns(2)
        n_pedestrians = people[0].number_input("Piétons", min_value=0, max_value=500, value=None, step=1,
                                               placeholder=intake.UNKNOWN_LABEL, key=PEDESTRIANS_KEY)
        n_people = people[1].number_input("Personnes impliquées (piétons compris)", min_value=1, max_value=500,
                                          value=None, step=1, placeholder=intake.UNKNOWN_LABEL, key=PEOPLE_KEY)
        agg = _choice("agg", [2, 1], _unknown_or("agg"), key=coded_key("agg"))
        described = _described_people()  # after "Agglomération": typing the usual call, Tab goes on as before

        st.markdown("**4. Choc et conditions**")
        what = st.columns(2)
        obs = _coded("obs", what[0])
        col = _coded("col", what[1])
        first = st.columns(2)
        lum = _coded("lum", first[0])
        atm = _coded("atm", first[1])
        second = st.columns(2)
        surf = _coded("surf", second[0])
        catr = _coded("catr", second[1])
        third = st.columns(2)
        intersection = _coded("int", third[0])
        vma = _choice("vma", list(intake.SPEED_LIMITS), lambda v: f"{v} km/h", key=VMA_KEY)

        st.markdown("**5. Quand**")
        moment = st.radio("Moment de l’accident", list(intake.MOMENTS), format_func=intake.MOMENTS.get,
                          horizontal=True, key=MOMENT_KEY, label_visibility="collapsed")
        when = st.columns(2)
        day = when[0].date_input("Date (si autre moment)", key=DATE_KEY, format="DD/MM/YYYY")
        hour = when[1].time_input("Heure (si autre moment)", key=TIME_KEY, step=dt.timedelta(minutes=1))
        submitted = st.form_submit_button("Estimer la gravité", type="primary", key="severity_submit",
                                          shortcut=SUBMIT_SHORTCUT, icon=":material/emergency:")
    if not submitted:
        return None
    state = st.session_state
    return intake.CallForm(
        dep=state.get(DEP_KEY), com=state.get(COM_KEY), coordinates=state.get(COORDINATES_KEY), moment=moment,
        when=dt.datetime.combine(day, hour) if day is not None and hour is not None else None,
        vehicles=vehicles, n_pedestrians=None if n_pedestrians is None else int(n_pedestrians),
        n_people=None if n_people is None else int(n_people), obs=obs, col=col, atm=atm, lum=lum, surf=surf,
        catr=catr, vma=vma, agg=agg, intersection=intersection, people=described,
    )
