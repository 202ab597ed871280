"""Departments, regions and communes: names, codes and rough extents.

BAAC writes places in two ways. Before 2019, ``dep`` is the INSEE department
code followed by a 0 (``590`` = Nord, ``201``/``202`` = Corsica, overseas
``971``...``976`` as is; leading zeros are often lost, ``10`` = Ain) and ``com``
is only the 3-digit commune part. From 2019, ``dep`` is the INSEE code
(``2A``, ``971``, and the overseas collectivities ``975``, ``977``, ``978``,
``986``, ``987``, ``988``) and ``com`` the full 5-character INSEE code. This
module turns both into INSEE codes and gives their names.

The reference tables are read from ``assets/`` (so the app runs without the
shared data folder): ``assets/ref/departements-france.csv`` (a copy of
``shared/data/ref/departements-france.csv``), ``assets/ref/communes.csv``
(derived from INSEE COG 2023, ``TYPECOM`` COM and ARM only) and
``assets/departements.geojson`` (``geo/departements-avec-outre-mer.geojson``
simplified at 0.001 degree). ``python -m core.place_assets`` rebuilds them from
``shared/data``. The overseas collectivities are not in these files and are
added from :mod:`core.place_data`. Whether a point lies in France or near its
department is measured in :mod:`core.place_checks`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Final

from core.config import ASSETS_DIR
from core.place_data import COLLECTIVITY_BBOXES, COLLECTIVITY_COMMUNES, OVERSEAS_COLLECTIVITIES

REF_DIR: Final = ASSETS_DIR / "ref"
DEPARTMENTS_CSV: Final = REF_DIR / "departements-france.csv"
COMMUNES_CSV: Final = REF_DIR / "communes.csv"
DEPARTMENTS_GEOJSON: Final = ASSETS_DIR / "departements.geojson"
#: Points of the communes' past located accidents (see :mod:`core.ecall.locate`).
COMMUNE_POINTS: Final = REF_DIR / "commune-points.parquet"

#: Pseudo region code of the overseas collectivities (INSEE gives them none).
COLLECTIVITIES_REGION: Final = "COM"
COLLECTIVITIES_REGION_NAME: Final = "Collectivités d'outre-mer"

#: Kilometres per degree of latitude (mean Earth radius 6,371 km); a degree of longitude is this times cos(lat).
KM_PER_DEGREE: Final = 111.195

_OVERSEAS_PREFIX: Final = "97"
_PARIS_DEP: Final = "75"
_PARIS_ARRONDISSEMENTS: Final = 20


def _insee_order(code: str) -> tuple[int, str]:
    """Sort key putting '2A', '2B' between '19' and '21', and '971'... last."""
    if code[:1] == "2" and code[1:] in ("A", "B"):
        return 20, code[1]
    return int(code), ""


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: rebuild the reference assets with `python -m core.place_assets`")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def _department_table() -> dict[str, tuple[str, str, str]]:
    """INSEE department code -> (name, region code, region name)."""
    table = {
        row["code_departement"]: (row["nom_departement"], row["code_region"], row["nom_region"])
        for row in _read_csv(DEPARTMENTS_CSV)
    }
    for code, name in OVERSEAS_COLLECTIVITIES.items():
        table[code] = (name, COLLECTIVITIES_REGION, COLLECTIVITIES_REGION_NAME)
    return dict(sorted(table.items(), key=lambda item: _insee_order(item[0])))


@lru_cache(maxsize=1)
def _commune_table() -> dict[str, str]:
    """INSEE commune code -> name (communes and municipal arrondissements)."""
    table = {row["com"]: row["name"] for row in _read_csv(COMMUNES_CSV)}
    table.update({code: name for code, (name, _dep) in COLLECTIVITY_COMMUNES.items()})
    return table


@lru_cache(maxsize=1)
def _commune_department_table() -> dict[str, str]:
    """INSEE commune code -> INSEE department code."""
    table = {row["com"]: row["dep"] for row in _read_csv(COMMUNES_CSV)}
    table.update({code: dep for code, (_name, dep) in COLLECTIVITY_COMMUNES.items()})
    return table


def normalise_dep(code: str | int | None) -> str | None:
    """Return the INSEE department code of a 2019+ ``dep`` value.

    Strips spaces, restores a lost leading zero (``'6'`` -> ``'06'``) and
    upper-cases Corsica (``'2a'`` -> ``'2A'``).

    Returns
    -------
    str or None
        The code if it is a known department or collectivity, else ``None``.

    Examples
    --------
    >>> normalise_dep("6"), normalise_dep(" 2b "), normalise_dep("988")
    ('06', '2B', '988')
    >>> normalise_dep("20") is None
    True
    """
    if code is None:
        return None
    text = str(code).strip().upper()
    if text.isdigit() and len(text) < 2:
        text = text.zfill(2)
    return text if text in _department_table() else None


def departments() -> list[tuple[str, str]]:
    """Return every department and collectivity as (code, name), in INSEE order.

    Examples
    --------
    >>> [code for code, _ in departments()][18:22]
    ['19', '2A', '2B', '21']
    """
    return [(code, name) for code, (name, _, _) in _department_table().items()]


def department_name(code: str) -> str:
    """Return the name of a department from its INSEE code.

    Returns ``"Département {code} inconnu"`` for an unknown code.

    Examples
    --------
    >>> department_name("59"), department_name("2A"), department_name("988")
    ('Nord', 'Corse-du-Sud', 'Nouvelle-Calédonie')
    """
    dep = normalise_dep(code)
    if dep is None:
        return f"Département {code} inconnu"
    return _department_table()[dep][0]


@lru_cache(maxsize=1)
def _region_table() -> dict[str, str]:
    regions_by_code = {region: name for _, region, name in _department_table().values()}
    ordered = sorted(regions_by_code, key=lambda c: (c == COLLECTIVITIES_REGION, c))
    return {code: regions_by_code[code] for code in ordered}


def regions() -> list[tuple[str, str]]:
    """Return every region as (code, name), by INSEE code, collectivities last.

    Examples
    --------
    >>> regions()[0], regions()[-1]
    (('01', 'Guadeloupe'), ('COM', "Collectivités d'outre-mer"))
    """
    return list(_region_table().items())


def departments_in_regions(region_codes: Iterable[str]) -> list[str]:
    """Return the department codes of the given regions, in INSEE order.

    Examples
    --------
    >>> departments_in_regions(["94"])
    ['2A', '2B']
    """
    wanted = {str(code).strip() for code in region_codes}
    return [code for code, (_, region, _) in _department_table().items() if region in wanted]


def commune_name(com: str | None) -> str | None:
    """Return the name of a commune from its 5-character INSEE code.

    Municipal arrondissements (Paris 75101..., Lyon, Marseille) have their own
    codes and names. Communes merged or renamed before 2023 (INSEE COG 2023),
    and those of Polynésie française and Nouvelle-Calédonie, give ``None``.

    Examples
    --------
    >>> commune_name("75056"), commune_name("2A004"), commune_name("75116")
    ('Paris', 'Ajaccio', 'Paris 16e Arrondissement')
    """
    if com is None:
        return None
    code = str(com).strip().upper()
    if code.isdigit() and len(code) == 4:
        code = code.zfill(5)
    return _commune_table().get(code)


def commune_department(com: str | None) -> str | None:
    """Return the department of a commune (INSEE COG 2023), or None when the code is not listed.

    Examples
    --------
    >>> commune_department("75116"), commune_department("2A004"), commune_department("97411")
    ('75', '2A', '974')
    >>> commune_department("99999") is None
    True
    """
    if not com:
        return None
    return _commune_department_table().get(str(com).strip().upper())


def _clean_number_text(value: str | int | float | None) -> str | None:
    """'53', 53, 53.0 and '53.0' -> '53'; empty, NaN or non-numeric -> None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text if text.isdigit() else None


