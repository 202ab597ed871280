"""The dispatch desk: from what a caller says to an estimate an operator reads in two seconds. No Streamlit.

Why this module exists
----------------------
:mod:`core.model` answers with numbers (probabilities, signed contributions, a
support count). An operator on a call needs those numbers turned into a few
words and one decision: a band (low / medium / high) whose thresholds come from
the model card, "of 100 past accidents like this one, N had a killed or
hospitalised victim", a warning when the comparison rests on little, and the
most similar past accidents near the place. This module does that translation,
builds the incident JSON from the form's values, keeps the session's estimates
as rows for a CSV export, and lays out the model card for the reliability page.

Similar accidents in memory
---------------------------
The store query of :func:`core.model.similar_accidents` aggregates the vehicles
of a million accidents and counts the matches on every call: about one second,
ten times the page's budget. :class:`PastAccidents` keeps the key facts and the
position of every accident of the history years in arrays (about 25 MB, loaded
once per server), so matching and ranking by distance take a few milliseconds;
only the details of the 5-10 accidents shown are then read from DuckDB.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from h3.api import basic_str as h3

from core import codebook, places
from core import features as F
from core import model as M
from core.maps import DeckJson, outline_layer, view_for_bbox

if TYPE_CHECKING:
    import duckdb
    import plotly.graph_objects as go

# --------------------------------------------------------------------------- #
# The form: choices offered, and the incident it describes
# --------------------------------------------------------------------------- #

#: Vehicle categories shown first (the twelve most frequent in 2019-2020, 95 % of vehicles).
MAIN_VEHICLES: Final = (7, 10, 15, 17, 33, 34, 31, 32, 2, 30, 1, 50)
#: The other current categories (codes retired in 2006 are not offered), in a folded list.
OTHER_VEHICLES: Final = (14, 13, 16, 37, 38, 40, 39, 3, 35, 36, 41, 42, 43, 80, 60, 20, 21, 99, 0)
#: Speed limits offered (km/h), the usual French values.
SPEED_LIMITS: Final = (130, 110, 90, 80, 70, 50, 30, 20)

MOMENT_NOW: Final = "now"
MOMENT_OTHER: Final = "other"
MOMENT_UNKNOWN: Final = "unknown"
MOMENTS: Final[dict[str, str]] = {
    MOMENT_NOW: "Maintenant",
    MOMENT_OTHER: "Autre date et heure",
    MOMENT_UNKNOWN: "Inconnu",
}
UNKNOWN_LABEL: Final = "Inconnu"

#: Local time of the overseas departments and collectivities (the rest of France: Europe/Paris).
TIME_ZONES: Final[dict[str, str]] = {
    "971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
    "974": "Indian/Reunion", "975": "America/Miquelon", "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy", "978": "America/Marigot", "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti", "988": "Pacific/Noumea",
}
METROPOLITAN_TIME_ZONE: Final = "Europe/Paris"


def vehicle_label(code: int) -> str:
    """The official label of a ``catv`` code without its "(anciennement ...)" note.

    Examples
    --------
    >>> vehicle_label(10)
    'VU seul 1,5T <= PTAC <= 3,5T avec ou sans remorque'
    >>> vehicle_label(0)
    'Indéterminable'
    """
    return codebook.label("catv", code).split(" (anciennement")[0]


def local_now(dep: str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """The local wall-clock time of a department (metropolitan time when unknown), to the minute.

    Examples
    --------
    >>> moment = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
    >>> local_now("75", now=moment).isoformat(), local_now("974", now=moment).isoformat()
    ('2024-07-01T14:00:00', '2024-07-01T16:00:00')
    """
    zone = ZoneInfo(TIME_ZONES.get(dep or "", METROPOLITAN_TIME_ZONE))
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    return moment.replace(second=0, microsecond=0, tzinfo=None)


def parse_coordinates(text: str | None) -> tuple[float, float] | None:
    """Latitude and longitude from what an operator pastes: ``"48.8566, 2.3522"``, ``"48,8566 2,3522"``.

    Returns None for an empty text.

    Raises
    ------
    core.features.IncidentError
        Naming ``lat`` or ``lon`` when the text is not two numbers in range.

    Examples
    --------
    >>> parse_coordinates("48.8566, 2.3522"), parse_coordinates("43,2957 ; 5,3810")
    ((48.8566, 2.3522), (43.2957, 5.381))
    >>> parse_coordinates("  ") is None
    True
    """
    if text is None or not text.strip():
        return None
    cleaned = text.strip().replace(";", " ")
    if cleaned.count(",") == 1 and "." in cleaned:  # "48.85, 2.35": the comma separates
        cleaned = cleaned.replace(",", " ")
    elif cleaned.count(",") == 3:  # "48,85, 2,35"
        cleaned = cleaned.replace(", ", " ")
    parts = [p.replace(",", ".") for p in cleaned.split()]
    if len(parts) != 2:
        raise F.IncidentError("lat", f"expected 'latitude, longitude' in decimal degrees, got {text!r}")
    values = []
    for name, part, bound in (("lat", parts[0], 90.0), ("lon", parts[1], 180.0)):
        try:
            value = float(part)
        except ValueError:
            raise F.IncidentError(name, f"not a number of degrees: {part!r}") from None
        if not -bound <= value <= bound or math.isnan(value):
            raise F.IncidentError(name, f"{value} is outside -{bound:g}..{bound:g} degrees")
        values.append(value)
    return values[0], values[1]


def format_coordinates(lat: float, lon: float) -> str:
    """The text form read back by :func:`parse_coordinates`.

    Examples
    --------
    >>> format_coordinates(48.856614, 2.3522219)
    '48.85661, 2.35222'
    """
    return f"{lat:.5f}, {lon:.5f}"


@dataclass(frozen=True)
class CallForm:
    """What the operator entered; None (or 0 vehicles of every kind) means unknown.

    ``moment`` is one of :data:`MOMENTS`; ``when`` is used only for
    :data:`MOMENT_OTHER`, the time of submission for :data:`MOMENT_NOW`.
    """

    dep: str | None = None
    com: str | None = None
    coordinates: str | None = None
    moment: str = MOMENT_UNKNOWN
    when: dt.datetime | None = None
    vehicles: Mapping[int, int] = field(default_factory=dict)
    n_pedestrians: int | None = None
    n_people: int | None = None
    obs: int | None = None
    col: int | None = None
    atm: int | None = None
    lum: int | None = None
    surf: int | None = None
    catr: int | None = None
    vma: int | None = None
    agg: int | None = None
    intersection: int | None = None


def incident_from_form(form: CallForm, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The incident JSON of :func:`core.features.parse_incident` for a filled form (unknown fields left out).

    Parameters
    ----------
    form : CallForm
        The operator's answers.
    now : datetime, optional
        Aware time of submission (default: the clock), for :data:`MOMENT_NOW`.

    Returns
    -------
    dict
        Validated: it parses without error.

    Raises
    ------
    core.features.IncidentError
        Naming the field that cannot be used.

    Examples
    --------
    >>> incident_from_form(CallForm(dep="13", vehicles={7: 2, 1: 1}, atm=2, n_pedestrians=0))
    {'dep': '13', 'atm': 2, 'vehicles': [7, 7, 1], 'n_pedestrians': 0}
    """
    incident: dict[str, Any] = {}
    if form.dep:
        incident["dep"] = form.dep
    if form.com:
        incident["com"] = form.com
    point = parse_coordinates(form.coordinates)
    if point is not None:
        incident["lat"], incident["lon"] = point
    if form.moment == MOMENT_NOW:
        incident["datetime"] = local_now(form.dep, now=now).isoformat(timespec="minutes")
    elif form.moment == MOMENT_OTHER and form.when is not None:
        incident["datetime"] = form.when.replace(tzinfo=None).isoformat(timespec="minutes")
    elif form.moment not in MOMENTS:
        raise F.IncidentError("datetime", f"unknown moment {form.moment!r}; expected one of {', '.join(MOMENTS)}")
    coded = {"obs": form.obs, "col": form.col, "atm": form.atm, "lum": form.lum, "surf": form.surf,
             "catr": form.catr, "agg": form.agg, "int": form.intersection}
    incident.update({name: int(code) for name, code in coded.items() if code is not None})
    if form.vma is not None:
        incident["vma"] = int(form.vma)
    vehicles = [int(code) for code, count in form.vehicles.items() for _ in range(int(count or 0))]
    if vehicles:
        incident["vehicles"] = vehicles
    if form.n_pedestrians is not None:
        incident["n_pedestrians"] = int(form.n_pedestrians)
    if form.n_people is not None:
        incident["n_people"] = int(form.n_people)
    F.parse_incident(incident)
    return incident


