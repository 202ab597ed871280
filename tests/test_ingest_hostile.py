"""Hostile sources: the ingest refuses what it cannot use whole, and sets aside bad lines one by one.

Every case is built inside the test from the real 2021 excerpt (2019+ layout) or
the real 2013 slice (pre-2019 layout). A refused source must leave exit status
2, one French line naming what is wrong, no traceback, and the previous store
byte for byte; a bad line must be rejected with its number, cause and text while
``read = kept + rejected`` still holds for its file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from core import config
from core.ingest import download, lines, workdir, yearly
from core.ingest.errors import IngestRefused
from core.ingest.pipeline import run_ingest
from core.ingest.sources import Source
from tests.conftest import EXCERPT_2021, OFFICIAL_2013
from tests.https_site import https_site

CARAC = "caracteristiques-2021.csv"
LIEUX = "lieux-2021.csv"
USERS = "usagers-2021.csv"
VEHICLES = "vehicules-2021.csv"
UNPARSEABLE = "unparseable line"


# --- building hostile copies -------------------------------------------------------------------------------

def _read_table(path: Path, delimiter: str = ";", encoding: str = "utf-8") -> tuple[list[str], list[list[str]]]:
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    return rows[0], rows[1:]


def _write_table(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ";",
                 encoding: str = "utf-8") -> None:
    """Write rows the way the official files of that layout are written (2019+: every field quoted)."""
    quoting = csv.QUOTE_ALL if delimiter == ";" else csv.QUOTE_MINIMAL
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows([header, *rows])


def _drop_column(path: Path, column: str, delimiter: str = ";", encoding: str = "utf-8") -> None:
    header, rows = _read_table(path, delimiter, encoding)
    index = header.index(column)
    _write_table(path, header[:index] + header[index + 1:], [r[:index] + r[index + 1:] for r in rows],
                 delimiter, encoding)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _data_lines(path: Path) -> int:
    """Non-blank lines after the header: what the report must call read for this file."""
    return sum(1 for line in path.read_bytes().splitlines()[1:] if line.strip())


# --- running and checking ----------------------------------------------------------------------------------

def _ingest_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "ingest", *args], cwd=config.ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_refused(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, no traceback, one French ``erreur :`` line holding every needle; return that line."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    shown = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in shown if line.startswith("erreur")]
    assert len(errors) == 1 and shown[-1] == errors[0], result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _report(store: Path) -> dict:
    return json.loads((store / config.REPORT_FILE).read_text())


def _assert_balanced(report: dict) -> None:
    for entry in report["tables"]:
        assert entry["read"] == entry["kept"] + entry["rejected"], entry
        assert entry["rejected"] == sum(entry["rejected_by_reason"].values()), entry


def _read_of(report: dict, table: str) -> dict:
    """Read, kept and rejected of one table over all its entries (one file per table here)."""
    entries = [e for e in report["tables"] if e["table"] == table]
    reasons: dict[str, int] = {}
    for e in entries:
        for reason, n in e["rejected_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {"read": sum(e["read"] for e in entries), "kept": sum(e["kept"] for e in entries),
            "rejected": sum(e["rejected"] for e in entries), "reasons": reasons}


def _accidents(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / config.ACCIDENTS_FILE).set_index("acc_id")


def _rejects(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / config.REJECTS_FILE)


@pytest.fixture(scope="module")
def excerpt_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An out folder holding the store of the real 2021 excerpt, built once and copied per test."""
    out = tmp_path_factory.mktemp("good")
    run_ingest([Source("folder", EXCERPT_2021)], out)
    return out


@pytest.fixture()
def good_out(excerpt_template: Path, tmp_path: Path) -> Path:
    """A writable out folder whose store holds the 20 accidents of 2021."""
    out = tmp_path / "out"
    shutil.copytree(excerpt_template, out)
    return out


