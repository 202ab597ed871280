"""Bad input is counted and set aside with a reason; a failed run keeps the old store.

Each test damages a copy of the real 2021 excerpt in one known way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from core import config
from core.ingest import download
from core.ingest.errors import IngestRefused
from core.ingest.pipeline import run_ingest
from core.ingest.sources import Source
from tests.conftest import EXCERPT_2021
from tests.https_site import https_site

CARAC = "caracteristiques-2021.csv"


def _edit_line(path: Path, key: str, edit) -> None:
    """Apply ``edit`` to the first line of ``path`` that holds accident ``key``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if f'"{key}"' in line)
    lines[index] = edit(lines[index])
    path.write_text("".join(lines), encoding="utf-8")


def _field(line: str, position: int, value: str) -> str:
    parts = line.rstrip("\n").split(";")
    parts[position] = f'"{value}"'
    return ";".join(parts) + "\n"


def _header(path: Path) -> list[str]:
    return [h.strip('"') for h in path.read_text(encoding="utf-8").splitlines()[0].split(";")]


def _entry(report: dict, table: str) -> dict:
    return next(e for e in report["tables"] if e["table"] == table)


def test_malformed_rows_are_counted_and_set_aside(excerpt_copy: Path, tmp_path: Path) -> None:
    carac = excerpt_copy / CARAC
    columns = _header(carac)
    day, month = columns.index("jour"), columns.index("mois")
    _edit_line(carac, "202100000003", lambda line: _field(_field(line, day, "31"), month, "02"))
    _edit_line(carac, "202100000004", lambda line: _field(line, columns.index("atm"), "42"))
    _edit_line(carac, "202100000005", lambda line: line.rstrip("\n") + ';"extra";"fields"\n')
    lat, lon = columns.index("lat"), columns.index("long")

    def swap(line: str) -> str:
        parts = line.rstrip("\n").split(";")
        parts[lat], parts[lon] = parts[lon], parts[lat]
        return ";".join(parts) + "\n"

    _edit_line(carac, "202100000006", swap)
    users = excerpt_copy / "usagers-2021.csv"
    users.write_text(users.read_text(encoding="utf-8") + users.read_text(encoding="utf-8").splitlines()[1].replace(
        "202100000001", "202100099999") + "\n", encoding="utf-8")

    result = run_ingest([Source("folder", excerpt_copy)], tmp_path)
    accidents = _entry(result.report, "accidents")
    assert accidents["read"] == 20 and accidents["kept"] == 18 and accidents["rejected"] == 2
    assert accidents["rejected_by_reason"] == {"impossible date": 1, "unparseable line": 1}
    assert accidents["corrections"]["unknown code atm set NULL"] == 1
    assert accidents["corrections"]["swapped lat/lon fixed"] == 1
    users_entry = _entry(result.report, "users")
    assert users_entry["rejected_by_reason"]["no accident with this key"] == 1
    rejects = pd.read_parquet(result.store / config.REJECTS_FILE)
    assert set(rejects["reason"]) >= {"impossible date", "unparseable line", "no accident with this key"}
    assert rejects["detail"].str.contains("202100000005").any(), "the unparseable line's text is kept"
    stored = pd.read_parquet(result.store / config.ACCIDENTS_FILE).set_index("acc_id")
    assert 202100000003 not in stored.index and 202100000005 not in stored.index
    assert pd.isna(stored.loc[202100000004, "atm"])
    original = pd.read_csv(EXCERPT_2021 / CARAC, sep=";", dtype=str).set_index("Num_Acc")
    published_lat = float(original.loc["202100000006", "lat"].replace(",", "."))
    assert stored.loc[202100000006, "lat"] == pytest.approx(published_lat)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_failing_run_leaves_the_previous_store_intact(excerpt_copy: Path, tmp_path: Path) -> None:
    good = run_ingest([Source("folder", EXCERPT_2021)], tmp_path).store
    before = _tree_digest(good)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "caracteristiques-2021.csv").write_text('"an";"mois"\n"2021";"1"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="Num_Acc"):
        run_ingest([Source("folder", EXCERPT_2021), Source("folder", broken)], tmp_path)
    assert _tree_digest(good) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_download_fetches_the_catalogue_files(tmp_path: Path) -> None:
    """--download against a local HTTPS server that mimics data.gouv.fr's catalogue."""
    with https_site(tmp_path / "site") as site:
        site.publish_files(sorted(EXCERPT_2021.iterdir()))
        folders = download.download_years([2021], tmp_path / "raw", base_url=site.base, context=site.context)
        with pytest.raises(IngestRefused, match="2022"):
            download.download_years([2022], tmp_path / "raw", base_url=site.base, context=site.context)
    assert sorted(p.name for p in folders[0].iterdir()) == sorted(p.name for p in EXCERPT_2021.iterdir())
    result = run_ingest([Source("folder", f) for f in folders], tmp_path / "out")
    assert _entry(result.report, "accidents")["kept"] == 20