def field_label(field_name: str) -> str:
    """French name of an incident field (for errors), e.g. ``vehicles[1]`` -> ``Véhicules``.

    Examples
    --------
    >>> field_label("atm"), field_label("vehicles[2]"), field_label("lat")
    ('Conditions atmosphériques', 'Véhicules', 'Coordonnées')
    """
    base = field_name.split("[")[0]
    if base in ("lat", "lon"):
        return "Coordonnées"
    return M.FIELD_LABELS.get(base, base)


def describe_incident(incident: Mapping[str, Any]) -> str:
    """The known fields of an incident in French words, for the session list.

    Examples
    --------
    >>> describe_incident({"agg": 2, "vehicles": [7, 1], "n_pedestrians": 0})
    'En agglomération · 1 × VL seul, 1 × Bicyclette · aucun piéton'
    >>> describe_incident({})
    'Aucune information'
    """
    columns = F.columns_from_incidents([F.parse_incident(incident)])
    order = ("com", "dep", "place", "datetime", "agg", "catr", "vehicles", "n_pedestrians", "n_people", "obs",
             "col", "int", "atm", "lum", "surf", "vma")
    present = {"place": "lat" in incident}
    labelled = {*F.CODED_FIELDS, "vma"} - {"agg"}
    parts = [(f"{M.FIELD_LABELS[source]} : " if source in labelled else "") + M.describe_field(source, columns, 0)
             for source in order if present.get(source, source in incident)]
    return " · ".join(parts) if parts else "Aucune information"


# --------------------------------------------------------------------------- #
# The result in words
# --------------------------------------------------------------------------- #

#: Below this many comparable past accidents, "N out of 100" is extrapolated: warn.
MIN_SUPPORT: Final = 100


@dataclass(frozen=True)
class Band:
    """A risk band: ``key`` (low, medium, high), French label and colour."""

    key: str
    label: str
    colour: str


BANDS: Final[dict[str, Band]] = {
    "low": Band("low", "Faible", "#1a7f37"),
    "medium": Band("medium", "Moyen", "#b35900"),
    "high": Band("high", "Élevé", "#c62828"),
}


@dataclass(frozen=True)
class BandThresholds:
    """The two cut-offs of the bands, chosen on the validation year (see the model card).

    ``medium_from``: the highest probability that still flags 80 % of the
    validation year's severe accidents (recall 80 %); ``high_from``: the one
    with the best F1 (balance of precision and recall).
    """

    medium_from: float
    high_from: float
    validation_year: int
    medium_rule: Mapping[str, float]
    high_rule: Mapping[str, float]


def band_thresholds(card: Mapping[str, Any]) -> BandThresholds:
    """Read the band cut-offs from the model card (``thresholds.severe``).

    Examples
    --------
    >>> card = {"years": {"validation": 2019}, "thresholds": {"severe": {
    ...     "recall_80": {"threshold": 0.21, "recall": 0.8}, "best_f1": {"threshold": 0.4, "recall": 0.6}}}}
    >>> t = band_thresholds(card); (t.medium_from, t.high_from)
    (0.21, 0.4)
    """
    chosen = card["thresholds"]["severe"]
    rules = sorted((chosen["recall_80"], chosen["best_f1"]), key=lambda rule: rule["threshold"])
    return BandThresholds(float(rules[0]["threshold"]), float(rules[1]["threshold"]),
                          int(card["years"]["validation"]), rules[0], rules[1])


def severity_band(p_severe: float, thresholds: BandThresholds) -> Band:
    """The band of a probability.

    Examples
    --------
    >>> t = BandThresholds(0.2, 0.4, 2019, {}, {})
    >>> [severity_band(p, t).label for p in (0.1, 0.2, 0.39, 0.4)]
    ['Faible', 'Moyen', 'Moyen', 'Élevé']
    """
    if p_severe >= thresholds.high_from:
        return BANDS["high"]
    if p_severe >= thresholds.medium_from:
        return BANDS["medium"]
    return BANDS["low"]


def out_of_100(result: Mapping[str, Any]) -> int | None:
    """Of 100 comparable past accidents, how many had a killed or hospitalised victim (None without any).

    Examples
    --------
    >>> out_of_100({"support": 812, "support_severe_share": 0.3166}), out_of_100({"support": 0})
    (32, None)
    """
    share = result.get("support_severe_share")
    if not result.get("support") or share is None:
        return None
    return int(round(100 * share))