def dep_from_pre2019(code: str | int | None) -> str | None:
    """Convert a pre-2019 BAAC ``dep`` into an INSEE department code.

    Parameters
    ----------
    code : str
        The INSEE code followed by a 0, possibly without its leading zero
        (``'590'``, ``'010'`` or ``'10'``), ``'201'``/``'202'`` for Corsica,
        ``'971'``...``'976'`` for overseas departments.

    Returns
    -------
    str or None
        ``'59'``, ``'01'``, ``'2A'``, ``'971'``...; ``None`` when empty or not a
        known department.

    Examples
    --------
    >>> dep_from_pre2019("590"), dep_from_pre2019("10"), dep_from_pre2019("201")
    ('59', '01', '2A')
    >>> dep_from_pre2019("974"), dep_from_pre2019("591")
    ('974', None)
    """
    text = _clean_number_text(code)
    if text is None:
        return None
    text = text.zfill(3)
    if text == "201":
        return "2A"
    if text == "202":
        return "2B"
    if text.startswith(_OVERSEAS_PREFIX):
        return normalise_dep(text)
    if len(text) != 3 or not text.endswith("0"):
        return None
    return normalise_dep(text[:2])


def com_insee(dep: str | None, com: str | int | None, *, pre2019: bool) -> str | None:
    """Build the 5-character INSEE commune code of an accident.

    Parameters
    ----------
    dep : str
        INSEE department code (``'01'``, ``'2A'``, ``'971'``): convert a
        pre-2019 ``dep`` with :func:`dep_from_pre2019` first.
    com : str
        BAAC ``com`` value.
    pre2019 : bool
        Whether the value comes from the 2005-2018 files, where ``com`` is the
        3-digit commune part (``'53'``, ``'53.0'`` and ``'053'`` alike);
        from 2019 it is already the INSEE code.

    Returns
    -------
    str or None
        The INSEE code, or ``None`` when it cannot be built. It is not checked
        against the commune list: use :func:`commune_name` for that.

    Notes
    -----
    Overseas (``dep`` 971...976) the INSEE code is ``'97'`` followed by three
    digits that start with the department's last digit (Les Abymes is
    97101). The 2005-2008 and 2015-2018 files give those three digits
    (``'101'``); 2009-2014 give a 0 instead of the department digit
    (``'001'``). Both are accepted; a first digit that is neither gives None.

    In Paris, 2005-2007 give the arrondissement number (``'016'``) where later
    years give its INSEE part (``'116'``): both become ``'75116'``.

    Examples
    --------
    >>> com_insee("01", "53", pre2019=True), com_insee("2A", "4.0", pre2019=True)
    ('01053', '2A004')
    >>> com_insee("971", "101", pre2019=True), com_insee("971", "001", pre2019=True)
    ('97101', '97101')
    >>> com_insee("75", "16", pre2019=True), com_insee("75", "75116", pre2019=False)
    ('75116', '75116')
    """
    if dep is None:
        return None
    dep = str(dep).strip().upper()
    if not pre2019:
        return _com_insee_from_2019(com)
    text = _clean_number_text(com)
    if text is None or len(text) > 3:
        return None
    com3 = text.zfill(3)
    if dep.startswith(_OVERSEAS_PREFIX) and len(dep) == 3:
        return _overseas_com_insee(dep, com3)
    if len(dep) != 2:
        return None
    if dep == _PARIS_DEP and 1 <= int(com3) <= _PARIS_ARRONDISSEMENTS:
        return dep + str(100 + int(com3))
    return dep + com3


