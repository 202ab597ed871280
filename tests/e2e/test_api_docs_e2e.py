"""The API's /docs page in Chromium with every outside request blocked: Swagger UI comes from the API itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_support import served_api
from tests.e2e.server import block_outside


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_api(tmp_path_factory.mktemp("docs")) as (url, _, _):
        yield url


def test_docs_render_offline_with_every_route(page, api_url: str, tmp_path: Path) -> None:
    outside = block_outside(page, api_url)
    page.goto(f"{api_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Gravité" in page.inner_text(".swagger-ui .info .title")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/v1/severity", "/v1/severity/batch", "/v1/model", "/v1/model/reload", "/metrics", "/healthz",
            "/readyz"} <= {path.replace("\u200b", "") for path in paths}
    assert outside == []
    page.screenshot(path=str(tmp_path / "docs.png"))