def _refuse_keeping_store(out: Path, *args: str) -> str:
    """Run the CLI on ``out``; check it refused and left the store byte-identical and no work folder."""
    before = _tree_digest(out / config.PARQUET_SUBDIR)
    message = _assert_refused(_ingest_cli(*args, "--out", str(out)))
    assert _tree_digest(out / config.PARQUET_SUBDIR) == before
    assert not list(out.glob(f"{workdir.PREFIX}*"))
    return message


# --- files the ingest refuses whole ------------------------------------------------------------------------

@pytest.mark.parametrize(("file", "column"), [
    (CARAC, "an"), (CARAC, "dep"), (CARAC, "Num_Acc"), (LIEUX, "catr"), (USERS, "grav"), (VEHICLES, "catv"),
])
def test_missing_column_of_2019_layout_refuses_the_source(
    excerpt_copy: Path, good_out: Path, file: str, column: str
) -> None:
    _drop_column(excerpt_copy / file, column)
    message = _refuse_keeping_store(good_out, "--source", str(excerpt_copy))
    assert file in message and f"« {column} »" in message and "depuis 2019" in message


@pytest.mark.parametrize(("file", "column"), [
    ("caracteristiques_2013.csv", "hrmn"), ("lieux_2013.csv", "surf"), ("vehicules_2013.csv", "catv"),
])
def test_missing_column_of_pre_2019_layout_refuses_the_source(
    tmp_path: Path, good_out: Path, file: str, column: str
) -> None:
    source = tmp_path / "src2013"
    shutil.copytree(OFFICIAL_2013, source)
    _drop_column(source / file, column, delimiter=",", encoding="latin-1")
    message = _refuse_keeping_store(good_out, "--source", str(source))
    assert file in message and f"« {column} »" in message and "avant 2019" in message


def test_pre_2019_usagers_without_grav_refuses_the_source(tmp_path: Path, good_out: Path) -> None:
    source = tmp_path / "src2013"
    shutil.copytree(OFFICIAL_2013, source)
    # The official pre-2019 usagers header, grav left out; one person of the first 2013 accident.
    (source / "usagers_2013.csv").write_text(
        "Num_Acc,place,catu,sexe,trajet,secu,locp,actp,etatp,an_nais,num_veh\n"
        "201300000001,1,1,1,5,11,0,0,0,1971,A01\n", encoding="latin-1")
    message = _refuse_keeping_store(good_out, "--source", str(source))
    assert "usagers_2013.csv" in message and "« grav »" in message and "avant 2019" in message


@pytest.mark.parametrize(("file", "content", "expected"), [
    (USERS, b"", "fichier vide"),
    (VEHICLES, b"\n\n", "fichier vide"),
    (CARAC, None, "l'en-tête seul"),  # header only
    (USERS, None, "l'en-tête seul"),
    (LIEUX, b"PK\x03\x04\x14\x00\x00\x00\x08\x00lieux-2021.csv\x8d\x92\n\xc1", "fichier binaire"),
    (LIEUX, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "non décodable en UTF-8"),
    (USERS, '"Num_Acc";"grav"'.encode("utf-16"), "fichier binaire"),
    (VEHICLES, b'"Num_Acc";"id_v\xe9hicule";"num_veh"\n"202100000001";"1";"A01"\n', "non décodable en UTF-8"),
    (USERS, EXCERPT_2021.joinpath(USERS).read_bytes().replace(b";", b"|"), "séparé par « | »"),
    (CARAC, EXCERPT_2021.joinpath(CARAC).read_bytes().replace(b";", b"\t"), "séparé par tabulation"),
])
def test_unusable_file_refuses_the_source(
    excerpt_copy: Path, good_out: Path, file: str, content: bytes | None, expected: str
) -> None:
    path = excerpt_copy / file
    path.write_bytes(_lines(path)[0] if content is None else content)
    message = _refuse_keeping_store(good_out, "--source", str(excerpt_copy))
    assert file in message and expected in message


def test_missing_caracteristiques_refuses_the_source(excerpt_copy: Path, good_out: Path) -> None:
    (excerpt_copy / CARAC).unlink()
    message = _refuse_keeping_store(good_out, "--source", "package", "--source", str(excerpt_copy))
    assert "pas de fichier caracteristiques pour 2021" in message


