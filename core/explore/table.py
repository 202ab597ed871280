"""The explorer's tables: one page of the filter's accidents, most recent first, with French labels;
and any of the page's tables with its numbers written in French."""

from __future__ import annotations

from functools import partial

import duckdb
import pandas as pd
from pandas.io.formats.style import Styler

from core import codebook, places
from core.explore.counts import fetch_df
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal

PAGE_SIZE = 50
#: Between the vehicle categories of one accident, here and in the exports.
VEHICLE_SEPARATOR = ", "


def _labels(variable: str, codes: pd.Series) -> list[str]:
    """Official labels of a column of codes that may hold missing values (``pd.NA``)."""
    return [codebook.label(variable, None if pd.isna(code) else int(code)) for code in codes]


def vehicles_text(catv_list: list[int] | None) -> str:
    """``[7, 33]`` -> ``'VL seul, Motocyclette > 125 cm 3'``."""
    return VEHICLE_SEPARATOR.join(codebook.label("catv", c) for c in (catv_list if catv_list is not None else []))


def french_numbers(frame: pd.DataFrame, *, digits: int = 1) -> Styler:
    """``frame`` with its numbers shown in French (``58 840``, ``74,5``), still numbers underneath.

    Streamlit shows a Styler's display values, so the page reads French
    while a click on a column header still sorts by value (text would sort
    ``"10 234"`` before ``"9 876"``). Integers get digit groups (narrow
    no-break spaces), floats ``digits`` decimals after a comma, missing values a dash.

    Examples
    --------
    >>> styled = french_numbers(pd.DataFrame({"Année": ["2019"], "Accidents": [58840], "Part (%)": [74.53]}))
    >>> styled.to_string(delimiter=";").splitlines()[1]
    '0;2019;58\u202f840;74,5'
    """
    formats = {}
    for column, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_integer_dtype(dtype):
            formats[column] = format_count
        elif pd.api.types.is_float_dtype(dtype):
            formats[column] = partial(format_decimal, digits=digits)
    return frame.style.format(formats, na_rep="–")


def page_count(accidents: int, *, page_size: int = PAGE_SIZE) -> int:
    """Pages needed to show ``accidents`` rows, at least one.

    Examples
    --------
    >>> page_count(1238), page_count(50), page_count(0)
    (25, 1, 1)
    """
    return max(1, -(-accidents // page_size))


def page_caption(page: int, accidents: int, *, page_size: int = PAGE_SIZE) -> str:
    """``'Page 2 sur 25 — 1 238 accidents, les plus récents d'abord.'``"""
    return (f"Page {page} sur {format_count(page_count(accidents, page_size=page_size))} — "
            f"{format_count(accidents)} accidents, les plus récents d'abord.")


def table_page(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, page: int = 1, page_size: int = PAGE_SIZE
) -> pd.DataFrame:
    """One page of the filter's accidents, most recent first, with French labels.

    Parameters
    ----------
    page
        1-based page number.
    """
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be positive, got {page}, {page_size}")
    where, params = accident_filter.to_sql(bits=True)
    rows = fetch_df(
        con,
        f"SELECT acc_id, year, month, day, hour, minute, dep, com, agg, lum, atm, surf, catr, col, "  # noqa: S608
        f"catv_list, n_users, n_killed, n_hospitalised, n_light FROM accidents WHERE {where} "
        f"ORDER BY year DESC, month DESC, day DESC, hour DESC, minute DESC, acc_id DESC LIMIT ? OFFSET ?",
        [*params, int(page_size), int((page - 1) * page_size)],
    )
    # The toll right after the place: at 1,400 px the columns after the conditions are off-screen.
    return pd.DataFrame({
        "Accident": rows["acc_id"].astype(str),
        "Date": [f"{d:02d}/{m:02d}/{y}" for d, m, y in zip(rows["day"], rows["month"], rows["year"], strict=True)],
        "Heure": [f"{h:02d}:{mi:02d}" for h, mi in zip(rows["hour"], rows["minute"], strict=True)],
        "Département": [f"{d} – {places.department_name(d)}" for d in rows["dep"]],
        "Commune": [None if pd.isna(c) else places.commune_name(c) or c for c in rows["com"]],
        "Tués": rows["n_killed"],
        "Blessés hospitalisés": rows["n_hospitalised"],
        "Blessés légers": rows["n_light"],
        "Usagers": rows["n_users"],
        "Véhicules": [vehicles_text(v) for v in rows["catv_list"]],
        "Localisation": _labels("agg", rows["agg"]),
        "Lumière": _labels("lum", rows["lum"]),
        "Conditions atmosphériques": _labels("atm", rows["atm"]),
        "État de la surface": _labels("surf", rows["surf"]),
        "Catégorie de route": _labels("catr", rows["catr"]),
        "Type de collision": _labels("col", rows["col"]),
    })
