"""Rebuild the light department outlines shipped in ``assets/`` from the full ones: ``python -m core.maps.outlines``.

The maps send the outlines with every map (:func:`core.maps.deck.load_outlines`
reads them); the full ``assets/departements.geojson`` (2 MB) is too heavy for
that, so this step simplifies it once, when the source outlines change.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.config import ASSETS_DIR
from core.maps.deck import OUTLINES_FILE


def simplify_outlines(source: Path, target: Path, *, tolerance: float = 0.01, digits: int = 3) -> int:
    """Write department outlines light enough to send with every map (about 1 km of detail).

    ``source`` is ``assets/departements.geojson`` (2 MB); shapes are
    simplified at ``tolerance`` degrees, coordinates rounded to ``digits``
    decimals, properties reduced to ``code`` and ``nom``. Returns the bytes written.
    """
    from shapely.geometry import mapping, shape

    collection = json.loads(Path(source).read_text(encoding="utf-8"))
    features = []
    for feature in collection["features"]:
        geometry = shape(feature["geometry"]).simplify(tolerance, preserve_topology=True)
        features.append({"type": "Feature",
                         "properties": {k: feature["properties"][k] for k in ("code", "nom")},
                         "geometry": _round(mapping(geometry), digits)})
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"),
                      ensure_ascii=False)
    Path(target).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def _round(geometry: dict, digits: int) -> dict:
    def walk(value):
        if isinstance(value, (float, int)):
            return round(float(value), digits)
        return [walk(v) for v in value]
    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def main() -> None:
    """Write :data:`core.maps.deck.OUTLINES_FILE` from ``assets/departements.geojson`` and print its size."""
    size = simplify_outlines(ASSETS_DIR / "departements.geojson", OUTLINES_FILE)
    print(f"{OUTLINES_FILE}: {size:,} bytes")


if __name__ == "__main__":
    main()