def test_refusal_comes_before_any_reading(excerpt_copy: Path, tmp_path: Path) -> None:
    """A bad second source refuses the run before the 15 s archive read (checks come first)."""
    _drop_column(excerpt_copy / USERS, "grav")
    start = time.perf_counter()
    _assert_refused(_ingest_cli("--source", "package", "--source", str(excerpt_copy), "--out", str(tmp_path)))
    assert time.perf_counter() - start < 10
    assert not (tmp_path / config.PARQUET_SUBDIR).exists()


# --- variants of the official files that must still be read whole -----------------------------------------

@pytest.mark.parametrize("variant", ["CRLF line ends", "byte order mark", "blank lines at the end"])
def test_harmless_variants_of_the_2019_layout_are_read_whole(excerpt_copy: Path, tmp_path: Path, variant: str) -> None:
    for path in excerpt_copy.iterdir():
        data = path.read_bytes()
        if variant == "CRLF line ends":
            data = data.replace(b"\n", b"\r\n")
        elif variant == "byte order mark":
            data = b"\xef\xbb\xbf" + data
        else:
            data += b"\n\n  \n"
        path.write_bytes(data)
    report = run_ingest([Source("folder", excerpt_copy)], tmp_path).report
    for table, n in (("accidents", 20), ("lieux", 20), ("users", 53), ("vehicles", 38)):
        assert _read_of(report, table) == {"read": n, "kept": n, "rejected": 0, "reasons": {}}


def test_tab_separated_pre_2019_files_are_read_whole(tmp_path: Path) -> None:
    """Some pre-2019 years were published with tabs: the pre-2019 layout takes both separators."""
    source = tmp_path / "src2013"
    shutil.copytree(OFFICIAL_2013, source)
    carac = source / "caracteristiques_2013.csv"
    header, rows = _read_table(carac, ",", "latin-1")
    _write_table(carac, header, rows, "\t", "latin-1")
    report = run_ingest([Source("folder", source)], tmp_path / "out").report
    assert _read_of(report, "accidents") == {"read": 398, "kept": 398, "rejected": 0, "reasons": {}}


# --- a year never shrinks silently --------------------------------------------------------------------------

def _first_accidents(source: Path, n: int) -> None:
    """Keep the first ``n`` accidents of a copy of the excerpt (every table cut the same way)."""
    header, rows = _read_table(source / CARAC)
    keys = {r[0] for r in rows[:n]}
    for file in (CARAC, LIEUX, USERS, VEHICLES):
        header, rows = _read_table(source / file)
        _write_table(source / file, header, [r for r in rows if r[0] in keys])


def test_a_smaller_year_needs_replace_year(excerpt_copy: Path, good_out: Path) -> None:
    _first_accidents(excerpt_copy, 10)
    message = _refuse_keeping_store(good_out, "--source", str(excerpt_copy))
    assert "2021 : 10 accidents" in message and "contre 20 dans le store existant" in message
    assert "--replace-year 2021" in message
    result = _ingest_cli("--source", str(excerpt_copy), "--replace-year", "2021", "--out", str(good_out))
    assert result.returncode == 0, result.stderr
    assert len(_accidents(good_out / config.PARQUET_SUBDIR)) == 10
    assert any("--replace-year 2021" in w for w in _report(good_out / config.PARQUET_SUBDIR)["warnings"])


