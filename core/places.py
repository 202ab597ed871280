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
simplified at 0.001 degree). ``python -m core.places`` rebuilds them from
``shared/data``. The overseas collectivities are not in these files and are
added here by hand.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

import numpy as np

from core.config import ASSETS_DIR, SHARED_DATA

REF_DIR: Final = ASSETS_DIR / "ref"
DEPARTMENTS_CSV: Final = REF_DIR / "departements-france.csv"
COMMUNES_CSV: Final = REF_DIR / "communes.csv"
DEPARTMENTS_GEOJSON: Final = ASSETS_DIR / "departements.geojson"

#: Pseudo region code of the overseas collectivities (INSEE gives them none).
COLLECTIVITIES_REGION: Final = "COM"
COLLECTIVITIES_REGION_NAME: Final = "Collectivités d'outre-mer"

#: Overseas collectivities present in BAAC from 2019 (INSEE codes and names).
OVERSEAS_COLLECTIVITIES: Final[dict[str, str]] = {
    "975": "Saint-Pierre-et-Miquelon",
    "977": "Saint-Barthélemy",
    "978": "Saint-Martin",
    "986": "Wallis-et-Futuna",
    "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
}

# Communes of the smaller collectivities (INSEE codes, as found in BAAC 2005-2020).
# Those of 987 and 988 (48 and 33 communes) are not listed: commune_name gives None.
_COLLECTIVITY_COMMUNES: Final[dict[str, tuple[str, str]]] = {
    "97501": ("Miquelon-Langlade", "975"),
    "97502": ("Saint-Pierre", "975"),
    "97701": ("Saint-Barthélemy", "977"),
    "97801": ("Saint-Martin", "978"),
    "98611": ("Alo", "986"),
    "98612": ("Sigave", "986"),
    "98613": ("Uvea", "986"),
    # Codes of the two islands while they were communes of Guadeloupe (until 2007).
    "97123": ("Saint-Barthélemy", "971"),
    "97127": ("Saint-Martin", "971"),
}

# Approximate boxes (min_lon, min_lat, max_lon, max_lat) of the collectivities,
# which the GeoJSON lacks: hand-drawn around the inhabited islands, a little wide.
_COLLECTIVITY_BBOXES: Final[dict[str, tuple[float, float, float, float]]] = {
    "975": (-56.45, 46.74, -56.10, 47.15),
    "977": (-62.96, 17.86, -62.78, 17.98),
    "978": (-63.16, 18.00, -62.96, 18.13),
    "986": (-178.25, -14.40, -176.10, -13.15),
    "987": (-154.80, -28.00, -134.30, -7.70),
    "988": (163.50, -22.90, 168.20, -19.40),
}

#: Kilometres per degree of latitude (mean Earth radius 6,371 km); a degree of longitude is this times cos(lat).
KM_PER_DEGREE: Final = 111.195
#: A point within this many degrees of a department's box counts as "in France" (about 11 km).
FRANCE_MARGIN_DEG: Final = 0.1

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
        raise FileNotFoundError(f"{path} is missing: rebuild the reference assets with `python -m core.places`")
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
    table.update({code: name for code, (name, _dep) in _COLLECTIVITY_COMMUNES.items()})
    return table


@lru_cache(maxsize=1)
def _commune_department_table() -> dict[str, str]:
    """INSEE commune code -> INSEE department code."""
    table = {row["com"]: row["dep"] for row in _read_csv(COMMUNES_CSV)}
    table.update({code: dep for code, (_name, dep) in _COLLECTIVITY_COMMUNES.items()})
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


def region_of(dep: str) -> str | None:
    """Return the INSEE region code of a department (``"COM"`` for collectivities).

    Examples
    --------
    >>> region_of("59"), region_of("974"), region_of("987")
    ('32', '04', 'COM')
    """
    code = normalise_dep(dep)
    return None if code is None else _department_table()[code][1]


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


def region_name(code: str) -> str:
    """Return the name of a region from its INSEE code.

    Returns ``"Région {code} inconnue"`` for an unknown code.

    Examples
    --------
    >>> region_name("11")
    'Île-de-France'
    """
    return _region_table().get(str(code).strip(), f"Région {code} inconnue")


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
        if com is None or (isinstance(com, float) and math.isnan(com)):
            return None
        code = str(com).strip().upper()
        if code.isdigit() and len(code) == 4:
            code = code.zfill(5)
        return code if len(code) == 5 else None
    text = _clean_number_text(com)
    if text is None or len(text) > 3:
        return None
    com3 = text.zfill(3)
    if dep.startswith(_OVERSEAS_PREFIX) and len(dep) == 3:
        if com3[0] == dep[2]:
            return _OVERSEAS_PREFIX + com3
        if com3[0] == "0":
            return dep + com3[1:]
        return None
    if len(dep) != 2:
        return None
    if dep == _PARIS_DEP and 1 <= int(com3) <= _PARIS_ARRONDISSEMENTS:
        return dep + str(100 + int(com3))
    return dep + com3


@lru_cache(maxsize=1)
def _bboxes() -> dict[str, tuple[float, float, float, float]]:
    """The boxes of the outlines of :func:`_outline_geometries` (the file is read once for both)."""
    boxes = {code: tuple(float(v) for v in geometry.bounds) for code, geometry in _outline_geometries().items()}
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


