"""Leaflet's files served by the app itself, so that the explorer's map draws without internet.

streamlit-folium loads Leaflet from the URLs the map gives (a CDN by default): offline the
component's frame stayed blank. Leaflet 1.9.4 ships as plain files in the pip package
``django-js-lib-leaflet`` (no dependencies, nothing of Django imported); declared as a Streamlit
component folder, Streamlit serves them at ``/component/ui.leaflet.leaflet/<file>`` with their MIME
types (``create_component_routes`` of Streamlit's server). Nothing is ever drawn from this component:
it only serves files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import js_lib_leaflet
import streamlit.components.v1 as components

#: leaflet.js, leaflet.css and images/ of Leaflet 1.9.4.
LEAFLET_DIR: Final = Path(js_lib_leaflet.__file__).parent / "static" / "js_lib_leaflet"


def leaflet_url() -> str:
    """The URL of Leaflet's folder, relative to a component's frame (``/component/<name>/index.html``).

    Relative, so that it holds behind a proxy that serves the app under a path prefix. Declared on
    each call: Streamlit registers a component only while a script runs, and registering the same
    folder again changes nothing.

    Examples
    --------
    >>> leaflet_url()
    '../ui.leaflet.leaflet/'
    """
    component = components.declare_component("leaflet", path=LEAFLET_DIR)
    return f"../{component.name}/"