def test_a_later_smaller_source_in_the_same_run_needs_replace_year(excerpt_copy: Path, tmp_path: Path) -> None:
    """Like --source package --source DIR with 20 rows of 2019: the later source may not shrink the year."""
    _first_accidents(excerpt_copy, 2)
    message = _assert_refused(_ingest_cli("--source", str(EXCERPT_2021), "--source", str(excerpt_copy),
                                          "--out", str(tmp_path)))
    assert f"2021 : 2 accidents de {excerpt_copy}" in message and f"contre 20 dans la source {EXCERPT_2021}" in message
    assert not (tmp_path / config.PARQUET_SUBDIR).exists()
    result = _ingest_cli("--source", str(EXCERPT_2021), "--source", str(excerpt_copy), "--replace-year", "2021",
                         "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert len(_accidents(tmp_path / config.PARQUET_SUBDIR)) == 2


def test_a_year_missing_from_the_new_sources_needs_replace_year(good_out: Path) -> None:
    message = _refuse_keeping_store(good_out, "--source", str(OFFICIAL_2013))
    assert "2021 : aucun accident contre 20 dans le store existant" in message


def test_a_year_at_90_percent_or_more_passes(excerpt_copy: Path, good_out: Path) -> None:
    _first_accidents(excerpt_copy, 18)
    result = run_ingest([Source("folder", excerpt_copy)], good_out)
    assert len(_accidents(result.store)) == 18


# --- rows judged one by one: repeated people, vehicles and keys -------------------------------------------

def test_people_listed_twice_are_counted_once(excerpt_copy: Path, tmp_path: Path, excerpt_template: Path) -> None:
    path = excerpt_copy / USERS
    data = path.read_bytes()
    path.write_bytes(data + b"".join(_lines(path)[1:]))  # every person listed again after the last accident
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    original = _accidents(excerpt_template / config.PARQUET_SUBDIR)
    stored = _accidents(store)
    assert stored["n_killed"].sum() == original["n_killed"].sum() == 3
    assert stored["severe"].sum() == original["severe"].sum() == 10
    users = _read_of(_report(store), "users")
    assert users == {"read": 106, "kept": 53, "rejected": 53, "reasons": {yearly.REPEATED_PERSON: 53}}
    assert users["read"] == _data_lines(path)
    _assert_balanced(_report(store))


def test_a_driver_listed_twice_is_rejected_but_identical_passengers_are_kept(
    excerpt_copy: Path, tmp_path: Path
) -> None:
    """The official files hold identical passengers within one accident (ONISR counts them); never two drivers."""
    header, rows = _read_table(excerpt_copy / USERS)
    catu = header.index("catu")
    driver = next(i for i, r in enumerate(rows) if r[0] == "202100000003" and r[catu] == "1")
    passenger = next(i for i, r in enumerate(rows) if r[catu] == "2")
    passenger_accident = int(rows[passenger][0])
    rows.insert(max(driver, passenger) + 1, rows[max(driver, passenger)])
    rows.insert(min(driver, passenger) + 1, rows[min(driver, passenger)])
    _write_table(excerpt_copy / USERS, header, rows)
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    users = _read_of(_report(store), "users")
    assert users == {"read": 55, "kept": 54, "rejected": 1,
                     "reasons": {"second driver for the same vehicle (first kept)": 1}}
    people = pd.read_csv(EXCERPT_2021 / USERS, sep=";", dtype=str)["Num_Acc"].astype(int).value_counts()
    stored = _accidents(store)
    assert stored.loc[202100000003, "n_users"] == people[202100000003]
    assert stored.loc[passenger_accident, "n_users"] == people[passenger_accident] + 1


def test_vehicles_listed_twice_are_counted_once(excerpt_copy: Path, tmp_path: Path, excerpt_template: Path) -> None:
    path = excerpt_copy / VEHICLES
    path.write_bytes(path.read_bytes() + b"".join(_lines(path)[1:]))
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    vehicles = _read_of(_report(store), "vehicles")
    assert vehicles["read"] == 76 == _data_lines(path) and vehicles["kept"] == 38
    assert vehicles["reasons"] == {"duplicate vehicle: same id_vehicule (num_veh before 2019) (first kept)": 38}
    original = _accidents(excerpt_template / config.PARQUET_SUBDIR)
    assert _accidents(store)["n_vehicles"].to_dict() == original["n_vehicles"].to_dict()


def test_a_repeated_accident_key_keeps_the_first_row(excerpt_copy: Path, tmp_path: Path) -> None:
    header, rows = _read_table(excerpt_copy / CARAC)
    clash = list(rows[3])
    clash[header.index("hrmn")] = "23:59"
    _write_table(excerpt_copy / CARAC, header, [*rows, clash])
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    accidents = _read_of(_report(store), "accidents")
    assert accidents == {"read": 21, "kept": 20, "rejected": 1, "reasons": {"duplicate key (first kept)": 1}}
    stored = _accidents(store).loc[int(rows[3][0])]
    assert f"{stored.hour:02d}:{stored.minute:02d}" == rows[3][header.index("hrmn")]


def test_a_repeated_id_usager_is_rejected(excerpt_copy: Path, tmp_path: Path) -> None:
    """2022+ files carry id_usager: a person id listed twice in an accident is kept once."""
    header, rows = _read_table(excerpt_copy / USERS)
    ids = [f"{i + 1:06d}" for i in range(len(rows))]
    ids[1] = ids[0]  # the two people of accident 202100000001 now share an id
    _write_table(excerpt_copy / USERS, ["Num_Acc", "id_usager", *header[1:]],
                 [[r[0], i, *r[1:]] for r, i in zip(rows, ids, strict=True)])
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    users = _read_of(_report(store), "users")
    assert users["reasons"] == {"duplicate id_usager (first kept)": 1} and users["kept"] == 52


# --- unparseable lines: rejected with number, cause and text; small and large files alike ------------------

def _hostile_lines() -> dict[str, tuple[bytes, str]]:
    """Damaged versions of accident 202100000007's line, with the cause the reject must give."""
    line = _lines(EXCERPT_2021 / CARAC)[7].rstrip(b"\n")
    assert line.startswith(b'"202100000007"')
    return {
        "unclosed quote": (line.replace(b'";"', b';"', 3), "unclosed quote"),
        "extra field": (line + b';"x"', "16 fields, 15 expected"),
        "missing field": (line.rsplit(b";", 1)[0], "14 fields, 15 expected"),
        "pipe separator": (line.replace(b";", b"|"), 'separated by "|" instead of ";"'),
        "tab separator": (line.replace(b";", b"\t"), 'separated by "\\t" instead of ";"'),
        "binary garbage": (b"\x00\x01PK\x03\x04\xff\xfe\x00garbage\x07", "binary bytes"),
        "undecodable bytes": (line.replace(b"REPUBLIQUE", b"R\xe9PUBLIQUE"), "bytes not valid in UTF-8"),
        "stray quote": (line.replace(b'"13"', b'"1"x"3"'), "quote inside an unquoted field"),
    }


@pytest.mark.parametrize("kind", list(_hostile_lines()))
def test_an_unparseable_line_is_rejected_with_its_number_and_text(
    excerpt_copy: Path, tmp_path: Path, kind: str
) -> None:
    bad, cause = _hostile_lines()[kind]
    path = excerpt_copy / CARAC
    rows = _lines(path)
    rows[7] = bad + b"\n"  # line 8 of the file
    path.write_bytes(b"".join(rows))
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    report = _report(store)
    _assert_balanced(report)
    accidents = _read_of(report, "accidents")
    assert accidents == {"read": 20, "kept": 19, "rejected": 1, "reasons": {UNPARSEABLE: 1}}
    assert accidents["read"] == _data_lines(path)
    reject = _rejects(store).query("reason == @UNPARSEABLE").iloc[0]
    assert reject.detail.startswith(f"{CARAC}:8: {cause}")
    assert ("garbage" if kind == "binary garbage" else "202100000007") in reject.detail
    assert 202100000007 not in _accidents(store).index
    people = sum(b'"202100000007"' in line for line in _lines(excerpt_copy / USERS))
    # Its people follow it out, with the reason (a line without a readable key cannot name them).
    reason = "no accident with this key" if kind == "binary garbage" else "accident rejected: unparseable line"
    assert _read_of(report, "users")["reasons"] == {reason: people}


def test_a_truncated_last_line_is_rejected(excerpt_copy: Path, tmp_path: Path) -> None:
    path = excerpt_copy / VEHICLES
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: len(data) - 12])  # the last vehicle cut in the middle, no line end
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    vehicles = _read_of(_report(store), "vehicles")
    assert vehicles == {"read": 38, "kept": 37, "rejected": 1, "reasons": {UNPARSEABLE: 1}}
    detail = _rejects(store).query("reason == @UNPARSEABLE").iloc[0].detail
    assert detail.startswith(f"{VEHICLES}:39: ") and "last line, without line end: cut short?" in detail


