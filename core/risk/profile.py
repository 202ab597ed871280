"""When the accidents of a risk map happen: hour × weekday and month profiles, for the view or one hexagon.

A planner sizing night or weekend cover needs to know *when* risk happens
in the area on screen, not only where. The profile counts the map's own
accidents (its filter and condition, :attr:`core.risk.result.HexRisk.mask`)
in the hexagons it shows, or in the one clicked, with ``np.bincount`` on the
hour, weekday and month columns :func:`core.risk.loading.load_facts` already
holds: a few milliseconds, where a DuckDB ``GROUP BY`` per click would cost
tens (see :mod:`core.risk.facts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd

from core import places
from core.config import H3_RESOLUTIONS
from core.filter_fields import UNKNOWN_CODE
from core.formatting import format_count
from core.risk.choices import CONDITIONS
from core.risk.facts import HexFacts
from core.risk.result import HexRisk

HOURS, WEEKDAYS, MONTHS = 24, 7, 12


@dataclass(frozen=True, eq=False)
class TimeProfile:
    """Accidents and severe accidents (killed or hospitalised) by weekday × hour and by month.

    ``*_by_hour`` are (7, 24) counts, Monday first (row 0) and hour 0 first
    (column 0); ``*_by_month`` are 12 counts, January first. ``unknown_time``
    accidents have no hour or weekday recorded: they count in the month
    profile only.
    """

    accidents_by_hour: np.ndarray
    severe_by_hour: np.ndarray
    accidents_by_month: np.ndarray
    severe_by_month: np.ndarray
    unknown_time: int

    @property
    def accidents(self) -> int:
        return int(self.accidents_by_month.sum())

    @property
    def severe(self) -> int:
        return int(self.severe_by_month.sum())


def time_profile(facts: HexFacts, mask: np.ndarray) -> TimeProfile:
    """The hour × weekday and month profiles of the accidents ``mask`` selects.

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> from core.risk.masks import filter_mask
    >>> profile = time_profile(facts, filter_mask(facts, AccidentFilter(deps=("75",), years=(2019, 2019))))
    >>> profile.accidents, int(profile.accidents_by_hour.sum()) + profile.unknown_time
    (5610, 5610)
    """
    rows = np.flatnonzero(mask)
    columns = facts.columns
    hour, weekday = columns["hour"][rows], columns["weekday"][rows]
    severe = columns["severe"][rows]
    known = (hour != UNKNOWN_CODE) & (weekday != UNKNOWN_CODE)
    slot = weekday[known].astype(np.int64) * HOURS + hour[known]
    size = WEEKDAYS * HOURS
    month = columns["month"][rows].astype(np.int64) - 1  # months are never unknown in the store
    return TimeProfile(
        accidents_by_hour=np.bincount(slot, minlength=size).reshape(WEEKDAYS, HOURS),
        severe_by_hour=np.bincount(slot[severe[known]], minlength=size).reshape(WEEKDAYS, HOURS),
        accidents_by_month=np.bincount(month, minlength=MONTHS),
        severe_by_month=np.bincount(month[severe], minlength=MONTHS),
        unknown_time=int(np.count_nonzero(~known)),
    )


def cells_mask(facts: HexFacts, cells: np.ndarray, resolution: int) -> np.ndarray:
    """Mask of the located accidents that fall in any of ``cells`` (uint64 H3 indexes of ``resolution``).

    Cells with no located accident are ignored.
    """
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"resolution {resolution} not in {H3_RESOLUTIONS}")
    known = facts.cells[resolution]
    cells = np.asarray(cells, dtype=np.uint64)
    positions = np.searchsorted(known, cells)
    found = positions < len(known)
    found[found] = known[positions[found]] == cells[found]
    chosen = np.zeros(len(known), dtype=bool)
    chosen[positions[found]] = True
    return chosen[facts.cell_index[resolution]]


def cell_mask(facts: HexFacts, cell: str) -> np.ndarray:
    """Mask of the located accidents in one H3 cell (hexadecimal id) of any stored resolution.

    Examples
    --------
    >>> int(cell_mask(facts, "851fb467fffffff").sum()) > 0, int(cell_mask(facts, "8a1fb4662507fff").sum())
    (True, 0)
    """
    if not h3.is_valid_cell(cell):
        raise ValueError(f"{cell!r} is not an H3 cell")
    resolution = h3.get_resolution(cell)
    if resolution not in H3_RESOLUTIONS:
        return np.zeros(facts.size, dtype=bool)
    return cells_mask(facts, np.array([h3.str_to_int(cell)], dtype=np.uint64), resolution)


def view_mask(facts: HexFacts, result: HexRisk, *, hide_masked: bool = False) -> np.ndarray:
    """The accidents a map counts: its selection, in the cells it shows.

    A zoomed view keeps fewer cells, and « Masquer sous le minimum » (``hide_masked``) hides the cells
    under the minimum: their accidents are not on the map, so not in its profile either.
    """
    shown = result.shown(hide_masked=hide_masked)
    return result.mask & cells_mask(facts, shown["cell"].to_numpy(), result.resolution)


def area_profile(facts: HexFacts, result: HexRisk, cell: str | None, *,
                 hide_masked: bool = False) -> tuple[TimeProfile, str | None]:
    """The profile of the map's accidents in ``cell``, or in the cells it shows when None; the cell's main commune."""
    if cell is None:
        return time_profile(facts, view_mask(facts, result, hide_masked=hide_masked)), None
    mask = result.mask & cell_mask(facts, cell)
    return time_profile(facts, mask), main_commune(facts, mask)


def picked_cell(rows: Sequence[object]) -> str | None:
    """The H3 id of the hexagon clicked on the map, from the selected rows of its hexagon layer; None if none.

    Each row of the layer is a JSON array whose first item is the cell's
    hexadecimal id (:mod:`core.maps.hexagons`); anything else is ignored.

    Examples
    --------
    >>> picked_cell([["871fb4662ffffff", 3, 12]]), picked_cell([]), picked_cell([{"x": 1}]), picked_cell([["zz"]])
    ('871fb4662ffffff', None, None, None)
    """
    if not rows or not isinstance(rows[0], (list, tuple)) or not rows[0]:
        return None
    cell = rows[0][0]
    return cell if isinstance(cell, str) and h3.is_valid_cell(cell) else None


def main_commune(facts: HexFacts, mask: np.ndarray) -> str | None:
    """Name of the commune most of the masked accidents are in (lowest code on a tie); None when none is known.

    Examples
    --------
    >>> main_commune(facts, cell_mask(facts, "871fb4662ffffff"))
    'Paris 4e Arrondissement'
    """
    communes = pd.Series(facts.columns["com"][mask]).dropna()
    if communes.empty:
        return None
    counts = communes.value_counts().sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    code = counts.index[0]
    return places.commune_name(code) or code


def profile_title(cell: str | None, commune: str | None) -> str:
    """What the profile covers, for its heading: the whole view, or the hexagon named by its id and commune.

    Examples
    --------
    >>> profile_title(None, None)
    'Quand ? Toute la vue'
    >>> profile_title("871fb4662ffffff", "Paris 4e Arrondissement")
    'Quand ? Hexagone 871fb4662ffffff (Paris 4e Arrondissement)'
    """
    if cell is None:
        return "Quand ? Toute la vue"
    return f"Quand ? Hexagone {cell}" + (f" ({commune})" if commune else "")


def restricting_condition(metric: str, condition: str | None) -> str | None:
    """The label of the condition that restricts a map's accidents: None for none, or for a relative risk.

    Examples
    --------
    >>> restricting_condition("severe_per_year", "rain"), restricting_condition("relative_risk", "rain")
    ('Pluie', None)
    """
    if metric == "relative_risk" or condition is None:
        return None
    return CONDITIONS[condition].label


def profile_caption(profile: TimeProfile, *, condition: str | None = None) -> str:
    """The accidents a profile counts, in one French sentence.

    ``condition`` is the label of the condition that restricts the map's
    accidents (rain, night...), None when none does (a relative-risk map
    compares its condition, it keeps every accident of the filters).

    Examples
    --------
    >>> empty = np.zeros((7, 24), dtype=int)
    >>> profile = TimeProfile(empty, empty, np.array([1200] + [0] * 11), np.array([300] + [0] * 11), 2)
    >>> profile_caption(profile).split(", dont")[0]
    '1\u202f200 accidents géolocalisés de la sélection (filtres)'
    >>> caption = profile_caption(profile, condition="Pluie")
    >>> caption.split(", dont")[0].endswith("(filtres et condition « Pluie »)"), caption.split(" ; ")[1]
    (True, '2 sans heure ou jour connus, comptés par mois seulement.')
    """
    what = f"filtres et condition « {condition} »" if condition else "filtres"
    text = (f"{format_count(profile.accidents)} accidents géolocalisés de la sélection ({what}), "
            f"dont {format_count(profile.severe)} graves (tué ou hospitalisé)")
    if profile.unknown_time:
        text += f" ; {format_count(profile.unknown_time)} sans heure ou jour connus, comptés par mois seulement"
    return text + "."
