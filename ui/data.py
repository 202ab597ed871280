"""Cached access to the store for the pages."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import TypeVar

import duckdb
import pandas as pd
import streamlit as st

from core import config, queries, store
from core.filters import AccidentFilter
from core.maps import deck

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def connection() -> duckdb.DuckDBPyConnection:
    """The store, opened once per server, read-only; queries take their own cursor."""
    return store.connect()


@st.cache_resource(show_spinner=False)
def outlines() -> dict:
    """The department outlines every map draws (``assets/``), read once per server and shared, never copied."""
    return deck.load_outlines()


@st.cache_data(show_spinner=False)
def yearly_totals() -> pd.DataFrame:
    return queries.yearly_totals(connection())


@st.cache_data(show_spinner=False)
def store_summary() -> dict[str, int]:
    return queries.store_summary(connection())


@st.cache_data(show_spinner=False, max_entries=256)
def aggregate(accident_filter: AccidentFilter, by: tuple[str, ...] = ()) -> pd.DataFrame:
    return queries.aggregate(connection(), accident_filter, by=by)


@st.cache_data(show_spinner=False)
def ingest_report() -> dict:
    path = config.parquet_dir() / config.REPORT_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _call(function_path: str, args: tuple, kwargs: tuple) -> object:
    module, name = function_path.rsplit(":", 1)
    return getattr(importlib.import_module(module), name)(connection(), *args, **dict(kwargs))


# Two caches (two functions: Streamlit keys a cache by its function): small results (figures, counts,
# charts' data) are many and kept long; row-level results (a map's sample, a page of the table: up to a few
# MB each) are few, so paging through a table never pushes the figures out.
@st.cache_data(show_spinner=False, max_entries=256)
def _small_results(function_path: str, args: tuple, kwargs: tuple) -> object:
    return _call(function_path, args, kwargs)


@st.cache_data(show_spinner=False, max_entries=16)
def _row_results(function_path: str, args: tuple, kwargs: tuple) -> object:
    return _call(function_path, args, kwargs)


def _path(function: Callable) -> str:
    return f"{function.__module__}:{function.__qualname__}"


def cached(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``function(connection(), *args, **kwargs)``, cached on the arguments for every session.

    ``function`` is a public function of ``core`` taking the store connection
    first and returning a small result (figures, counts); its arguments must be
    hashable values (filters are frozen dataclasses), never large frames. One
    cache serves every page, so a page needs no wrapper of its own.
    """
    return _small_results(_path(function), args, tuple(sorted(kwargs.items())))  # type: ignore[return-value]


def cached_rows(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """:func:`cached` for functions returning accident rows (a map's sample, a table page), in a smaller cache."""
    return _row_results(_path(function), args, tuple(sorted(kwargs.items())))  # type: ignore[return-value]
