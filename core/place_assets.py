"""Rebuild the reference files of :mod:`core.places` under ``assets/`` from the shared data folder.

Run ``python -m core.place_assets`` after the shared ``ref/`` or ``geo/`` files change; the app itself only
reads what this writes, so it runs without the shared data folder. ``python -m core.place_assets
--commune-points`` rebuilds the commune points of :mod:`core.ecall.locate` from the store instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from core import place_checks, places
from core.config import ASSETS_DIR, SHARED_DATA


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
    (ref_dir / places.DEPARTMENTS_CSV.name).write_bytes(source_deps.read_bytes())

    communes = pd.read_csv(shared_data / "ref" / "codes_insee_communes_2023.csv", dtype=str)
    communes = communes[communes["TYPECOM"].isin(["COM", "ARM"])]
    # Arrondissements carry no DEP: it is the start of their code (75, 13, 69).
    dep = communes["DEP"].fillna(communes["COM"].str[:2])
    slim = pd.DataFrame({"com": communes["COM"], "name": communes["LIBELLE"], "dep": dep})
    slim.to_csv(ref_dir / places.COMMUNES_CSV.name, index=False, lineterminator="\n")

    outlines = gpd.read_file(shared_data / "geo" / "departements-avec-outre-mer.geojson")
    outlines["geometry"] = outlines.geometry.simplify(0.001)
    target = assets_dir / places.DEPARTMENTS_GEOJSON.name
    target.unlink(missing_ok=True)
    outlines[["code", "nom", "geometry"]].to_file(target, driver="GeoJSON", COORDINATE_PRECISION=5)

    places.clear_caches()
    place_checks.clear_caches()


#: Grid (degrees, about 550 m by 370 m in mainland France) on which the located accidents of a commune
#: are thinned to one point per cell: the median of the cell's accidents.
COMMUNE_POINT_GRID: Final = 0.005
#: Whole-city codes of the three cities BAAC recorded as one commune until 2018 and by arrondissement since
#: (Marseille, Lyon, Paris): their points are left out, so a point in these cities gets its arrondissement.
CITY_CODES_WITH_ARRONDISSEMENTS: Final = ("13055", "69123", "75056")
#: Accidents set aside because their point lies outside their department's outline by more than this (km).
_OUTSIDE_KM: Final = 0.0


def build_commune_points(parquet_dir: Path, target: Path) -> int:
    """Write the commune points of :mod:`core.ecall.locate` from the store's located accidents; return their number.

    Every accident with a point inside its own department's outline counts; per commune, its
    accidents are thinned on a :data:`COMMUNE_POINT_GRID` grid (the median point of each cell), so
    the nearest point to a new position tells the commune of the nearest past accidents. Columns
    ``com`` (INSEE), ``lat``, ``lon`` (float32 degrees), sorted by commune.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = duckdb.connect()
    try:
        frame = con.execute(
            "SELECT dep, com, lat, lon FROM read_parquet(?) "
            "WHERE lat IS NOT NULL AND lon IS NOT NULL AND com IS NOT NULL AND dep IS NOT NULL "
            "AND NOT list_contains(?, com)",
            [str(Path(parquet_dir) / "accidents.parquet"), list(CITY_CODES_WITH_ARRONDISSEMENTS)]).df()
        inside = place_checks.department_distance_km(frame["dep"].to_numpy(object), frame["lat"].to_numpy(),
                                                     frame["lon"].to_numpy()) <= _OUTSIDE_KM
        con.register("located", frame[inside])
        points = con.execute(
            "SELECT com, median(lat)::FLOAT AS lat, median(lon)::FLOAT AS lon FROM located "
            "GROUP BY com, round(lat / ?), round(lon / ?) ORDER BY com, lat, lon",
            [COMMUNE_POINT_GRID, COMMUNE_POINT_GRID]).df()
    finally:
        con.close()
    table = pa.table({"com": points["com"].to_numpy(object), "lat": points["lat"].to_numpy("float32"),
                      "lon": points["lon"].to_numpy("float32")})
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    pq.write_table(table, partial, compression="zstd")
    partial.replace(target)  # a half-written file never replaces a good one
    return table.num_rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--commune-points"]:
        from core.config import parquet_dir

        written = build_commune_points(parquet_dir(), places.COMMUNE_POINTS)
        print(f"{written:,} commune points written to {places.COMMUNE_POINTS}")
    else:
        build_assets()
        print(f"Reference assets written under {ASSETS_DIR}")
