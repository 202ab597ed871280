"""Download official BAAC yearly files from data.gouv.fr.

data.gouv.fr serves each file under an opaque resource URL, so the dataset's
catalogue (its API) is read first and the four tables of each asked year are
picked by file name. The base URL can be pointed at a local server for tests.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Sequence
from pathlib import Path

DEFAULT_BASE_URL = "https://www.data.gouv.fr"
DATASET = "bases-de-donnees-annuelles-des-accidents-corporels-de-la-circulation-routiere-annees-de-2005-a-2024"
CATALOGUE_PATH = f"/api/1/datasets/{DATASET}/"
_TABLE = re.compile(r"(car\w*?|lieux|vehicules|usagers)[-_ ]?((19|20)\d\d)\.csv$", re.IGNORECASE)
TIMEOUT_S = 60


def list_resources(base_url: str) -> list[tuple[str, str]]:
    """(file name, url) of every CSV resource in the dataset catalogue."""
    with urllib.request.urlopen(base_url.rstrip("/") + CATALOGUE_PATH, timeout=TIMEOUT_S) as response:
        catalogue = json.load(response)
    found = []
    for resource in catalogue.get("resources", []):
        url = resource.get("url") or ""
        name = (resource.get("title") or url.rsplit("/", 1)[-1]).strip()
        if _TABLE.search(name):
            found.append((name, url))
    return found


def download_years(years: Sequence[int], raw_dir: Path, *, base_url: str | None = None) -> list[Path]:
    """Fetch the yearly files of ``years`` into ``raw_dir/YEAR/`` and return those folders.

    Each file is written to a ``.part`` name and renamed when complete.

    Raises
    ------
    FileNotFoundError
        When the catalogue has no file for one of the years.
    """
    base = base_url or DEFAULT_BASE_URL
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    resources = list_resources(base)
    for year in years:
        chosen = [(n, u) for n, u in resources if (m := _TABLE.search(n)) and int(m.group(2)) == year]
        if not chosen:
            raise FileNotFoundError(f"data.gouv.fr lists no BAAC file for {year}")
        for name, url in chosen:
            target = raw_dir / str(year) / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
            partial.replace(target)
    return [raw_dir / str(year) for year in years]
