"""From an eCall MSD to an incident: what the message tells the model, what stays unknown, what it flags.

Why a module of its own
-----------------------
The mapping is written once, here, and read by every door: the API route
``POST /v1/severity/ecall``, the severity page's "Coller un message eCall"
(which pre-fills the call form with :attr:`EcallIncident.incident`), the
training run that measures the model on MSD facts only, and the README's table
(:data:`MAPPING_ROWS`). Each MSD field becomes incident fields:

* the position gives ``lat``/``lon``, the department and the commune
  (:mod:`core.ecall.locate`); when the message says the position cannot be
  trusted, only the department is kept, and only when no other department lies
  within :data:`UNTRUSTED_MARGIN_KM` of the point;
* the UTC timestamp gives the local ``datetime`` of the place's time zone, and
  with the point the sun's elevation gives the light (``lum`` 1 or 2; at night
  BAAC's code depends on street lighting, which stays unknown);
* the vehicle class gives one ``catv`` code (:data:`CATV_OF_CLASS`): the
  calling vehicle, the only one the message knows;
* the passengers give ``n_people`` (at least 1).

What the message says and BAAC never recorded (automatic activation, the
propulsion, the direction) is shown beside the estimate, never folded into it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from core import codebook, places
from core.ecall.locate import Location, locate, other_department_km, time_zone
from core.ecall.msd import Msd, read_msd
from core.ecall.sun import DUSK_OR_DAWN, FULL_DAY, light_code, solar_elevation
from core.formatting import format_decimal
from core.incident.fields import FIELD_LABELS, INCIDENT_FIELDS

#: EN 15722 vehicle class -> BAAC catv code, with why when the choice is not one to one.
CATV_OF_CLASS: Final[dict[str, tuple[int, str]]] = {
    "passengerVehicleClassM1": (7, ""),
    "busesAndCoachesClassM2": (38, "M2 : minibus et petits cars ; même famille que l’autobus pour le modèle"),
    "busesAndCoachesClassM3": (37, "M3 : autobus et autocars ; autobus, le plus fréquent"),
    "lightCommercialVehiclesClassN1": (10, ""),
    "heavyDutyVehiclesClassN2": (13, "N2 : 3,5 à 12 t ; le code le plus proche"),
    "heavyDutyVehiclesClassN3": (14, "N3 : plus de 12 t ; remorque inconnue"),
    "motorcyclesClassL1e": (2, ""),
    "motorcyclesClassL2e": (41, ""),
    "motorcyclesClassL3e": (33, "cylindrée absente du MSD : > 125 cm3, le cas le plus fréquent"),
    "motorcyclesClassL4e": (33, "side-car : code BAAC retiré en 2006, compté comme motocyclette"),
    "motorcyclesClassL5e": (43, "cylindrée absente du MSD : > 125 cm3"),
    "motorcyclesClassL6e": (3, "quadricycle léger : voiturette, bien plus fréquente que le quad léger"),
    "motorcyclesClassL7e": (36, "quadricycle lourd : quad lourd"),
}
#: French names of the fields FIELD_LABELS names only together (as "place").
_LABELS: Final = {"lat": "Latitude", "lon": "Longitude"}
#: The message knows its own vehicle only: the others stay unknown, though ``vehicles`` is given.
_OTHER_VEHICLES: Final = {"field": "other_vehicles", "label": "Autres véhicules que le véhicule appelant"}
#: A point whose position cannot be trusted keeps its department only when no other one is this near (km).
#: (The standard says "untrusted" when the position is not within 150 m with 95 % confidence.)
UNTRUSTED_MARGIN_KM: Final = 2.0

#: The README's mapping table: MSD field, incident fields, rule (French, as the page words it).
MAPPING_ROWS: Final = (
    ("vehicleLocation (positionLatitude, positionLongitude)", "lat, lon, dep, com",
     "millisecondes d’arc / 3 600 000 ; département : contour qui contient le point, sinon le plus proche à moins "
     "de 25 km (en mer) ; commune : celle des accidents passés localisés les plus proches, dans ce département"),
    ("positionCanBeTrusted = false", "dep seul",
     f"ni point ni commune ; département gardé si aucun autre département n’est à moins de "
     f"{UNTRUSTED_MARGIN_KM:g} km du point"),
    ("timestamp (secondes UTC)", "datetime",
     "heure locale du lieu : Europe/Paris en métropole et en Corse, fuseau du département ou de la collectivité "
     "d’outre-mer (changements d’heure compris)"),
    ("timestamp + position", "lum", "hauteur du soleil : ≥ 0° plein jour (1), de -4° à 0° crépuscule ou aube (2), "
     "au-dessous nuit (code inconnu : dépend de l’éclairage public)"),
    ("vehicleType", "vehicles", "un code catv, celui du véhicule appelant (tableau ci-dessous) ; "
     "les autres véhicules restent inconnus"),
    ("numberOfPassengers", "n_people", "personnes à bord, au moins 1 ; 255 ou absent : inconnu"),
    ("automaticActivation", "—", "signal montré, absent du BAAC : jamais intégré à la probabilité"),
    ("testCall = true", "—", "pas d’estimation : réponse « appel de test »"),
    ("vehiclePropulsionStorageType, vehicleDirection", "—", "montrés, absents du modèle"),
    ("recentVehicleLocationN1/N2, messageIdentifier, additionalData", "—", "gardés dans le journal d’audit"),
)


@dataclass(frozen=True)
class EcallIncident:
    """An MSD read and mapped: the incident for the model and what to tell the operator around it.

    Attributes
    ----------
    msd : Msd
        The message, checked.
    incident : dict
        The incident JSON the model reads (:func:`core.incident.parse.parse_incident` input);
        empty when the message is a test call.
    location : Location or None
        Where the point lies (None when the message has no valid position).
    facts : list of dict
        What came from the message: ``{"field", "label", "value", "text"}``, French words.
    unknown : tuple of str
        Incident fields the message leaves unknown.
    signals, warnings : list of dict
        ``{"field", "reason"}``: what the model does not know but the operator should
        (automatic activation), and what makes the estimate weaker (untrusted position).
    """

    msd: Msd
    incident: dict[str, Any]
    location: Location | None
    facts: list[dict[str, Any]]
    unknown: tuple[str, ...]
    signals: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def test_call(self) -> bool:
        """The message is a test call: no estimate."""
        return self.msd.test_call

    def summary(self) -> dict[str, Any]:
        """The ``ecall`` block of the API's answer (JSON-ready)."""
        msd = self.msd
        return {
            "test_call": msd.test_call,
            "automatic_activation": msd.automatic_activation,
            "position_trusted": msd.position_trusted,
            "vehicle_type": msd.vehicle_type,
            "incident": self.incident,
            "from_message": self.facts,
            "unknown": [{"field": name, "label": _LABELS.get(name) or FIELD_LABELS[name]} for name in self.unknown]
                       + ([_OTHER_VEHICLES] if "vehicles" in self.incident else []),
            "not_used": {"propulsion": list(msd.propulsion), "direction_degrees": msd.direction},
            "signals": self.signals,
            "warnings": self.warnings,
        }


