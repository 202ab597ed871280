"""What one planning report holds (:class:`ReportContent`), and the French lines it prints about it.

The page gathers the content from what it already shows (the scored
hexagons, the hotspot table, the profile), so the report cannot say anything
the screen does not; the lines about the options, the limits and the dates
are written here, testable without a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from core import codebook, store
from core.filter_text import filter_lines
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal, format_percent
from core.maps.options import MapOptions
from core.maps.views import View
from core.risk import texts
from core.risk.choices import CONDITIONS, resolution_label
from core.risk.profile import TimeProfile
from core.risk.result import HexRisk

SOURCE_LINE = ("Données : BAAC, ONISR (data.gouv.fr), Licence Ouverte / Etalab. "
               "Gravité n'est pas un service officiel.")


@dataclass(frozen=True, eq=False)
class ReportContent:
    """Everything one report prints, as the page shows it.

    ``hotspots`` is the page's hotspot table (:func:`core.risk.hotspots.hotspot_table`);
    ``profile`` the time profile shown under the map, titled ``profile_title``
    (None: no profile page); ``selected`` the accidents of the selection,
    located or not; ``located_years`` :func:`core.queries.located_by_year`;
    ``data_years`` the store's first and last year and ``data_date`` the day
    the store was built (None when unknown).
    """

    accident_filter: AccidentFilter
    options: MapOptions
    result: HexRisk
    view: View
    hotspots: pd.DataFrame
    profile: TimeProfile | None
    profile_title: str
    selected: int
    located_years: pd.DataFrame
    data_years: tuple[int, int]
    data_date: date | None
    generated: datetime


def store_date(path: Path | None = None) -> date | None:
    """The day the store (``gravite.duckdb``) was last written; None when it is not there."""
    path = path or store.database_path()
    return date.fromtimestamp(path.stat().st_mtime) if path.exists() else None


def french_date(day: date) -> str:
    """``date(2025, 3, 1)`` -> ``'01/03/2025'``.

    Examples
    --------
    >>> french_date(date(2025, 3, 1)), french_date(datetime(2025, 12, 31, 9, 5))
    ('01/03/2025', '31/12/2025')
    """
    return f"{day:%d/%m/%Y}"


def dates_line(content: ReportContent) -> str:
    """When the report was made, and what data it stands on."""
    first, last = content.data_years
    built = f", base construite le {french_date(content.data_date)}" if content.data_date else ""
    return (f"Rapport généré le {french_date(content.generated)} à {content.generated:%H:%M}. "
            f"Données BAAC {first}–{last}{built}.")


def selection_lines(content: ReportContent) -> list[str]:
    """The filter in words, as the form says it (:func:`core.filter_text.filter_lines`)."""
    return filter_lines(content.accident_filter, data_years=content.data_years, all_fields=False)


def options_lines(options: MapOptions, result: HexRisk) -> list[str]:
    """The map's options in words: indicator, condition, resolution, minimum, view, chosen hotspot.

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> from core.risk.hexes import hex_risk
    >>> result = hex_risk(facts, AccidentFilter(deps=("75",)), metric="severity_rate", resolution=9, min_count=5)
    >>> options_lines(MapOptions(metric="severity_rate", min_count=5), result)[:3]
    ['Indicateur : Taux de gravité (lissé)', 'Conditions : toutes', 'Résolution H3 : 9 (arête ~170\xa0m), automatique']
    """
    lines = [f"Indicateur : {options.metric_label}"]
    condition = options.condition_in_force
    if options.metric == "relative_risk":
        share = format_percent(result.national_share) if result.national_share is not None else "–"
        lines.append(f"Condition comparée : {CONDITIONS[condition].label} (part nationale : {share})")
    else:
        lines.append(f"Conditions : {CONDITIONS[condition].label if condition else 'toutes'}")
    automatic = ", automatique" if options.resolution is None else ""
    lines.append(f"Résolution H3 : {resolution_label(result.resolution)}{automatic}")  # as the page's list says it
    if warning := texts.coarsened_warning(result):
        lines.append(warning)
    hidden = ", hexagones en dessous masqués" if options.hide_masked else ""
    lines.append(f"Minimum d'accidents : {format_count(options.min_count)}{hidden}")
    if options.view:
        latitude, longitude, zoom = options.view
        lines.append(f"Vue : centrée sur {format_decimal(latitude, 4)} N, {format_decimal(longitude, 4)} E "
                     f"(zoom {format_decimal(zoom, 1)})")
    else:
        lines.append("Vue : toute la sélection")
    if options.marked:
        lines.append(f"Point chaud choisi (entouré en magenta) : {options.marked}")
    return lines


def limits_lines(content: ReportContent) -> list[str]:
    """What the figures stand on and where they stop: located share, years counted, the 2018 change, the source."""
    lines = [texts.located_caption(content.result, content.selected),
             "Seuls les accidents géolocalisés sont sur la carte et dans les profils."]
    first_year = (content.accident_filter.years or content.data_years)[0]
    if note := texts.early_years_note(content.options.metric, first_year, content.located_years):
        lines.append(note)
    lines += [texts.metric_help(content.located_years), codebook.HOSPITALISED_NOT_COMPARABLE, SOURCE_LINE]
    return lines
