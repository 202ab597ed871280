"""The filter is derived from one table: a field added there reaches SQL, the array mask, the link and the form.

The added field is the BAAC intersection type (``int``), a real column of the
store that no page filters on today. Expected counts come from pandas on the
store's Parquet file, independently of the SQL and masks under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import codebook, config
from core.filter_fields import FIELDS, Codes, FilterField, MaskSource
from core.filters import AccidentFilter, FilterError, FilterSpec, read_params

INTERSECTION = FilterField("intersection", "Intersection", Codes("int", lambda: codebook.codes_of("int")))
SPEC = FilterSpec((*FIELDS, INTERSECTION))
WithIntersection = SPEC.filter_class


@pytest.fixture(scope="module")
def accidents(full_store: Path) -> pd.DataFrame:
    return pd.read_parquet(full_store / config.ACCIDENTS_FILE, columns=["year", "int", "dep", "hour", "severe"])


def _uint8(column: pd.Series) -> np.ndarray:
    """A code column as the risk map holds it: uint8, 255 when unknown."""
    return column.fillna(255).astype(np.uint8).to_numpy()


def test_the_added_field_filters_in_sql(store_con, accidents: pd.DataFrame) -> None:
    chosen = WithIntersection(intersection=(2, 3), years=(2019, 2020))
    where, params = chosen.to_sql()
    counted = store_con.execute(f"SELECT count(*) FROM accidents WHERE {where}", params).fetchone()[0]
    expected = (accidents["int"].isin([2, 3]) & accidents["year"].between(2019, 2020)).sum()
    assert counted == expected > 1000


def test_the_added_field_filters_arrays(accidents: pd.DataFrame) -> None:
    source = MaskSource({"int": _uint8(accidents["int"]), "year": accidents["year"].to_numpy(),
                         "hour": _uint8(accidents["hour"]), "severe": accidents["severe"].to_numpy(dtype=bool)})
    chosen = WithIntersection(intersection=(3,), hours=(22, 4), outcome="severe")
    mask, rest = SPEC.mask(chosen, source)
    hour = accidents["hour"]
    expected = accidents["int"].eq(3) & (hour.ge(22) | hour.le(4)) & accidents["severe"]
    assert mask.sum() == expected.fillna(False).sum() > 100
    assert rest == WithIntersection()  # every field had its array: nothing left for the store


def test_the_added_field_travels_in_links() -> None:
    chosen = WithIntersection(intersection=(2, 6))
    assert chosen.to_params() == {"intersection": "2,6"}
    assert WithIntersection.from_params({"intersection": "2,6"}) == chosen
    kept, notes = read_params({"intersection": "2,99"}, spec=SPEC)
    assert kept.intersection == (2,)
    assert notes == ["Intersection : « 99 » inconnu, ignoré."]
    with pytest.raises(FilterError, match="^intersection"):
        WithIntersection(intersection=(99,))
    assert "intersection" not in AccidentFilter.spec.by_name  # the app's own filter is untouched


def _form_with_intersection() -> None:
    import streamlit as st

    from core import codebook
    from core.filter_fields import FIELDS, Codes, FilterField
    from core.filters import FilterSpec
    from ui.filter_form import filter_form

    field = FilterField("intersection", "Intersection", Codes("int", lambda: codebook.codes_of("int")))
    chosen = filter_form("t", filter_class=FilterSpec((*FIELDS, field)).filter_class)
    st.write(f"chosen: {chosen.to_params()}")


def test_the_added_field_is_asked_for_by_the_form() -> None:
    app = AppTest.from_function(_form_with_intersection, default_timeout=60)
    app.run()
    widget = app.multiselect(key="t_intersection")
    assert widget.label == "Intersection"
    assert widget.options == [codebook.label("int", code) for code in sorted(codebook.codes_of("int"))]
    widget.set_value([3])
    app.button[0].click()
    app.run()
    assert not app.exception
    assert app.query_params["intersection"] == "3"
    assert "chosen: {'intersection': '3'}" in [m.value for m in app.markdown]
