"""Named views in the pages: « Enregistrer cette vue » on the explorer and the risk map, the list on the home page.

A view is the page's link under a name (:mod:`core.views`): saving reads the
query parameters the page has written, opening is following the link.
"""

from __future__ import annotations

import hashlib
from typing import Final

import streamlit as st

from core import coverage, views
from core.filter_text import filter_lines
from core.filters import read_params
from core.maps.options import MapOptions
from ui.text import plain

#: The page file of each page a view may open (the keys of core.views.PAGES).
PAGE_FILES: Final = {"explorer": "app_pages/explorer.py", "risk-map": "app_pages/risk_map.py"}
_DELETED = "home_view_deleted"


def current_params() -> dict[str, str]:
    """The current link's query parameters (the last value of a repeated one)."""
    return {key: st.query_params.get_all(key)[-1] for key in st.query_params.keys()}


def _saved_text(view: views.SavedView) -> str:
    return f"Vue « {plain(view.name)} » enregistrée : elle est listée sur la page d'accueil."


def _save(where, page: str, name: str, params: dict[str, str], pending_key: str) -> None:
    """Save, or keep the name aside and ask whether to replace the view of that name."""
    try:
        view = views.save_view(name, page, params)
    except views.ViewExistsError:
        st.session_state[pending_key] = name  # « Remplacer » saves the view on screen then, not this one
        return
    except views.ViewError as error:
        where.error(plain(str(error)), icon=":material/error:")
        return
    except OSError as error:
        where.error(f"Vue non enregistrée : le fichier des vues n'a pas pu être écrit ({plain(str(error.strerror))}).",
                    icon=":material/error:")
        return
    where.success(_saved_text(view), icon=":material/bookmark_added:")


def _ask_replace(where, page: str, key: str, pending_key: str) -> None:
    name = st.session_state[pending_key]
    slot = where.empty()
    with slot.container():
        st.warning(f"Une vue nommée « {plain(name)} » existe déjà : la remplacer par celle-ci ?",
                   icon=":material/warning:")
        replace_column, cancel_column = st.columns(2)
        replace = replace_column.button("Remplacer", key=f"{key}_replace", type="primary")
        cancel = cancel_column.button("Annuler", key=f"{key}_cancel")
    if replace or cancel:
        del st.session_state[pending_key]
        slot.empty()
    if replace:
        try:
            view = views.save_view(name, page, current_params(), replace=True)
        except (views.ViewError, OSError) as error:
            where.error(f"Vue non enregistrée : {plain(str(error))}", icon=":material/error:")
            return
        where.success(_saved_text(view), icon=":material/bookmark_added:")


def save_view_control(page: str, *, container=None) -> None:
    """A name field and « Enregistrer cette vue »: saves ``page`` with its link's parameters as they are now.

    Parameters
    ----------
    page
        The page's address, one of :data:`core.views.PAGES` (``"explorer"``, ``"risk-map"``).
    container
        Where to draw (default: the sidebar, under the filters).
    """
    where = container if container is not None else st.sidebar
    key = f"{page.replace('-', '_')}_view"
    pending_key = f"{key}_pending"
    with where.form(f"{key}_form"):
        name = st.text_input("Nom de la vue", max_chars=views.MAX_NAME, key=f"{key}_name",
                             placeholder="ex. Nord, nuits d'hiver")
        submitted = st.form_submit_button("Enregistrer cette vue", icon=":material/bookmark_add:")
    if submitted:
        st.session_state.pop(pending_key, None)
        _save(where, page, name, current_params(), pending_key)
    if pending_key in st.session_state:
        _ask_replace(where, page, key, pending_key)


# --------------------------------------------------------------------------- #
# The list on the home page
# --------------------------------------------------------------------------- #


def view_summary(view: views.SavedView, *, data_years: tuple[int, int]) -> str:
    """The page and the filter of a view in the form's words, as the page will read its link.

    Without years in the link the risk map opens on its own period (:data:`core.coverage.DEFAULT_YEARS`),
    the explorer on all years; the map's indicator and the explorer's comparison are named too.
    """
    params = dict(view.params)
    accident_filter, _ = read_params(params, years=data_years)
    page_years = coverage.DEFAULT_YEARS if view.page == "risk-map" else data_years
    lines = filter_lines(accident_filter, data_years=page_years)
    if view.page == "risk-map":
        lines.insert(0, f"Indicateur : {MapOptions.read_params(params)[0].metric_label}")
    if "cmp" in params:
        lines.append("comparaison A / B")
    return f"{views.PAGES[view.page]} · " + " ; ".join(lines)


def _delete(name: str) -> None:
    st.session_state[_DELETED] = (name, views.delete_view(name))


def _delete_key(name: str) -> str:
    return "home_view_delete_" + hashlib.sha256(name.casefold().encode()).hexdigest()[:16]


def saved_views_list(*, data_years: tuple[int, int]) -> None:
    """Each saved view as a link opening its page with its parameters, with its summary and a delete button."""
    loaded = views.load_views()
    if loaded.notice:
        st.warning(plain(loaded.notice), icon=":material/warning:")
    if deleted := st.session_state.pop(_DELETED, None):
        name, done = deleted
        (st.success if done else st.info)(f"Vue « {plain(name)} » {'supprimée' if done else 'déjà supprimée'}.")
    if not loaded.views:
        st.caption("Aucune vue enregistrée. Sur l'explorateur ou la carte des risques, « Enregistrer cette vue » "
                   "(barre latérale) garde les filtres et les options sous un nom.")
    for view in loaded.views:
        link_column, delete_column = st.columns([6, 1], vertical_alignment="center")
        link_column.page_link(PAGE_FILES[view.page], label=plain(view.name), query_params=dict(view.params),
                              icon=":material/bookmark:")
        link_column.caption(plain(view_summary(view, data_years=data_years)))
        delete_column.button("Supprimer", key=_delete_key(view.name), on_click=_delete, args=(view.name,),
                             icon=":material/delete:")
    if aside := views.set_aside_files():
        st.caption("Fichiers de vues mis de côté, à examiner : " + ", ".join(plain(p.name) for p in aside) + ".")