def test_a_complete_last_line_without_line_end_is_kept(excerpt_copy: Path, tmp_path: Path) -> None:
    """lieux-2018.csv and vehicules-2018.csv end without a line end, as published."""
    path = excerpt_copy / VEHICLES
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    store = run_ingest([Source("folder", excerpt_copy)], tmp_path).store
    assert _read_of(_report(store), "vehicles")["kept"] == 38


def _large_caracteristiques(n: int) -> bytes:
    """``n`` lines of the 2021 layout: the excerpt's rows again and again under new keys."""
    header, *rows = _lines(EXCERPT_2021 / CARAC)
    out = io.BytesIO()
    out.write(header)
    for i in range(n):
        out.write(b'"2021%08d"' % (i + 1) + rows[i % len(rows)][len(b'"202100000001"'):])
    return out.getvalue()


def test_small_and_large_files_reject_the_same_lines_alike(tmp_path: Path) -> None:
    """DuckDB's sniffer failed on one bad line in a 20-line file but not in a 30,000-line one; here both agree."""
    hostile = [bad for bad, _ in _hostile_lines().values()]
    outcomes = []
    for size in (20, 30_000):
        source = tmp_path / f"src{size}"
        source.mkdir()
        header, *rows = _large_caracteristiques(size).splitlines(keepends=True)
        (source / CARAC).write_bytes(b"".join([header, *(bad + b"\n" for bad in hostile), *rows]))
        store = run_ingest([Source("folder", source)], tmp_path / f"out{size}").store
        accidents = _read_of(_report(store), "accidents")
        assert accidents["read"] == size + len(hostile) and accidents["kept"] == size
        outcomes.append(sorted(_rejects(store)["detail"]))
    assert outcomes[0] == outcomes[1]