def known_key_facts(incident: Mapping[str, Any]) -> dict[str, int]:
    """The key facts (:data:`core.features.KEY_FACTS`) the incident tells, as 0/1 or codes.

    Examples
    --------
    >>> known_key_facts({"agg": 2, "lum": 3, "vehicles": [7]})
    {'agg': 2, 'daylight': 0, 'bicycle': 0, 'two_wheeler': 0, 'heavy_goods': 0}
    """
    facts = F.key_facts(F.columns_from_incidents([F.parse_incident(incident)]))[0]
    return {name: int(value) for name, value in zip(F.KEY_FACTS, facts, strict=True) if not np.isnan(value)}


_FACT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "daylight": ("de nuit", "de jour (plein jour, crépuscule ou aube)"),
    "pedestrian": ("sans piéton", "piéton impliqué"),
    "bicycle": ("sans vélo", "vélo impliqué"),
    "two_wheeler": ("sans deux-roues motorisé", "deux-roues motorisé impliqué"),
    "heavy_goods": ("sans poids lourd", "poids lourd impliqué"),
    "obstacle": ("sans obstacle fixe heurté", "obstacle fixe heurté"),
}


def describe_key_facts(facts: Mapping[str, int]) -> str:
    """Known key facts in words, as the comparison uses them.

    Examples
    --------
    >>> describe_key_facts({"agg": 1, "catr": 3, "daylight": 0, "pedestrian": 1})
    'Hors agglomération, Route Départementale, de nuit, piéton impliqué'
    >>> describe_key_facts({})
    'aucun fait clé connu'
    """
    words = []
    for name, value in facts.items():
        if name in ("agg", "catr"):
            words.append(codebook.label(name, value))
        else:
            words.append(_FACT_WORDS[name][int(bool(value))])
    return ", ".join(words) if words else "aucun fait clé connu"


def support_warning(result: Mapping[str, Any], facts: Mapping[str, int], *, years: Sequence[int]) -> str | None:
    """The warning to show when the estimate rests on few comparable past accidents, else None.

    Two cases: no key fact is known (every past accident "shares" the facts, so
    the comparison says nothing about this one: the estimate is close to the
    national average), or fewer than :data:`MIN_SUPPORT` past accidents share them.

    Examples
    --------
    >>> support_warning({"support": 40}, {"agg": 2}, years=(2005, 2019))[:60]
    'Peu d’accidents comparables : seulement 40 accidents de 2005'
    >>> support_warning({"support": 900}, {"agg": 2}, years=(2005, 2019)) is None
    True
    """
    first, last = years
    if not facts:
        return ("Peu d’accidents comparables : aucun fait clé n’est connu (agglomération, catégorie de route, "
                "jour ou nuit, piéton, vélo, deux-roues motorisé, poids lourd, obstacle fixe). L’estimation est "
                "proche de la moyenne de tous les accidents : demandez au moins le lieu et les usagers impliqués.")
    support = int(result.get("support") or 0)
    if support < MIN_SUPPORT:
        return (f"Peu d’accidents comparables : seulement {support} accidents de {first}–{last} partagent les "
                f"faits clés connus (moins de {MIN_SUPPORT}). Estimation peu étayée, à prendre avec prudence.")
    return None