def incident_from_msd(message: Any) -> EcallIncident:
    """Read an MSD (:func:`core.ecall.msd.read_msd`) and map it to an incident.

    Raises
    ------
    IncidentError
        Naming the MSD field that is wrong.

    Examples
    --------
    >>> ecall = incident_from_msd({
    ...     "automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
    ...     "vehicleType": "motorcyclesClassL3e", "timestamp": 1593957600,  # 2020-07-05 14:00 UTC
    ...     "vehicleLocation": {"positionLatitude": 173222280, "positionLongitude": -6040080},  # Rennes
    ...     "numberOfPassengers": 1})
    >>> {k: ecall.incident[k] for k in ("dep", "datetime", "lum", "vehicles", "n_people")}
    {'dep': '35', 'datetime': '2020-07-05T16:00', 'lum': 1, 'vehicles': [33], 'n_people': 1}
    >>> ecall.signals[0]["field"]
    'automaticActivation'
    """
    msd = read_msd(message)
    signals = [_activation_signal(msd.automatic_activation)]
    if msd.test_call:
        return EcallIncident(msd, {}, None, [], (), signals, [])
    incident: dict[str, Any] = {} if msd.id is None else {"id": msd.id}
    facts: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = []
    location = None
    if msd.latitude is None:
        warnings.append({"field": "vehicleLocation", "reason": "position inconnue dans le message : lieu inconnu, "
                                                               "heure de Paris supposée"})
    else:
        location = locate(msd.latitude, msd.longitude)
        _place(msd, location, incident, facts, warnings)
    in_france = location is not None and location.dep is not None
    zone = time_zone(location.dep if in_france else None, msd.latitude, msd.longitude)
    _time(msd, zone, incident, facts, warnings, sun_at=(msd.latitude, msd.longitude) if in_france else None)
    catv, why = CATV_OF_CLASS[msd.vehicle_type]
    incident["vehicles"] = [catv]
    facts.append({"field": "vehicles", "label": FIELD_LABELS["vehicles"], "value": [catv],
                  "text": f"{codebook.label('catv', catv)} (véhicule appelant{' ; ' + why if why else ''} ; "
                          "autres véhicules inconnus)"})
    if msd.passengers is not None:
        incident["n_people"] = max(1, msd.passengers)
        facts.append({"field": "n_people", "label": FIELD_LABELS["n_people"], "value": incident["n_people"],
                      "text": f"au moins {incident['n_people']} (à bord du véhicule appelant)"})
    if msd.propulsion:
        signals.append({"field": "vehiclePropulsionStorageType",
                        "reason": "énergie : " + ", ".join(msd.propulsion) + " (absente du modèle)"})
    unknown = tuple(name for name in INCIDENT_FIELDS if name not in incident)
    return EcallIncident(msd, incident, location, facts, unknown, signals, warnings)


