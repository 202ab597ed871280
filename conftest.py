"""Names the doctests of ``core/`` use: the real store (``con``), its located accidents (``facts``) and the
committed model (``model``), so their examples run on real data instead of being skipped."""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(scope="session")
def _doctest_objects() -> dict[str, object]:
    from core import config, store
    from core.ingest.pipeline import run_ingest
    from core.ingest.sources import Source
    from core.model.loading import load_model
    from core.risk.loading import load_facts

    if not store.database_path().exists():  # `make test` builds it first; a bare `pytest` builds it here
        run_ingest([Source.parse("package")], config.DATA_DIR)
    con = store.connect()
    return {"con": con, "facts": load_facts(con), "model": load_model()}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict) -> None:
    if isinstance(request.node, DoctestItem):
        doctest_namespace.update(request.getfixturevalue("_doctest_objects"))
