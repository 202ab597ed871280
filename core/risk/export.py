"""The hexagons of a map as a table, CSV or GeoJSON: H3 id, centre, counts, rates, modes as official labels."""

from __future__ import annotations

import json
import math

import h3
import numpy as np
import pandas as pd

from core import codebook
from core.h3cells import cell_ids


def mode_labels(codes: np.ndarray, variable: str) -> list[str]:
    """Official labels of the most frequent codes (0 = none known -> "Non renseigné")."""
    table = {code: codebook.label(variable, code or None) for code in np.unique(codes).tolist()}
    return [table[c] for c in np.asarray(codes).tolist()]


_EXPORT_COLUMNS = ["accidents", "severe", "fatal", "per_year", "severe_per_year", "rate", "rate_low", "rate_high",
                   "rr", "rr_low", "rr_high", "masked"]


def export_table(scored: pd.DataFrame) -> pd.DataFrame:
    """The exported columns: H3 id (hex string), centre, counts, rates, modes as official labels."""
    cells = cell_ids(scored["cell"].to_numpy())
    centres = [h3.cell_to_latlng(c) for c in cells]
    table = pd.DataFrame({"h3": cells, "lat": [round(c[0], 6) for c in centres],
                          "lon": [round(c[1], 6) for c in centres]})
    for column in _EXPORT_COLUMNS:
        table[column] = scored[column].to_numpy()
    table["meteo_frequente"] = mode_labels(scored["atm_mode"].to_numpy(), "atm")
    table["lumiere_frequente"] = mode_labels(scored["lum_mode"].to_numpy(), "lum")
    return table


def export_csv(scored: pd.DataFrame) -> str:
    """CSV (comma-separated, dot decimals) of :func:`export_table`."""
    return export_table(scored).to_csv(index=False)


def export_geojson(scored: pd.DataFrame) -> str:
    """GeoJSON FeatureCollection of the hexagons (polygons in lon/lat) with :func:`export_table` properties."""
    table = export_table(scored)
    features = []
    for record in table.to_dict(orient="records"):
        ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(record["h3"])]
        ring.append(ring[0])
        properties = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": properties})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=_plain)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to GeoJSON")
