"""Rebuild the reference files of :mod:`core.places` under ``assets/`` from the shared data folder.

Run ``python -m core.place_assets`` after the shared ``ref/`` or ``geo/`` files change; the app itself only
reads what this writes, so it runs without the shared data folder.
"""

from __future__ import annotations

from pathlib import Path

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


if __name__ == "__main__":
    build_assets()
    print(f"Reference assets written under {ASSETS_DIR}")
