"""What the risk map shows besides the filter (metric, condition, resolution, view...), read from and written to links.

A link never fails: :meth:`MapOptions.read_params` brings every value within
its bounds or back to its default, with a French note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import h3

from core.config import H3_RESOLUTIONS
from core.formatting import format_quoted
from core.maps.views import ZOOM_RANGE, BBox, View, bbox_for_view, view_for_cell, view_for_departments
from core.risk.choices import CONDITIONS, MAX_RESOLUTION, METRICS, MIN_RESOLUTION, resolution_for_extent

MIN_COUNT_RANGE = (1, 1000)


@dataclass(frozen=True)
class MapOptions:
    """What the map shows besides the filter, carried in the URL with it.

    ``resolution`` None means "follow the extent"; ``view`` None means "fit
    the selected places" (all of France by default); ``marked`` is the H3
    cell outlined on the map (the hotspot chosen to centre on).

    Examples
    --------
    >>> options = MapOptions(metric="relative_risk", condition="rain", view=(48.85, 2.35, 11.0))
    >>> MapOptions.read_params(options.to_params()) == (options, [])
    True
    """

    metric: str = "severe_per_year"
    condition: str | None = None
    resolution: int | None = None
    min_count: int = 20
    hide_masked: bool = False
    view: tuple[float, float, float] | None = None
    marked: str | None = None

    PARAMS = ("metric", "cond", "res", "min", "hide", "view", "mark")

    @property
    def condition_in_force(self) -> str | None:
        """The condition the map uses: the one chosen, or rain for a relative risk without one.

        Examples
        --------
        >>> MapOptions(metric="relative_risk").condition_in_force, MapOptions().condition_in_force
        ('rain', None)
        """
        return self.condition or ("rain" if self.metric == "relative_risk" else None)

    @property
    def metric_label(self) -> str:
        """The metric's name on the legend and tooltip, with the condition for a relative risk.

        Examples
        --------
        >>> MapOptions(metric="relative_risk", condition="night").metric_label
        'Risque relatif de la condition (nuit)'
        """
        label = METRICS[self.metric]
        if self.metric == "relative_risk":
            label += f" ({CONDITIONS[self.condition_in_force].label.lower()})"
        return label

    def centred_on(self, cell: str) -> MapOptions:
        """These options viewing ``cell`` (a hotspot) at its own resolution, the cell outlined.

        Examples
        --------
        >>> options = MapOptions().centred_on("871fb4662ffffff")
        >>> options.resolution, options.marked, options.view is not None
        (7, '871fb4662ffffff', True)
        """
        return replace(self, view=view_for_cell(cell), resolution=h3.get_resolution(cell), marked=cell)

    def counted(self) -> MapOptions:
        """The options that change the counts and scores: what the drawing hides or outlines set aside.

        The page caches the hexagons on these, so hiding the cells under the
        minimum or outlining a hotspot redraws the map without recounting it.

        Examples
        --------
        >>> MapOptions(min_count=5, hide_masked=True, marked="871fb4662ffffff").counted() == MapOptions(min_count=5)
        True
        """
        return replace(self, hide_masked=False, marked=None)

    def whole_selection(self) -> MapOptions:
        """These options back on the whole selection, at the automatic resolution, no hotspot outlined."""
        return replace(self, view=None, resolution=None, marked=None)

    def framing(self, deps: Sequence[str]) -> tuple[View, BBox | None, int]:
        """The map's view, the extent its cells must touch (None: the whole selection) and the resolution.

        Without a view of its own, the map fits the departments ``deps`` (all
        of France when none) and shows every cell; the automatic resolution
        follows what the view shows.

        Examples
        --------
        >>> view, extent, resolution = MapOptions().framing(["75"])
        >>> extent, resolution
        (None, 9)
        >>> MapOptions(view=(48.85, 2.35, 11.0), resolution=6).framing([])[1:][1]
        6
        """
        view = self.view or view_for_departments(deps)
        extent = bbox_for_view(view) if self.view else None
        return view, extent, self.resolution or resolution_for_extent(bbox_for_view(view))

    def to_params(self) -> dict[str, str]:
        """URL parameters of the options that differ from the defaults."""
        default = MapOptions()
        out: dict[str, str] = {}
        if self.metric != default.metric:
            out["metric"] = self.metric
        if self.condition:
            out["cond"] = self.condition
        if self.resolution is not None:
            out["res"] = str(self.resolution)
        if self.min_count != default.min_count:
            out["min"] = str(self.min_count)
        if self.hide_masked:
            out["hide"] = "1"
        if self.view is not None:
            out["view"] = ",".join(f"{v:.5g}" if i == 2 else f"{v:.5f}" for i, v in enumerate(self.view))
        if self.marked:
            out["mark"] = self.marked
        return out

    @classmethod
    def read_params(cls, params: Mapping[str, str]) -> tuple[MapOptions, list[str]]:
        """Options from URL parameters, and a French note for each value set aside or brought within bounds.

        A link never fails: unknown values fall back to the defaults, numbers
        outside their range are brought back within it. The notes quote the
        link's text as it came: show them escaped.

        Examples
        --------
        >>> options, notes = MapOptions.read_params({"min": "1001", "res": "42"})
        >>> options.min_count, options.resolution
        (1000, None)
        >>> notes[0]
        'Résolution H3 : « 42 » inconnue (5 à 9), résolution automatique.'
        """
        default, notes = cls(), []
        metric = params.get("metric", default.metric)
        if metric not in METRICS:
            notes.append(f"Indicateur : {format_quoted(metric)} inconnu, « {METRICS[default.metric]} » affiché.")
            metric = default.metric
        condition = params.get("cond") or None
        if condition is not None and condition not in CONDITIONS:
            notes.append(f"Conditions : {format_quoted(condition)} inconnues, toutes conditions.")
            condition = None
        resolution = _read_resolution(params.get("res"), notes)
        min_count = _read_min_count(params.get("min"), notes)
        hide = params.get("hide", "0")
        if hide not in ("0", "1"):
            notes.append(f"Masquer sous le minimum : {format_quoted(hide)} illisible (0 ou 1), non masqué.")
        view = _read_view(params.get("view"), notes)
        marked = params.get("mark") or None
        if marked is not None and not h3.is_valid_cell(marked):
            notes.append(f"Point chaud : {format_quoted(marked)} n'est pas un hexagone H3, ignoré.")
            marked = None
        return cls(metric=metric, condition=condition, resolution=resolution, min_count=min_count,
                   hide_masked=hide == "1", view=view, marked=marked), notes


def _read_resolution(text: str | None, notes: list[str]) -> int | None:
    if text is None:
        return None
    if text.strip().isdigit() and int(text) in H3_RESOLUTIONS:
        return int(text)
    notes.append(f"Résolution H3 : {format_quoted(text)} inconnue ({MIN_RESOLUTION} à {MAX_RESOLUTION}), "
                 "résolution automatique.")
    return None


def _read_min_count(text: str | None, notes: list[str]) -> int:
    default = MapOptions.min_count
    if text is None:
        return default
    low, high = MIN_COUNT_RANGE
    try:
        asked = int(text)
    except ValueError:
        notes.append(f"Minimum d'accidents : {format_quoted(text)} illisible, {default} retenu.")
        return default
    kept = min(max(asked, low), high)
    if kept != asked:
        notes.append(f"Minimum d'accidents : {format_quoted(text)} hors de {low}–{high}, ramené à {kept}.")
    return kept


def _read_view(text: str | None, notes: list[str]) -> tuple[float, float, float] | None:
    if not text:
        return None
    try:
        latitude, longitude, zoom = (float(v) for v in text.split(","))
    except ValueError:
        notes.append(f"Vue : {format_quoted(text)} illisible (latitude,longitude,zoom), vue d'ensemble.")
        return None
    low, high = ZOOM_RANGE
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180 and low <= zoom <= high):
        notes.append(f"Vue : {format_quoted(text)} hors limites (zoom de {low:g} à {high:g}), vue d'ensemble.")
        return None
    return latitude, longitude, zoom