def factors_by_direction(result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The main factors pushing the estimate up and down, as short French phrases.

    Examples
    --------
    >>> factors_by_direction({"top_factors": [
    ...     {"label": "Véhicules", "value": "1 × Bicyclette", "effect": 0.4},
    ...     {"label": "Agglomération", "value": "En agglomération", "effect": -0.3}]})
    (['Véhicules : 1 × Bicyclette'], ['Agglomération : En agglomération'])
    """
    up, down = [], []
    for factor in result.get("top_factors", []):
        text = f"{factor['label']} : {factor['value']}"
        (up if factor["effect"] > 0 else down).append(text)
    return up, down


def worst_injury_shares(result: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The worst-injury distribution with the official ``grav`` labels, most severe first.

    Examples
    --------
    >>> worst_injury_shares({"worst_injury": {"unharmed": 0.0, "light": 0.6, "hospitalised": 0.35,
    ...                                       "killed": 0.05}})
    [('Tué', 0.05), ('Blessé hospitalisé', 0.35), ('Blessé léger', 0.6), ('Indemne', 0.0)]
    """
    worst = result["worst_injury"]
    return [
        (codebook.label("grav", codebook.GRAV_KILLED), float(worst["killed"])),
        (codebook.label("grav", codebook.GRAV_HOSPITALISED), float(worst["hospitalised"])),
        (codebook.label("grav", codebook.GRAV_LIGHT), float(worst["light"])),
        (codebook.label("grav", codebook.GRAV_UNHARMED), float(worst["unharmed"])),
    ]


# --------------------------------------------------------------------------- #
# Similar past accidents near the place
# --------------------------------------------------------------------------- #

#: Ranking distance given to a past accident without coordinates (or to any, when the
#: incident has none): same commune, same department, elsewhere.
SAME_COMMUNE_KM: Final = 5.0
SAME_DEPARTMENT_KM: Final = 50.0
_KM_PER_DEGREE: Final = 111.195

_PAST_SQL: Final = """
    SELECT a.acc_id, CAST(a.lat AS FLOAT) AS lat, CAST(a.lon AS FLOAT) AS lon, a.dep, a.com,
           CAST(coalesce(a.agg, -1) AS TINYINT) AS agg, CAST(coalesce(a.catr, -1) AS TINYINT) AS catr,
           CAST(CASE WHEN a.lum IS NULL THEN -1 WHEN a.lum <= 2 THEN 1 ELSE 0 END AS TINYINT) AS daylight,
           CAST(a.has_pedestrian AS TINYINT) AS pedestrian, CAST(a.has_bicycle AS TINYINT) AS bicycle,
           CAST(a.has_two_wheeler AS TINYINT) AS two_wheeler, CAST(a.has_hgv AS TINYINT) AS heavy_goods,
           CAST(coalesce(CAST(v.obstacle AS TINYINT), -1) AS TINYINT) AS obstacle,
           a.year, CAST(coalesce(a.month, 0) AS TINYINT) AS month, CAST(coalesce(a.day, 0) AS TINYINT) AS day,
           CAST(coalesce(a.hour, -1) AS TINYINT) AS hour, CAST(coalesce(a.minute, 0) AS TINYINT) AS minute,
           coalesce(a.n_killed, 0) AS n_killed, coalesce(a.n_hospitalised, 0) AS n_hospitalised,
           coalesce(a.n_light, 0) AS n_light
    FROM accidents a
    LEFT JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v USING (acc_id)
    WHERE a.year BETWEEN ? AND ?
    ORDER BY a.acc_id
"""
_PAST_VEHICLES_SQL: Final = """
    SELECT acc_id, CAST(coalesce(catv, 0) AS TINYINT) AS catv FROM vehicles
    WHERE acc_id IN (SELECT acc_id FROM accidents WHERE year BETWEEN ? AND ?)
    ORDER BY acc_id, veh
"""
_DETAIL_COLUMNS: Final = ("year", "month", "day", "hour", "minute", "n_killed", "n_hospitalised", "n_light")


@dataclass(frozen=True)
class PastAccidents:
    """Every accident of some years, in arrays: key facts, place, date, outcome and vehicles.

    Attributes
    ----------
    first_year, last_year : int
        Years held.
    acc_id : numpy.ndarray
        Sorted ascending, so later rows are more recent.
    facts : dict[str, numpy.ndarray]
        Per key fact (:data:`core.features.KEY_FACTS`), int8 codes, -1 when the store does not know.
    lat, lon : numpy.ndarray
        float32, NaN without coordinates.
    dep, com : numpy.ndarray
        int32 positions in ``dep_values`` / ``com_values`` (-1 unknown).
    details : dict[str, numpy.ndarray]
        year, month, day, hour (-1 unknown), minute, n_killed, n_hospitalised, n_light.
    vehicle_start, vehicle_end : numpy.ndarray
        Each accident's slice of ``vehicle_catv`` (``catv`` codes, 0 when unknown).
    located : numpy.ndarray
        True where the accident has coordinates.
    located_rows, located_lat, located_lon : numpy.ndarray
        The located accidents sorted by latitude (row positions and coordinates), for band searches.
    """

    first_year: int
    last_year: int
    acc_id: np.ndarray
    facts: dict[str, np.ndarray]
    lat: np.ndarray
    lon: np.ndarray
    dep: np.ndarray
    com: np.ndarray
    dep_values: np.ndarray
    com_values: np.ndarray
    details: dict[str, np.ndarray]
    vehicle_start: np.ndarray
    vehicle_end: np.ndarray
    vehicle_catv: np.ndarray
    located: np.ndarray
    located_rows: np.ndarray
    located_lat: np.ndarray
    located_lon: np.ndarray

    def __len__(self) -> int:
        return len(self.acc_id)

    def code_of(self, level: str, value: str | None) -> int:
        """Position of a department or commune code in ``dep_values`` / ``com_values`` (-2 when absent)."""
        positions = self._positions[level]
        return positions.get(value, -2) if value else -2

    @property
    def _positions(self) -> dict[str, dict[str, int]]:
        cached = self.__dict__.get("_position_cache")
        if cached is None:
            cached = {level: {code: i for i, code in enumerate(values.tolist())}
                      for level, values in (("dep", self.dep_values), ("com", self.com_values))}
            object.__setattr__(self, "_position_cache", cached)
        return cached


def load_past_accidents(con: duckdb.DuckDBPyConnection, *, first_year: int, last_year: int) -> PastAccidents:
    """Read the accidents of ``first_year..last_year`` from the store into :class:`PastAccidents`.

    A few seconds and about 50 MB for 2005-2019 (a million accidents); keep one per server.
    """
    cursor = con.cursor()
    try:
        raw = cursor.execute(_PAST_SQL, [first_year, last_year]).fetchnumpy()
        vehicles = cursor.execute(_PAST_VEHICLES_SQL, [first_year, last_year]).fetchnumpy()
    finally:
        cursor.close()
    acc_id = np.asarray(raw["acc_id"], dtype=np.int64)
    vehicle_acc = np.asarray(vehicles["acc_id"], dtype=np.int64)
    dep_index, dep_values = pd.factorize(pd.Series(raw["dep"], dtype=object))
    com_index, com_values = pd.factorize(pd.Series(raw["com"], dtype=object))
    lat = np.asarray(raw["lat"], dtype=np.float32)
    lon = np.asarray(raw["lon"], dtype=np.float32)
    located = ~(np.isnan(lat) | np.isnan(lon))
    by_latitude = np.flatnonzero(located)[np.argsort(lat[located], kind="stable")].astype(np.int32)
    return PastAccidents(
        first_year, last_year, acc_id,
        {name: np.ascontiguousarray(raw[name], dtype=np.int8) for name in F.KEY_FACTS},
        lat, lon, dep_index.astype(np.int32), com_index.astype(np.int32),
        np.asarray(dep_values, dtype=object), np.asarray(com_values, dtype=object),
        {name: np.asarray(raw[name]) for name in _DETAIL_COLUMNS},
        np.searchsorted(vehicle_acc, acc_id, side="left").astype(np.int32),
        np.searchsorted(vehicle_acc, acc_id, side="right").astype(np.int32),
        np.asarray(vehicles["catv"], dtype=np.int8),
        located, by_latitude, lat[by_latitude], lon[by_latitude],
    )


def _last_true(mask: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the last ``limit`` True values, last first (the most recent accidents)."""
    found = np.zeros(0, dtype=np.int64)
    stop = len(mask)
    chunk = 4096
    while stop > 0 and len(found) < limit:
        start = max(0, stop - chunk)
        found = np.concatenate([found, start + np.flatnonzero(mask[start:stop])[::-1]])
        stop, chunk = start, chunk * 8
    return found[:limit]


def _nearest_located(past: PastAccidents, match: np.ndarray, lat0: float, lon0: float, limit: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` nearest located accidents among ``match``, searched in widening latitude bands.

    A point within ``r`` km lies within ``r / 111`` degrees of latitude, so the
    nearest points inside a band are exact once ``limit`` of them are within ``r``.
    """
    cos_lat = math.cos(math.radians(lat0))
    radius_km = 5.0
    while True:
        half = radius_km / _KM_PER_DEGREE
        bounds = np.array([lat0 - half, lat0 + half], dtype=past.located_lat.dtype)  # no float64 copy
        low, high = np.searchsorted(past.located_lat, bounds)
        band = np.arange(low, high)
        band = band[np.abs(past.located_lon[band] - np.float32(lon0)) <= half / max(cos_lat, 0.01)]
        band = band[match[past.located_rows[band]]]
        dy = past.located_lat[band].astype(np.float64) - lat0
        dx = (past.located_lon[band].astype(np.float64) - lon0) * cos_lat
        km = _KM_PER_DEGREE * np.sqrt(dx * dx + dy * dy)
        everything = low == 0 and high == len(past.located_lat)
        inside = np.flatnonzero(km <= radius_km) if not everything else np.arange(len(km))
        if len(inside) >= limit or everything:
            rows = past.located_rows[band[inside]].astype(np.int64)
            order = np.lexsort((-rows, km[inside]))[:limit]
            return rows[order], km[inside][order]
        radius_km *= 4


def nearest_similar(past: PastAccidents, incident: Mapping[str, Any], *, limit: int = 8
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of the past accidents sharing the incident's known key facts, nearest first.

    Distance is measured between coordinates when both are known; a past
    accident that cannot be measured counts as :data:`SAME_COMMUNE_KM` away in
    the incident's commune, :data:`SAME_DEPARTMENT_KM` in its department, and
    comes last elsewhere. Ties go to the most recent.

    Returns
    -------
    rows, distance_km, matching
        Row positions (at most ``limit``), their measured distance (NaN when not
        measured), and how many past accidents share the facts.
    """
    parsed = F.parse_incident(incident)
    match = np.ones(len(past), dtype=bool)
    for name, value in known_key_facts(incident).items():
        match &= past.facts[name] == value
    matching = int(match.sum())
    candidates = []
    remaining = match
    if parsed["lat"] is not None:
        candidates.append(_nearest_located(past, match, parsed["lat"], parsed["lon"], limit))
        remaining = match & ~past.located  # the others compete by commune and department
    for level, value, km in (("com", parsed["com"], SAME_COMMUNE_KM), ("dep", parsed["dep"], SAME_DEPARTMENT_KM)):
        code = past.code_of(level, value)
        if code < 0:
            continue
        same = remaining & ((past.com if level == "com" else past.dep) == code)
        rows = _last_true(same, limit)
        candidates.append((rows, np.full(len(rows), km)))
        remaining = remaining & ~same
    rows = _last_true(remaining, limit)
    candidates.append((rows, np.full(len(rows), np.inf)))
    all_rows = np.concatenate([c[0] for c in candidates]).astype(np.int64)
    ranks = np.concatenate([c[1] for c in candidates])
    order = np.lexsort((-all_rows, ranks))[:limit]  # by rank, then most recent
    n_measured = len(candidates[0][0]) if parsed["lat"] is not None else 0
    distance = np.where(order < n_measured, ranks[order], np.nan)
    return all_rows[order], distance, matching


def similar_nearby(past: PastAccidents, incident: Mapping[str, Any], *, limit: int = 8) -> pd.DataFrame:
    """The ``limit`` most similar past accidents near the place, with what happened.

    Parameters
    ----------
    past : PastAccidents
        From :func:`load_past_accidents`.
    incident : Mapping
        Raw incident JSON.
    limit : int
        At most this many rows.

    Returns
    -------
    pandas.DataFrame
        acc_id, dep, com, lat, lon, year, month, day, hour (NaN unknown), minute,
        n_killed, n_hospitalised, n_light, vehicles (catv list), distance_km (NaN
        when not measured), nearest first; ``attrs["matching"]`` holds how many
        past accidents share the key facts.
    """
    rows, distance, matching = nearest_similar(past, incident, limit=limit)
    frame = pd.DataFrame({
        "acc_id": past.acc_id[rows],
        "dep": [None if c < 0 else past.dep_values[c] for c in past.dep[rows]],
        "com": [None if c < 0 else past.com_values[c] for c in past.com[rows]],
        "lat": past.lat[rows].astype(np.float64), "lon": past.lon[rows].astype(np.float64),
        **{name: past.details[name][rows].astype(np.int64) for name in _DETAIL_COLUMNS},
        "vehicles": [past.vehicle_catv[past.vehicle_start[r]:past.vehicle_end[r]].astype(int).tolist()
                     for r in rows],
        "distance_km": distance,
    })
    frame["hour"] = frame["hour"].where(frame["hour"] >= 0).astype("Float64")
    frame.attrs["matching"] = matching
    return frame


def _plural(words: str, count: int) -> str:
    return words if count <= 1 else " ".join(f"{w}s" for w in words.split())


def describe_outcome(n_killed: int, n_hospitalised: int, n_light: int) -> str:
    """What a past accident caused, in words, worst first.

    Examples
    --------
    >>> describe_outcome(1, 2, 0), describe_outcome(0, 0, 3)
    ('1 tué, 2 blessés hospitalisés', '3 blessés légers')
    """
    parts = []
    for count, grav in ((n_killed, codebook.GRAV_KILLED), (n_hospitalised, codebook.GRAV_HOSPITALISED),
                        (n_light, codebook.GRAV_LIGHT)):
        count = int(count or 0)
        if count:
            parts.append(f"{count} {_plural(codebook.label('grav', grav).lower(), count)}")
    return ", ".join(parts) if parts else "aucun blessé enregistré"


def describe_vehicles(codes: Sequence[int] | None) -> str:
    """Vehicles counted by category, e.g. ``2 × VL seul, 1 × Bicyclette``.

    Examples
    --------
    >>> describe_vehicles([7, 1, 7]), describe_vehicles(None)
    ('2 × VL seul, 1 × Bicyclette', '–')
    """
    if codes is None or len(codes) == 0:
        return "–"
    counted: dict[int, int] = {}
    for code in codes:
        counted[int(code)] = counted.get(int(code), 0) + 1
    return ", ".join(f"{n} × {vehicle_label(code)}" for code, n in counted.items())


def _when_text(year: int, month: int, day: int, hour: float, minute: int) -> str:
    text = f"{int(day):02d}/{int(month):02d}/{int(year)}"
    return text if pd.isna(hour) else f"{text} {int(hour):02d}:{int(minute):02d}"


def _distance_text(km: float) -> str:
    if np.isnan(km):
        return "–"
    return f"{km * 1000:.0f} m" if km < 1 else f"{km:.1f} km".replace(".", ",")


def similar_table(similar: pd.DataFrame) -> pd.DataFrame:
    """The similar accidents as text columns for ``st.table`` (which leaves numeric cells blank).

    Examples
    --------
    >>> frame = pd.DataFrame({"year": [2019], "month": [11], "day": [28], "hour": [13], "minute": [45],
    ...     "dep": ["13"], "com": ["13206"], "distance_km": [0.35], "vehicles": [[7]], "n_killed": [0],
    ...     "n_hospitalised": [1], "n_light": [0]})
    >>> similar_table(frame).iloc[0].tolist()
    ['28/11/2019 13:45', 'Marseille 6e Arrondissement', '350 m', '1 × VL seul', '1 blessé hospitalisé']
    """
    places_text = [
        (places.commune_name(com) if com else None) or (places.department_name(dep) if dep else "–")
        for com, dep in zip(similar["com"], similar["dep"], strict=True)
    ]
    return pd.DataFrame({
        "Date": [_when_text(*values) for values in zip(similar["year"], similar["month"], similar["day"],
                                                          similar["hour"], similar["minute"], strict=True)],
        "Lieu": places_text,
        "Distance": [_distance_text(v) for v in similar["distance_km"]],
        "Véhicules": [describe_vehicles(v) for v in similar["vehicles"]],
        "Bilan": [describe_outcome(k, h, li) for k, h, li in
                  zip(similar["n_killed"], similar["n_hospitalised"], similar["n_light"], strict=True)],
    }, index=range(1, len(similar) + 1))


# --------------------------------------------------------------------------- #
# The session's estimates
# --------------------------------------------------------------------------- #

ESTIMATE_COLUMNS: Final = (
    "numero", "heure_estimation", "p_grave", "bande", "p_tue", "sur_100_comparables", "accidents_comparables",
    "resume", "incident_json", "version_modele",
)


def estimate_row(number: int, incident: Mapping[str, Any], result: Mapping[str, Any], band: Band,
                 *, made_at: dt.datetime) -> dict[str, Any]:
    """One line of the session's list (and of its CSV export).

    Examples
    --------
    >>> row = estimate_row(1, {"agg": 2}, {"p_severe": 0.31234, "p_fatal": 0.0123, "support": 500,
    ...     "support_severe_share": 0.3, "model_version": "1.0.0"}, BANDS["medium"],
    ...     made_at=dt.datetime(2024, 5, 1, 14, 3, 12))
    >>> row["p_grave"], row["bande"], row["sur_100_comparables"], row["incident_json"]
    (0.3123, 'Moyen', 30, '{"agg": 2}')
    """
    return {
        "numero": number,
        "heure_estimation": made_at.isoformat(timespec="seconds"),
        "p_grave": round(float(result["p_severe"]), 4),
        "bande": band.label,
        "p_tue": round(float(result["p_fatal"]), 4),
        "sur_100_comparables": out_of_100(result),
        "accidents_comparables": int(result.get("support") or 0),
        "resume": describe_incident(incident),
        "incident_json": json.dumps(dict(incident), ensure_ascii=False),
        "version_modele": result.get("model_version"),
    }


def estimates_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The session's estimates as CSV (comma-separated, dot decimals, as the app's other exports).

    Examples
    --------
    >>> estimates_csv([]).strip() == ",".join(ESTIMATE_COLUMNS)
    True
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ESTIMATE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: "" if row.get(name) is None else row[name] for name in ESTIMATE_COLUMNS})
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# The place picker map
# --------------------------------------------------------------------------- #

DEPARTMENT_LAYER: Final = "severity_departements"
CELL_LAYER: Final = "severity_cells"
POINT_LAYER: Final = "severity_point"
MAX_PICK_CELLS: Final = 3000
_PICK_RESOLUTIONS: Final = (8, 7, 6)
_POINT_ZOOM: Final = 10.5
METROPOLITAN_VIEW: Final = (46.5, 2.5, 4.25)


_COMMUNES_SQL: Final = "SELECT DISTINCT com FROM accidents WHERE dep = ? AND com IS NOT NULL ORDER BY com"


def communes_of(con: duckdb.DuckDBPyConnection, dep: str) -> list[tuple[str, str]]:
    """(INSEE code, name) of the communes of a department that have had an accident in the store, by name.

    These are the communes whose history the model knows. A code without a
    name in the 2023 commune list (merged since) shows as its code.
    """
    cursor = con.cursor()
    try:
        codes = [row[0] for row in cursor.execute(_COMMUNES_SQL, [dep]).fetchall()]
    finally:
        cursor.close()
    named = [(code, places.commune_name(code) or f"Commune {code}") for code in codes]
    return sorted(named, key=lambda item: (item[1].casefold(), item[0]))


def department_cells(outlines: Mapping[str, Any], dep: str) -> tuple[int, list[str]]:
    """H3 cells covering a department, the finest of resolutions 8, 7, 6 with at most 3,000 cells.

    A click on a cell gives its centre as the incident's coordinates (within
    about 0.5 km at resolution 8, 1.3 km at 7).

    Returns
    -------
    resolution, cells
        Empty when the department has no outline (collectivities).

    Examples
    --------
    >>> resolution, cells = department_cells(load_outlines(), "75")  # doctest: +SKIP
    >>> resolution, len(cells) > 100  # doctest: +SKIP
    (8, True)
    """
    feature = next((f for f in outlines["features"] if f["properties"]["code"] == dep), None)
    if feature is None:
        return 0, []
    cells: list[str] = []
    for resolution in _PICK_RESOLUTIONS:
        cells = sorted(h3.geo_to_cells(feature["geometry"], resolution))
        if len(cells) <= MAX_PICK_CELLS:
            return resolution, cells
    return _PICK_RESOLUTIONS[-1], cells


def pickable_departments(outlines: Mapping[str, Any], *, tolerance: float = 0.05) -> list[dict[str, Any]]:
    """Each department as one coarse polygon (its largest part, simplified), code and name, for clicks.

    deck.gl picks a click asynchronously; in headless Chromium (software
    WebGL) the pick of a layer of more than a few thousand vertices fails and
    Streamlit then reports no selection. About 2,200 vertices at 0.05 degree
    (5 km) pick reliably; the detailed outlines are drawn by another layer.
    """
    from shapely.geometry import shape

    rows = []
    for feature in outlines["features"]:
        geometry = shape(feature["geometry"]).simplify(tolerance, preserve_topology=True)
        parts = [geometry] if geometry.geom_type == "Polygon" else list(geometry.geoms)
        largest = max(parts, key=lambda part: part.area)
        rows.append({"polygon": [[round(x, 3), round(y, 3)] for x, y in largest.exterior.coords],
                     "code": feature["properties"]["code"], "nom": feature["properties"]["nom"]})
    return rows


def place_picker_deck(outlines: Mapping[str, Any], departments: Sequence[Mapping[str, Any]], *,
                      dep: str | None, resolution: int, cells: Sequence[str],
                      point: tuple[float, float] | None) -> DeckJson:
    """A map to pick the place: click a department, then a cell of it; the chosen point is marked.

    What is clicked are light layers (:data:`DEPARTMENT_LAYER`: coarse polygons
    from :func:`pickable_departments`; :data:`CELL_LAYER`: one disc per H3
    cell centre), under detailed outlines and hexagons that are only drawn:
    Streamlit 1.67 reports no selection for ``GeoJsonLayer`` or
    ``H3HexagonLayer`` objects, nor for heavy layers in software WebGL.
    """
    layers: list[dict[str, Any]] = [
        {**outline_layer(outlines), "id": "severity_outlines"},
        {"@@type": "PolygonLayer", "id": DEPARTMENT_LAYER, "data": list(departments), "getPolygon": "@@=polygon",
         "pickable": True, "stroked": False, "filled": True, "getFillColor": [30, 60, 120, 12],
         "autoHighlight": True, "highlightColor": [30, 90, 200, 60]},
    ]
    if cells:
        name = places.department_name(dep) if dep else ""
        radius = h3.average_hexagon_edge_length(resolution, unit="m")
        layers += [
            {"@@type": "H3HexagonLayer", "id": "severity_cell_grid", "data": [{"cell": c} for c in cells],
             "getHexagon": "@@=cell", "pickable": False, "filled": False, "stroked": True, "extruded": False,
             "getLineColor": [30, 90, 200, 80], "lineWidthMinPixels": 0.5, "highPrecision": False},
            {"@@type": "ScatterplotLayer", "id": CELL_LAYER, "pickable": True, "getPosition": "@@=[lon, lat]",
             "data": [{"cell": c, "lat": round(lat, 5), "lon": round(lon, 5), "nom": name}
                      for c in cells for lat, lon in (h3.cell_to_latlng(c),)],
             "getRadius": round(radius), "getFillColor": [30, 90, 200, 18], "stroked": False,
             "autoHighlight": True, "highlightColor": [200, 40, 40, 140]},
        ]
    if point is not None:
        layers.append({
            "@@type": "ScatterplotLayer", "id": POINT_LAYER, "data": [{"lat": point[0], "lon": point[1]}],
            "getPosition": "@@=[lon, lat]", "getRadius": 60, "radiusMinPixels": 7, "getFillColor": [200, 30, 30, 230],
            "stroked": True, "getLineColor": [255, 255, 255], "lineWidthMinPixels": 2, "pickable": False,
        })
    if point is not None:
        view = (point[0], point[1], _POINT_ZOOM)
    elif dep and dep in places.department_bboxes():
        latitude, longitude, zoom = view_for_bbox(places.department_bboxes()[dep], width_px=480, height_px=340)
        view = (latitude, longitude, zoom - 0.3)
    else:
        view = METROPOLITAN_VIEW
    spec = {
        "initialViewState": {"latitude": round(view[0], 5), "longitude": round(view[1], 5),
                             "zoom": round(view[2], 2), "pitch": 0, "bearing": 0},
        "layers": layers, "mapProvider": "carto", "views": [{"@@type": "MapView", "controller": True}],
    }
    tooltip = {"html": "{nom}", "style": {"fontSize": "0.8em"}}
    return DeckJson(json.dumps(spec, separators=(",", ":"), ensure_ascii=False), tooltip)


@dataclass(frozen=True)
class PickedPlace:
    """What a map click chose: a department (then coordinates are reset) or a point in a cell."""

    dep: str | None = None
    point: tuple[float, float] | None = None


def picked_place(selection: Mapping[str, Any] | None) -> PickedPlace | None:
    """Read the selection state of the place picker (``st.pydeck_chart`` on_select).

    Examples
    --------
    >>> picked_place({"selection": {"objects": {"severity_departements": [{"code": "13", "nom": "x"}]}}})
    PickedPlace(dep='13', point=None)
    >>> picked_place({"selection": {"objects": {}}}) is None
    True
    """
    objects = ((selection or {}).get("selection") or {}).get("objects") or {}
    cells = objects.get(CELL_LAYER) or []
    if cells and isinstance(cells[0], Mapping) and cells[0].get("cell"):
        lat, lon = h3.cell_to_latlng(str(cells[0]["cell"]))
        return PickedPlace(point=(round(lat, 5), round(lon, 5)))
    departments = objects.get(DEPARTMENT_LAYER) or []
    if departments and isinstance(departments[0], Mapping):
        dep = places.normalise_dep(departments[0].get("code"))
        if dep:
            return PickedPlace(dep=dep)
    return None


# --------------------------------------------------------------------------- #
# The model card in words (reliability page)
# --------------------------------------------------------------------------- #

#: Published peers on the BAAC (figures quoted by the severity model issue).
PEERS: Final = (
    {"Étude": "CatBoost (publication)", "Année de test": "2024", "Indicateur": "ROC-AUC", "value": 0.817,
     "metric": "auc"},
    {"Étude": "LightGBM (publication)", "Année de test": "2023", "Indicateur": "Rappel", "value": 0.807,
     "metric": "recall"},
)

SUBGROUP_LABELS: Final[dict[str, str]] = {
    "urban (agg 2)": "En agglomération",
    "rural (agg 1)": "Hors agglomération",
    "metropolitan": "Métropole",
    "overseas": "Outre-mer",
    "day (lum 1)": "Plein jour",
    "dusk or dawn (lum 2)": "Crépuscule ou aube",
    "night (lum 3-5)": "Nuit",
    "pedestrian involved": "Piéton impliqué",
    "no pedestrian": "Sans piéton",
    "two-wheeler involved": "Deux-roues motorisé impliqué",
    "no two-wheeler": "Sans deux-roues motorisé",
}

#: What the estimate cannot know, for the reliability page.
LIMITS: Final = (
    "Le modèle ne voit que ce que la base BAAC enregistre. Des faits qu’un appelant peut donner ne s’y trouvent "
    "pas : éjection d’un occupant, personne incarcérée (désincarcération nécessaire), véhicule en feu ou sur le "
    "toit, victime inconsciente ou qui ne respire pas, âge et état apparent des victimes. Ils priment sur "
    "l’estimation.",
    "L’ONISR a changé en 2018 la façon d’enregistrer les blessés hospitalisés : dans ces données, leur nombre "
    "passe de 28 993 en 2017 à 22 169 en 2018. Les parts d’accidents graves avant et après 2018 ne sont donc pas "
    "comparables. Le modèle porte la période d’enregistrement comme variable et ses probabilités sont calibrées "
    "sur 2019, donc selon l’enregistrement actuel.",
    "La base ne contient que des accidents corporels (au moins un blessé) : « Indemne » ne peut pas être la "
    "pire blessure d’un accident, et un appel pour un accident sans blessé n’a pas d’équivalent dans les données.",
    "2020, l’année de test, est une année de confinements (trafic réduit, 47 744 accidents contre 58 840 en "
    "2019) : les performances mesurées peuvent différer de celles d’une année ordinaire.",
    "Les accidents comparables et l’historique des lieux s’arrêtent à la dernière année d’entraînement ; les "
    "aménagements récents d’une route n’y figurent pas.",
)


def _metric_text(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}".replace(".", ",")


def metrics_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Test-year figures of the model and of its baselines, as text (one row per model and target)."""
    test = card["metrics"]["test"]
    rows = []
    for target, label in (("severe", "Tué ou blessé hospitalisé"), ("fatal", "Tué")):
        entries = (("Modèle (XGBoost calibré)", test[target]),
                   ("Régression logistique", test["baselines"]["logistic_regression"][target]),
                   (f"Taux de base ({card['years']['validation']})", test["baselines"]["base_rate"][target]))
        for name, figures in entries:
            rows.append({
                "Cible": label, "Modèle": name, "ROC-AUC": _metric_text(figures.get("auc")),
                "Brier": _metric_text(figures.get("brier"), 4), "Log loss": _metric_text(figures.get("log_loss"), 4),
                "ECE (10 classes)": _metric_text(figures.get("ece"), 4),
                "Part observée": _metric_text(figures.get("observed")),
                "Part prédite moyenne": _metric_text(figures.get("mean_predicted")),
            })
    return pd.DataFrame(rows)


def subgroup_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Test-year figures by subgroup (French names), as text."""
    rows = []
    for name, figures in card["metrics"]["test"]["subgroups"].items():
        severe = figures["severe"]
        rows.append({
            "Sous-groupe": SUBGROUP_LABELS.get(name, name), "Accidents": f"{severe['n']:,}".replace(",", "\u202f"),
            "Part grave observée": _metric_text(severe.get("observed")),
            "Part grave prédite": _metric_text(severe.get("mean_predicted")),
            "ROC-AUC (grave)": _metric_text(severe.get("auc")), "ECE (grave)": _metric_text(severe.get("ece"), 4),
            "ROC-AUC (tué)": _metric_text(figures.get("fatal_auc")),
        })
    return pd.DataFrame(rows)


def peers_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Our test-year figure beside each published peer's, on the same indicator."""
    test = card["metrics"]["test"]
    ours = {"auc": test["severe"]["auc"], "recall": test["thresholds"]["severe"]["recall_80"]["recall"]}
    rows = []
    for peer in PEERS:
        rows.append({
            "Étude": peer["Étude"], "Année de test": peer["Année de test"], "Indicateur": peer["Indicateur"],
            "Publié": _metric_text(peer["value"]),
            f"Gravité (test {test['year']})": _metric_text(ours[peer["metric"]]),
        })
    return pd.DataFrame(rows)


def calibration_frame(card: Mapping[str, Any], target: str = "severe") -> pd.DataFrame:
    """The test-year calibration table of a target (bins with incidents only)."""
    table = pd.DataFrame(card["metrics"]["test"]["calibration_table"][target])
    return table[table["n"] > 0].reset_index(drop=True)


def importance_by_field(card: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Share of the model's total gain per input field (French names), largest first."""
    labels = {**M.FIELD_LABELS}
    return [(labels.get(name, name), float(share)) for name, share in card.get("importance", {}).items()]


def features_by_field(card: Mapping[str, Any]) -> dict[str, list[str]]:
    """The model's features grouped by the input field they come from (French field names)."""
    grouped: dict[str, list[str]] = {}
    for name in card["features"]["names"]:
        source = card["features"]["source"].get(name, name)
        grouped.setdefault(M.FIELD_LABELS.get(source, source), []).append(name)
    return grouped


def calibration_figure(card: Mapping[str, Any], target: str = "severe") -> go.Figure:
    """Predicted against observed share per probability bin on the test year, with the diagonal.

    Marker area follows the number of accidents of each bin.
    """
    import plotly.graph_objects as go

    table = calibration_frame(card, target)
    year = card["metrics"]["test"]["year"]
    name = "tué ou blessé hospitalisé" if target == "severe" else "tué"
    sizes = 8 + 30 * np.sqrt(table["n"] / table["n"].max())
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Calibration parfaite",
                       line={"color": "#888", "dash": "dash"}, hoverinfo="skip")
    figure.add_scatter(
        x=table["mean_predicted"], y=table["observed"], mode="lines+markers", name=f"Modèle ({year})",
        marker={"size": sizes, "color": "#1f5fa8"}, line={"color": "#1f5fa8"},
        customdata=np.column_stack([table["n"], table["low"], table["high"]]),
        hovertemplate="Prédit %{x:.1%} – observé %{y:.1%}<br>%{customdata[0]:,} accidents "
                      "(classe %{customdata[1]:.0%}–%{customdata[2]:.0%})<extra></extra>",
    )
    figure.update_layout(
        height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, separators=", ",
        title={"text": f"Calibration sur {year} : probabilité « {name} » prédite et part observée",
               "font": {"size": 14}},
        xaxis={"title": "Probabilité prédite (moyenne de la classe)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "Part observée", "tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def start_year_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The start years tried on the validation year, as text (the chosen one marked)."""
    chosen = card["start_year"]["chosen"]
    return pd.DataFrame([{
        "Première année": f"{c['start_year']}{' (retenue)' if c['start_year'] == chosen else ''}",
        "Accidents d’entraînement": f"{c['training_rows']:,}".replace(",", "\u202f"),
        "ROC-AUC (validation)": _metric_text(c.get("auc"), 4),
        "Log loss": _metric_text(c.get("log_loss"), 4),
        "Brier": _metric_text(c.get("brier"), 4),
    } for c in card["start_year"]["candidates"]])


_RULE_NAMES: Final = {"recall_80": "Retrouver 80 % des accidents graves (bas de la bande « moyen »)",
                      "best_f1": "Meilleur F1 (bas de la bande « élevé »)"}


def thresholds_table(card: Mapping[str, Any], target: str = "severe") -> pd.DataFrame:
    """Each alert threshold with its share flagged, precision and recall on validation and test years."""
    validation_year = card["years"]["validation"]
    test_year = card["metrics"]["test"]["year"]
    rows = []
    for rule, chosen in sorted(card["thresholds"][target].items(), key=lambda item: item[1]["threshold"]):
        test = card["metrics"]["test"]["thresholds"][target][rule]
        rows.append({
            "Seuil": f"{chosen['threshold'] * 100:.1f} %".replace(".", ","),
            "Règle": _RULE_NAMES.get(rule, rule),
            f"Signalés {validation_year}": f"{chosen['flagged_share'] * 100:.0f} %",
            f"Précision {validation_year}": _metric_text(chosen.get("precision")),
            f"Rappel {validation_year}": _metric_text(chosen.get("recall")),
            f"Signalés {test_year}": f"{test['flagged_share'] * 100:.0f} %",
            f"Précision {test_year}": _metric_text(test.get("precision")),
            f"Rappel {test_year}": _metric_text(test.get("recall")),
        })
    return pd.DataFrame(rows)