def _activation_signal(automatic: bool) -> dict[str, str]:
    if automatic:
        return {"field": "automaticActivation",
                "reason": "déclenchement automatique (choc détecté par le véhicule) : signal fort de gravité que le "
                          "modèle ne connaît pas (absent du BAAC), non intégré à la probabilité"}
    return {"field": "automaticActivation",
            "reason": "déclenchement manuel (bouton SOS) : absent du BAAC, non intégré à la probabilité"}


def _place(msd: Msd, location: Location, incident: dict[str, Any], facts: list[dict[str, Any]],
           warnings: list[dict[str, str]]) -> None:
    """The place fields of a message with a position (trusted or not)."""
    if location.dep is None:
        far = (f"à {location.distance_km:.0f} km de tout département français" if math.isfinite(location.distance_km)
               else "loin de tout département français")
        warnings.append({"field": "vehicleLocation", "reason": f"point {far} : lieu ignoré, heure de Paris supposée"})
        return
    if not msd.position_trusted:
        kept = (location.method == "inside"
                and other_department_km(location.dep, msd.latitude, msd.longitude) > UNTRUSTED_MARGIN_KM)
        why = ("point hors des contours" if location.method != "inside"
               else f"un autre département à moins de {UNTRUSTED_MARGIN_KM:g} km")
        warnings.append({"field": "positionCanBeTrusted",
                         "reason": "position non fiable selon le véhicule : estimation sans le point ni la commune"
                                   + (" ; département gardé" if kept else f" ni le département ({why})")})
        if kept:
            incident["dep"] = location.dep
            facts.append(_department_fact(location.dep))
        return
    incident.update(lat=msd.latitude, lon=msd.longitude, dep=location.dep)
    facts.append({"field": "place", "label": "Position", "value": [msd.latitude, msd.longitude],
                  "text": f"{format_decimal(msd.latitude, 5)}, {format_decimal(msd.longitude, 5)}"})
    facts.append(_department_fact(location.dep))
    if location.com is not None:
        incident["com"] = location.com
        facts.append({"field": "com", "label": FIELD_LABELS["com"], "value": location.com,
                      "text": f"{places.commune_name(location.com) or location.com} ({location.com}, "
                              "commune des accidents passés les plus proches)"})
    if location.method == "nearest":
        warnings.append({"field": "vehicleLocation",
                         "reason": f"point hors des contours (en mer, sur une limite ou juste à l’étranger), à "
                                   f"{format_decimal(location.distance_km)} km du département le plus proche"})


def _department_fact(dep: str) -> dict[str, Any]:
    return {"field": "dep", "label": FIELD_LABELS["dep"], "value": dep,
            "text": f"{places.department_name(dep)} ({dep})"}


def _time(msd: Msd, zone: str, incident: dict[str, Any], facts: list[dict[str, Any]],
          warnings: list[dict[str, str]], *, sun_at: tuple[float, float] | None) -> None:
    """The local time, and the light when the message's point is in or near France (``sun_at``)."""
    if msd.timestamp is None:
        warnings.append({"field": "timestamp", "reason": "horodatage inconnu (0) : heure et lumière inconnues"})
        return
    local = dt.datetime.fromtimestamp(msd.timestamp, tz=ZoneInfo(zone))
    incident["datetime"] = local.strftime("%Y-%m-%dT%H:%M")
    facts.append({"field": "datetime", "label": FIELD_LABELS["datetime"], "value": incident["datetime"],
                  "text": f"{local:%d/%m/%Y %H:%M} ({zone}, UTC{local:%z})"})
    if sun_at is None:
        return
    code = int(light_code(solar_elevation(msd.timestamp, *sun_at)))
    if code in (FULL_DAY, DUSK_OR_DAWN):
        incident["lum"] = code
        facts.append({"field": "lum", "label": FIELD_LABELS["lum"], "value": code,
                      "text": f"{codebook.label('lum', code)} (calculé : hauteur du soleil)"})
    else:
        facts.append({"field": "lum", "label": FIELD_LABELS["lum"], "value": None,
                      "text": "nuit (calculé : hauteur du soleil) ; éclairage public inconnu"})