def test_hundred_thousand_unparseable_lines_take_about_a_second() -> None:
    """The 100,000-bad-line case took 56 s through DuckDB's rejects; bench/ingest.py times it precisely."""
    hostile = [bad for bad, _ in _hostile_lines().values()]
    body = b"\n".join(hostile[i % len(hostile)] for i in range(100_000)) + b"\n"
    start = time.perf_counter()
    parsed = lines.parse_lines(body, n_fields=15, delimiter=";", encodings=("utf-8",))
    assert time.perf_counter() - start < 10
    assert parsed.fields.num_rows == 0 and parsed.rejects.num_rows == 100_000


# --- leftovers of killed runs --------------------------------------------------------------------------------

_HOLD_LOCK = """
import fcntl, os, sys, time
folder = sys.argv[1].replace("PID", str(os.getpid()))
os.makedirs(folder)
lock = open(os.path.join(folder, "lock"), "wb")
fcntl.flock(lock, fcntl.LOCK_EX)
print(folder, flush=True)
time.sleep(120)
"""


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(good_out: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = good_out / f"{workdir.PREFIX}{int(dead.stdout)}-abcd"  # a run killed with its lock: lock gone
    (killed / "duckdb_tmp").mkdir(parents=True)
    (killed / workdir.LOCK_FILE).touch()
    (killed / "duckdb_tmp" / "spill.tmp").write_bytes(b"\0" * 1_000_000)
    unlocked = good_out / f"{workdir.PREFIX}{int(dead.stdout)}-efgh"  # killed before it took its lock
    unlocked.mkdir()
    older = good_out / f"{workdir.PREFIX}x8k2m1"  # named before process ids were used
    older.mkdir()
    live = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(good_out / f"{workdir.PREFIX}PID-live")],
                            stdout=subprocess.PIPE, text=True)
    try:
        held = Path(live.stdout.readline().strip())
        assert held.is_dir() and workdir.in_use(held)
        result = _ingest_cli("--source", str(EXCERPT_2021), "--out", str(good_out))
        assert result.returncode == 0, result.stderr
        assert not killed.exists() and not unlocked.exists() and not older.exists()
        assert held.is_dir(), "the folder of a run still going must be kept"
    finally:
        live.kill()
        live.wait()
    assert workdir.remove_leftovers(good_out, config.PARQUET_SUBDIR) == [held]