def near_france(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Tell which points lie within :data:`FRANCE_MARGIN_DEG` of a department's box (overseas included).

    A coarse test (a box is wider than its department) meant to catch points
    that are nowhere near France: (0, 0), latitude and longitude swapped, a
    sign lost.

    Examples
    --------
    >>> near_france(np.array([48.85, 0.0, 2.35, -21.1]), np.array([2.35, 0.0, 48.85, 55.5])).tolist()
    [True, False, False, True]
    """
    boxes = _box_array()
    lat = np.asarray(lat, dtype=np.float64)[:, None]
    lon = np.asarray(lon, dtype=np.float64)[:, None]
    margin = FRANCE_MARGIN_DEG
    inside = ((lon >= boxes[:, 0] - margin) & (lat >= boxes[:, 1] - margin)
              & (lon <= boxes[:, 2] + margin) & (lat <= boxes[:, 3] + margin))
    return inside.any(axis=1)


@lru_cache(maxsize=1)
def _box_array() -> np.ndarray:
    """The boxes of :func:`department_bboxes` as one (departments, 4) array."""
    return np.array(list(_bboxes().values()))


@lru_cache(maxsize=1)
def _outline_geometries() -> dict[str, object]:
    """Department -> its outline (shapely, prepared), or its box for the collectivities the outlines lack."""
    import shapely

    if not DEPARTMENTS_GEOJSON.exists():
        raise FileNotFoundError(
            f"{DEPARTMENTS_GEOJSON} is missing: rebuild the reference assets with `python -m core.places`"
        )
    collection = json.loads(DEPARTMENTS_GEOJSON.read_text(encoding="utf-8"))
    shapes = {feature["properties"]["code"]: shapely.geometry.shape(feature["geometry"])
              for feature in collection["features"]}
    for code, box in _COLLECTIVITY_BBOXES.items():
        shapes.setdefault(code, shapely.box(*box))
    shapely.prepare(list(shapes.values()))
    return shapes


@cache
def _projected_outline(dep: str) -> tuple[object, float, float, float]:
    """A department's outline in km around its box centre (equirectangular), with that centre and scale."""
    import shapely

    geometry = _outline_geometries()[dep]
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    lon0, lat0 = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    scale = math.cos(math.radians(lat0))

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - lon0) * scale * KM_PER_DEGREE, (coords[:, 1] - lat0) * KM_PER_DEGREE])

    return shapely.transform(geometry, project), lon0, lat0, scale


def department_distance_km(dep: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Distance in km from each point to its department's outline (0 inside, NaN for an unknown department).

    Points inside are found on the outlines in degrees (quick); the distance
    of the others uses a flat projection around their department, within a few
    percent over the tens of kilometres that matter here. The collectivities
    without an outline are measured to their box.

    Examples
    --------
    >>> km = department_distance_km(np.array(["75", "75", "13"]), np.array([48.8566, 50.63, 43.3]),
    ...                             np.array([2.3522, 3.06, 5.37]))
    >>> float(km[0]), 190 < float(km[1]) < 215, float(km[2])
    (0.0, True, 0.0)
    """
    import shapely

    dep = np.asarray(dep, dtype=object)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    distance = np.full(len(dep), np.nan)
    outlines = _outline_geometries()
    for code in np.unique(dep).tolist():
        if code not in outlines:
            continue
        rows = np.flatnonzero(dep == code)
        inside = shapely.contains_xy(outlines[code], lon[rows], lat[rows])
        distance[rows] = 0.0
        if inside.all():
            continue
        away = rows[~inside]
        geometry, lon0, lat0, scale = _projected_outline(code)
        x = (lon[away] - lon0) * scale * KM_PER_DEGREE
        y = (lat[away] - lat0) * KM_PER_DEGREE
        distance[away] = shapely.distance(geometry, shapely.points(x, y))
    return distance


def build_assets(shared_data: Path = SHARED_DATA, assets_dir: Path = ASSETS_DIR) -> None:
    """Rebuild the reference files under ``assets_dir`` from ``shared_data``.

    Writes ``ref/departements-france.csv`` (a copy), ``ref/communes.csv``
    (``com,name,dep`` for TYPECOM COM and ARM of INSEE COG 2023) and
    ``departements.geojson`` (outlines simplified at 0.001 degree, properties
    ``code`` and ``nom`` kept). Needs pandas and geopandas.
    """
    import geopandas as gpd  # only needed to rebuild assets
    import pandas as pd

    ref_dir = assets_dir / "ref"
    ref_dir.mkdir(parents=True, exist_ok=True)
    source_deps = shared_data / "ref" / "departements-france.csv"
    (ref_dir / DEPARTMENTS_CSV.name).write_bytes(source_deps.read_bytes())

    communes = pd.read_csv(shared_data / "ref" / "codes_insee_communes_2023.csv", dtype=str)
    communes = communes[communes["TYPECOM"].isin(["COM", "ARM"])]
    # Arrondissements carry no DEP: it is the start of their code (75, 13, 69).
    dep = communes["DEP"].fillna(communes["COM"].str[:2])
    slim = pd.DataFrame({"com": communes["COM"], "name": communes["LIBELLE"], "dep": dep})
    slim.to_csv(ref_dir / COMMUNES_CSV.name, index=False, lineterminator="\n")

    outlines = gpd.read_file(shared_data / "geo" / "departements-avec-outre-mer.geojson")
    outlines["geometry"] = outlines.geometry.simplify(0.001)
    target = assets_dir / DEPARTMENTS_GEOJSON.name
    target.unlink(missing_ok=True)
    outlines[["code", "nom", "geometry"]].to_file(target, driver="GeoJSON", COORDINATE_PRECISION=5)

    for cached in (_department_table, _commune_table, _commune_department_table, _region_table,
                   _bboxes, _box_array, _outline_geometries, _projected_outline):
        cached.cache_clear()


if __name__ == "__main__":
    build_assets()
    print(f"Reference assets written under {ASSETS_DIR}")
