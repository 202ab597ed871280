"""The call form: the choices offered to the operator and the incident JSON a filled form describes.

Why a module of its own
-----------------------
The form is ordered like a call and every field may stay "Inconnu"; what the
operator types must become exactly the incident :func:`core.incident.parse.parse_incident`
accepts (fields left out when unknown, "now" in the local time of the
department, coordinates pasted in any usual format), and a field the model
cannot use must be named in French. The same words describe an incident in
the session's list (:func:`describe_incident`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from core.features.columns import columns_from_incidents
from core.features.words import describe_field
from core.incident.fields import CODED_FIELDS, FIELD_LABELS, PERSON_FIELDS, IncidentError, shown
from core.incident.parse import parse_incident
from core.place_data import MAINLAND_TIME_ZONE, TIME_ZONES


@dataclass(frozen=True)
class EverydayVehicle:
    """A vehicle as a caller names it, and the BAAC ``catv`` code it is counted as.

    The code is the commonest of its family in 2019-2020 (``Moto``: 33
    "Motocyclette > 125 cm3", 14,547 vehicles against 3,426 for 31 "> 50 cm3 et
    <= 125 cm3"); the full BAAC list stays one click away for a precise category.
    """

    key: str
    word: str
    catv: int


#: The vehicle question in everyday words, in the order they are offered.
EVERYDAY_VEHICLES: Final = (
    EverydayVehicle("car", "Voiture", 7),
    EverydayVehicle("motorbike", "Moto", 33),
    EverydayVehicle("scooter", "Scooter", 30),
    EverydayVehicle("moped", "Cyclomoteur", 2),
    EverydayVehicle("bicycle", "Vélo", 1),
    EverydayVehicle("kick_scooter", "Trottinette", 50),
    EverydayVehicle("van", "Camionnette", 10),
    EverydayVehicle("hgv", "Poids lourd", 15),
    EverydayVehicle("bus", "Bus ou car", 37),
    EverydayVehicle("tractor", "Tracteur", 21),
)
#: Every current BAAC category, for the full list (codes retired in 2006 are not offered).
BAAC_VEHICLES: Final = (7, 10, 33, 31, 34, 32, 30, 2, 1, 80, 50, 60, 3, 13, 14, 15, 16, 17, 37, 38, 40, 39, 35, 36,
                        41, 42, 43, 20, 21, 99, 0)
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



def local_moment(dep: str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """The aware local time of a department (metropolitan time when unknown), to the second.

    Examples
    --------
    >>> moment = dt.datetime(2024, 1, 15, 3, 17, 40, tzinfo=dt.UTC)
    >>> local_moment("59", now=moment).isoformat(), local_moment("972", now=moment).isoformat()
    ('2024-01-15T04:17:40+01:00', '2024-01-14T23:17:40-04:00')
    """
    zone = ZoneInfo(TIME_ZONES.get(dep or "", MAINLAND_TIME_ZONE))
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).replace(microsecond=0)


def local_now(dep: str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """The local wall-clock time of a department (metropolitan time when unknown), to the minute.

    Examples
    --------
    >>> moment = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
    >>> local_now("75", now=moment).isoformat(), local_now("974", now=moment).isoformat()
    ('2024-07-01T14:00:00', '2024-07-01T16:00:00')
    """
    return local_moment(dep, now=now).replace(second=0, tzinfo=None)


def parse_coordinates(text: str | None) -> tuple[float, float] | None:
    """Latitude and longitude from what an operator pastes: ``"48.8566, 2.3522"``, ``"48,8566 2,3522"``.

    Returns None for an empty text.

    Raises
    ------
    core.incident.fields.IncidentError
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
        raise IncidentError("lat", f"attendu « latitude, longitude » en degrés décimaux (ex. « 48.8566, 2.3522 »), "
                                   f"reçu {shown(text)}")
    values = []
    for name, part, bound in (("lat", parts[0], 90.0), ("lon", parts[1], 180.0)):
        what = "la latitude" if name == "lat" else "la longitude"
        try:
            value = float(part)
        except ValueError:
            raise IncidentError(name, f"{what} n’est pas un nombre de degrés : {shown(part)}") from None
        if not -bound <= value <= bound or math.isnan(value):
            raise IncidentError(name, f"{what} doit être entre -{bound:g} et {bound:g} degrés, reçu {shown(value)}")
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
    #: The people the caller described: ``(role, age, sex, equipment)``, each None when not said; a person
    #: with nothing said is left out.
    people: tuple[tuple[int | None, int | None, int | None, int | None], ...] = ()


def incident_from_form(form: CallForm, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The incident JSON of :func:`core.incident.parse.parse_incident` for a filled form (unknown fields left out).

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
    core.incident.fields.IncidentError
        Naming the field that cannot be used.

    Examples
    --------
    >>> incident_from_form(CallForm(dep="13", vehicles={7: 2, 1: 1}, atm=2, n_pedestrians=0))
    {'dep': '13', 'atm': 2, 'vehicles': [7, 7, 1], 'n_pedestrians': 0}
    """
    incident = _place_of(form)
    moment = _moment_of(form, now=now)
    if moment is not None:
        incident["datetime"] = moment
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
    described = [{key: int(value) for key, value in zip(PERSON_FIELDS, person, strict=True) if value is not None}
                 for person in form.people]
    if any(described):
        incident["people"] = [person for person in described if person]
    parse_incident(incident)
    return incident


def _place_of(form: CallForm) -> dict[str, Any]:
    """The department, commune and coordinates the form gives (the coordinates parsed from their text)."""
    place: dict[str, Any] = {}
    if form.dep:
        place["dep"] = form.dep
    if form.com:
        place["com"] = form.com
    point = parse_coordinates(form.coordinates)
    if point is not None:
        place["lat"], place["lon"] = point
    return place


def _moment_of(form: CallForm, *, now: dt.datetime | None) -> str | None:
    """The incident's ``datetime`` text: now in the department's local time, the date given, or None."""
    if form.moment == MOMENT_NOW:
        return local_now(form.dep, now=now).isoformat(timespec="minutes")
    if form.moment == MOMENT_OTHER and form.when is not None:
        return form.when.replace(tzinfo=None).isoformat(timespec="minutes")
    if form.moment not in MOMENTS:
        raise IncidentError("datetime", f"moment inconnu {shown(form.moment)} ; admis : {', '.join(MOMENTS)}")
    return None


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
    return FIELD_LABELS.get(base, base)


def describe_incident(incident: Mapping[str, Any]) -> str:
    """The known fields of an incident in French words, for the session list.

    Examples
    --------
    >>> describe_incident({"agg": 2, "vehicles": [7, 1], "n_pedestrians": 0})
    'En agglomération · 1 × VL seul, 1 × Bicyclette · aucun piéton'
    >>> describe_incident({})
    'Aucune information'
    """
    columns = columns_from_incidents([parse_incident(incident)])
    order = ("com", "dep", "place", "datetime", "agg", "catr", "vehicles", "n_pedestrians", "n_people", "obs",
             "col", "int", "atm", "lum", "surf", "vma")
    present = {"place": "lat" in incident}
    labelled = {*CODED_FIELDS, "vma"} - {"agg"}
    parts = [(f"{FIELD_LABELS[source]} : " if source in labelled else "") + describe_field(source, columns, 0)
             for source in order if present.get(source, source in incident)]
    return " · ".join(parts) if parts else "Aucune information"