def _com_insee_from_2019(com: str | int | None) -> str | None:
    """A 2019+ ``com``: already the INSEE code, at most a lost leading zero to restore."""
    if com is None or (isinstance(com, float) and math.isnan(com)):
        return None
    code = str(com).strip().upper()
    if code.isdigit() and len(code) == 4:
        code = code.zfill(5)
    return code if len(code) == 5 else None


def _overseas_com_insee(dep: str, com3: str) -> str | None:
    """A pre-2019 overseas commune part (``'101'`` or ``'001'`` in 971) as its INSEE code (see :func:`com_insee`)."""
    if com3[0] == dep[2]:
        return _OVERSEAS_PREFIX + com3
    if com3[0] == "0":
        return dep + com3[1:]
    return None


@lru_cache(maxsize=1)
def _bboxes() -> dict[str, tuple[float, float, float, float]]:
    """The boxes of the outlines of :func:`department_outlines` (the file is read once for both)."""
    boxes = {code: tuple(float(v) for v in geometry.bounds) for code, geometry in department_outlines().items()}
    return dict(sorted(boxes.items(), key=lambda item: _insee_order(item[0])))


def department_bboxes() -> dict[str, tuple[float, float, float, float]]:
    """Return the bounding box of every department and collectivity.

    Boxes are (min_lon, min_lat, max_lon, max_lat) in WGS84 degrees, from
    the department outlines (IGN Admin Express 2018, simplified at 0.001
    degree); those of 975, 977, 978, 986, 987 and 988 are approximate and
    hand-drawn. Ingest uses them to flag points far outside the department
    an accident claims.

    Examples
    --------
    >>> min_lon, min_lat, max_lon, max_lat = department_bboxes()["75"]
    >>> round(min_lon, 2), round(max_lat, 2)
    (2.22, 48.9)
    """
    return dict(_bboxes())


@lru_cache(maxsize=1)
def department_outlines() -> dict[str, object]:
    """Department -> its outline (shapely, prepared), or its box for the collectivities the outlines lack."""
    import shapely

    if not DEPARTMENTS_GEOJSON.exists():
        raise FileNotFoundError(
            f"{DEPARTMENTS_GEOJSON} is missing: rebuild the reference assets with `python -m core.place_assets`"
        )
    collection = json.loads(DEPARTMENTS_GEOJSON.read_text(encoding="utf-8"))
    shapes = {feature["properties"]["code"]: shapely.geometry.shape(feature["geometry"])
              for feature in collection["features"]}
    for code, box in COLLECTIVITY_BBOXES.items():
        shapes.setdefault(code, shapely.box(*box))
    shapely.prepare(list(shapes.values()))
    return shapes


def clear_caches() -> None:
    """Forget the tables and outlines read so far (after :mod:`core.place_assets` rebuilt the files)."""
    for cached in (_department_table, _commune_table, _commune_department_table, _region_table, _bboxes,
                   department_outlines):
        cached.cache_clear()