def test_a_store_moved_aside_by_a_killed_swap_is_put_back(good_out: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = good_out / config.PARQUET_SUBDIR
    before = _tree_digest(store)
    aside = good_out / f".{config.PARQUET_SUBDIR}.old-{int(dead.stdout)}"
    os.replace(store, aside)
    assert workdir.remove_leftovers(good_out, config.PARQUET_SUBDIR) == [aside]
    assert _tree_digest(store) == before


# --- downloads: https only -------------------------------------------------------------------------------

def test_download_refuses_a_catalogue_that_is_not_https(tmp_path: Path) -> None:
    result = _ingest_cli("--download", "2021", "--base-url", "http://127.0.0.1:9", "--out", str(tmp_path))
    message = _assert_refused(result, "catalogue", "'http://127.0.0.1:9", "https://")
    assert "refusée" in message
    assert not (tmp_path / "raw").exists() and not (tmp_path / config.PARQUET_SUBDIR).exists()


@pytest.mark.parametrize("url", ["file:///etc/hostname", "http://127.0.0.1:9/usagers-2021.csv",
                                 "ftp://127.0.0.1/usagers-2021.csv", "//127.0.0.1/usagers-2021.csv"])
def test_download_refuses_a_resource_that_is_not_https(tmp_path: Path, url: str) -> None:
    with https_site(tmp_path / "site") as site:
        site.publish_files(sorted(EXCERPT_2021.iterdir()))
        catalogue = json.loads((site.folder / download.CATALOGUE_PATH.strip("/") / "index.html").read_text())
        catalogue["resources"][-1]["url"] = url
        site.publish(catalogue["resources"])
        with pytest.raises(IngestRefused, match="seules les adresses https:// sont acceptées"):
            download.download_years([2021], tmp_path / "raw", base_url=site.base, context=site.context)
    assert not (tmp_path / "raw").exists(), "nothing is fetched once an address is refused"


def test_cli_download_refuses_a_file_url_from_the_catalogue(tmp_path: Path) -> None:
    secret = tmp_path / "local-secret.csv"
    secret.write_text("not for the raw folder\n")
    with https_site(tmp_path / "site") as site:
        site.publish([{"title": "usagers-2021.csv", "url": secret.as_uri()}])
        env = {**os.environ, "SSL_CERT_FILE": str(site.ca_file)}
        result = _ingest_cli("--download", "2021", "--base-url", site.base, "--out", str(tmp_path / "out"), env=env)
    _assert_refused(result, "usagers-2021.csv", secret.as_uri(), "https://")
    assert not (tmp_path / "out" / "raw").exists()


def test_download_refuses_a_redirection_to_http(tmp_path: Path) -> None:
    with https_site(tmp_path / "site") as site:
        site.publish([{"title": "usagers-2021.csv", "url": f"{site.base}/moved"}])
        site.redirects["/moved"] = "http://127.0.0.1:9/usagers-2021.csv"
        with pytest.raises(IngestRefused, match="redirection"):
            download.download_years([2021], tmp_path / "raw", base_url=site.base, context=site.context)
    assert not list((tmp_path / "raw").rglob("*.csv"))


def test_download_refuses_an_untrusted_certificate(tmp_path: Path) -> None:
    """Without the test authority, the local server's certificate is not trusted: nothing is fetched."""
    with https_site(tmp_path / "site") as site:
        site.publish_files(sorted(EXCERPT_2021.iterdir()))
        with pytest.raises(IngestRefused, match="injoignable"):
            download.download_years([2021], tmp_path / "raw", base_url=site.base)
    assert not (tmp_path / "raw").exists()
