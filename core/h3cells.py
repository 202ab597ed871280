"""H3 cell arithmetic on arrays: the one place that knows the bits of an H3 index.

The store keeps, for each located accident, its cell at every resolution of
``config.H3_RESOLUTIONS``: one ``h3`` call per point gives the finest cell, and
the coarser ones are its parents, computed on the 64 bits of the index (the
resolution field and the unused digits), thousands of times faster than one
``h3.cell_to_parent`` call per cell. Ingest, the model's place history and the
risk map all go through these functions, so their cells always agree.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from h3.api import basic_int as h3

from core import config

#: The resolution of the cell computed from a point; coarser cells are its parents.
FINEST_RESOLUTION = max(config.H3_RESOLUTIONS)
_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)
_HEX_PAIRS = np.array([f"{b:02x}".encode() for b in range(256)], dtype="S2")


def latlng_to_cells(lat: np.ndarray, lon: np.ndarray, resolution: int = FINEST_RESOLUTION) -> np.ndarray:
    """H3 cells (uint64) of points; 0 where a coordinate is missing (NaN).

    Examples
    --------
    >>> cells = latlng_to_cells(np.array([48.8566, np.nan]), np.array([2.3522, 2.0]))
    >>> [h3.int_to_str(int(cells[0])), int(cells[1])]
    ['891fb466257ffff', 0]
    """
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    points = zip(lat.tolist(), lon.tolist(), strict=True)
    # a == a and b == b: both known (NaN is the only value unequal to itself)
    return np.fromiter((h3.latlng_to_cell(a, b, resolution) if a == a and b == b else 0 for a, b in points),
                       dtype=np.uint64, count=len(lat))


def cells_to_parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Parent cells at a coarser ``resolution``, computed on the bits of the H3 index.

    Same result as ``h3.cell_to_parent`` for each cell: the resolution field
    is set to ``resolution`` and the digits below it to 7 (unused).

    Examples
    --------
    >>> cell = h3.str_to_int("891fb466257ffff")
    >>> parent = h3.cell_to_parent(cell, 5)
    >>> int(cells_to_parents(np.array([cell], dtype=np.uint64), 5)[0]) == parent
    True
    """
    cells = np.asarray(cells, dtype=np.uint64)
    unused = np.uint64((1 << (3 * (15 - resolution))) - 1)
    return (cells & ~_RES_MASK) | np.uint64(resolution << _RES_SHIFT) | unused


def cell_id_array(cells: np.ndarray) -> pa.StringArray:
    """:func:`cell_ids` as an Arrow string array, for the map's JSON writer (no Python strings made).

    Vectorised: each byte becomes two hex digits through a table, then the
    leading "0" of the 16 digits goes (every valid H3 index has 15: its top
    four bits are 0 and the next is 1); other values fall back to ``format``.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return pa.array([], type=pa.string())
    if not np.all((cells >> np.uint64(59)) == 1):
        return pa.array(list(map("{:x}".format, cells.tolist())), type=pa.string())
    digits = _HEX_PAIRS[cells.astype(">u8").view(np.uint8).reshape(-1, 8)].view("S16").ravel()
    return pc.utf8_slice_codeunits(pa.array(digits, type=pa.binary(16)).cast(pa.string()), 1)


def cell_ids(cells: np.ndarray) -> list[str]:
    """H3 indexes as the hexadecimal strings of ``h3.int_to_str``.

    deck.gl reads them; as JSON numbers, ids above 2**53 would lose digits.

    Examples
    --------
    >>> cell_ids(np.array([0x871FB4662FFFFFF], dtype=np.uint64))
    ['871fb4662ffffff']
    """
    return cell_id_array(cells).to_pylist()
