"""Cached access to the store for the pages."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import streamlit as st

from core import config, queries, store
from core.filters import AccidentFilter


@st.cache_resource(show_spinner=False)
def connection() -> duckdb.DuckDBPyConnection:
    """The store, opened once per server, read-only; queries take their own cursor."""
    return store.connect()


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
