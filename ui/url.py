"""The URL's query parameters as the pages' memory: read the keys a page owns, write them back.

A link reproduces what the user saw because every page writes its state with
:func:`write_params` and reads it with :func:`read_params`; each page owns a
set of keys (the filter's, the map's options...) and leaves the others alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import streamlit as st


def read_params(keys: Iterable[str]) -> dict[str, str]:
    """The last value of each of ``keys`` present in the URL."""
    wanted = set(keys)
    return {key: st.query_params.get_all(key)[-1] for key in st.query_params.keys() if key in wanted}


def write_params(values: Mapping[str, str], *, owned: Iterable[str]) -> None:
    """Make the URL carry ``values`` for the ``owned`` keys: drop the owned keys not in ``values``, keep the others.

    Only what changes is written (each write of ``st.query_params`` updates the browser's address).
    """
    owned = set(owned)
    for key in list(st.query_params.keys()):
        if key in owned and key not in values:
            del st.query_params[key]
    for key, value in values.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
