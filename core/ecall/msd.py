"""Read a decoded eCall Minimum Set of Data (EN 15722) as JSON: every field checked, the wrong one named.

Why a module of its own
-----------------------
A vehicle's eCall module sends its MSD in ASN.1 unaligned PER bytes; the
centre's telephony decodes it, and what reaches Gravité is that decoded message
as JSON, with the standard's field names. (Generic ASN.1 packages such as
asn1tools or pycrate can decode PER given the standard's ASN.1 module, which no
maintained package ships: decoding the bytes is left out of scope.) This
module checks the message as the incident parser checks a call: mandatory
fields present, values of the right kind and in the standard's
ranges, the standard's "unknown" values (``2147483647`` for a position, ``255``
for a direction or a passenger count) read as unknown, and any other problem
raised as :class:`~core.incident.fields.IncidentError` naming the field by its
path (``vehicleLocation.positionLatitude``). Three layouts are read: the flat
one (``automaticActivation`` beside ``timestamp``) and the standard's nested
one (``{"msdStructure": {"control": {...}, ...}, "optionalAdditionalData": ...}``) and that one
wrapped as the standard sends it (``{"id": <format version>, "msd": {...}}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.incident.fields import IncidentError, kind_of, shown
from core.incident.parse import parse_id

#: EN 15722 vehicle classes, in the standard's order (the ASN.1 enumeration's values are 1 to 13).
VEHICLE_TYPES: Final = (
    "passengerVehicleClassM1", "busesAndCoachesClassM2", "busesAndCoachesClassM3",
    "lightCommercialVehiclesClassN1", "heavyDutyVehiclesClassN2", "heavyDutyVehiclesClassN3",
    "motorcyclesClassL1e", "motorcyclesClassL2e", "motorcyclesClassL3e", "motorcyclesClassL4e",
    "motorcyclesClassL5e", "motorcyclesClassL6e", "motorcyclesClassL7e",
)
PROPULSION_TYPES: Final = (
    "gasolineTankPresent", "dieselTankPresent", "compressedNaturalGas", "liquidPropaneGas",
    "electricEnergyStorage", "hydrogenStorage", "otherStorage",
)
#: Milliarcseconds in a degree; the standard's bounds of a position (90 and 180 degrees).
MAS_PER_DEGREE: Final = 3_600_000
MAX_LATITUDE_MAS: Final = 90 * MAS_PER_DEGREE
MAX_LONGITUDE_MAS: Final = 180 * MAS_PER_DEGREE
#: The standard's "position invalid or unknown".
UNKNOWN_POSITION: Final = 2_147_483_647
#: The standard's "unknown" for the direction (in 2-degree steps) and the number of passengers.
UNKNOWN_BYTE: Final = 255
MAX_TIMESTAMP: Final = 2 ** 32 - 1
#: Recent positions are offsets in units of 100 milliarcseconds, -512 to 511.
_DELTA_RANGE: Final = (-512, 511)

_MANDATORY: Final = ("automaticActivation", "testCall", "positionCanBeTrusted", "vehicleType", "timestamp",
                     "vehicleLocation")
_OPTIONAL: Final = ("vehiclePropulsionStorageType", "vehicleDirection", "numberOfPassengers",
                    "recentVehicleLocationN1", "recentVehicleLocationN2", "messageIdentifier",
                    "vehicleIdentificationNumber", "optionalAdditionalData", "additionalData", "id",
                    "msdFormatVersion")
_FLAT_FIELDS: Final = frozenset((*_MANDATORY, *_OPTIONAL))
_CONTROL_FIELDS: Final = ("automaticActivation", "testCall", "positionCanBeTrusted", "vehicleType")


@dataclass(frozen=True)
class Msd:
    """A checked Minimum Set of Data; None where the message says "unknown" or leaves an optional field out.

    Attributes
    ----------
    latitude, longitude : float or None
        Decimal degrees (the message's milliarcseconds divided by 3,600,000).
    timestamp : int or None
        Seconds since 1970-01-01 UTC; None when the message gives 0 (unknown).
    direction : int or None
        Degrees clockwise from north (the message's 2-degree steps doubled).
    propulsion : tuple of str
        The storage types the message says are present.
    kept : dict
        What the estimate does not use but the audit log keeps: recent
        positions, message identifier, additional data (the VIN is left out).
    """

    automatic_activation: bool
    test_call: bool
    position_trusted: bool
    vehicle_type: str
    timestamp: int | None
    latitude: float | None
    longitude: float | None
    direction: int | None
    passengers: int | None
    propulsion: tuple[str, ...]
    kept: dict[str, Any]
    id: str | int | float | None


def read_msd(message: Any) -> Msd:
    """Check a decoded MSD and return it typed.

    Parameters
    ----------
    message : Mapping
        The MSD as JSON, flat or nested (see the module notes); ``id`` is ours, echoed back.

    Raises
    ------
    IncidentError
        Naming the first wrong field by its path, with the reason in French.

    Examples
    --------
    >>> msd = read_msd({"automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
    ...                 "vehicleType": "passengerVehicleClassM1", "timestamp": 1584210600,
    ...                 "vehicleLocation": {"positionLatitude": 175869360, "positionLongitude": 8480160},
    ...                 "numberOfPassengers": 2})
    >>> msd.latitude, msd.longitude, msd.passengers, msd.direction
    (48.8526, 2.3556, 2, None)
    >>> read_msd({"testCall": False})
    Traceback (most recent call last):
    ...
    core.incident.fields.IncidentError: automaticActivation: champ obligatoire du MSD absent
    """
    flat = _flatten(message)
    unknown = [key for key in flat if key not in _FLAT_FIELDS]
    if unknown:
        name = unknown[0] if isinstance(unknown[0], str) else str(type(unknown[0]))
        raise IncidentError(name, "champ inconnu du MSD ; admis : " + ", ".join((*_MANDATORY, *_OPTIONAL)))
    for field in _MANDATORY:
        if field not in flat or flat[field] is None:
            raise IncidentError(field, "champ obligatoire du MSD absent")
    latitude, longitude = _position(flat["vehicleLocation"])
    return Msd(
        automatic_activation=_boolean("automaticActivation", flat["automaticActivation"]),
        test_call=_boolean("testCall", flat["testCall"]),
        position_trusted=_boolean("positionCanBeTrusted", flat["positionCanBeTrusted"]),
        vehicle_type=_vehicle_type(flat["vehicleType"]),
        timestamp=_integer("timestamp", flat["timestamp"], 0, MAX_TIMESTAMP, "secondes depuis le 1er janvier 1970 UTC")
        or None,
        latitude=latitude,
        longitude=longitude,
        direction=_byte("vehicleDirection", flat.get("vehicleDirection"), "pas de 2 degrés depuis le nord", 179, 2),
        passengers=_byte("numberOfPassengers", flat.get("numberOfPassengers"), "personnes", 254, 1),
        propulsion=_propulsion(flat.get("vehiclePropulsionStorageType")),
        kept=_kept(flat),
        id=parse_id(flat.get("id")),
    )


def _flatten(message: Any) -> dict[Any, Any]:
    """The flat layout of a message in any of the three layouts.

    The standard's outermost wrapper, ``{"id": <MSD format version>, "msd": {…}}``, is
    unwrapped: its ``id`` is a format version, not ours to echo, and is kept as ``msdFormatVersion``.
    """
    if not isinstance(message, Mapping):
        raise IncidentError("msd", f"attendu un objet JSON {{…}} (le MSD décodé), reçu {kind_of(message)}")
    if "msd" in message:
        return _unwrapped(message)
    if "msdStructure" not in message:
        return dict(message)
    outer = dict(message)
    structure = outer.pop("msdStructure")
    if not isinstance(structure, Mapping):
        raise IncidentError("msdStructure", f"attendu un objet, reçu {kind_of(structure)}")
    twice = next((key for key in structure if key in outer), None)
    if twice is not None:
        raise IncidentError(f"msdStructure.{twice}", "champ donné aussi hors de msdStructure : une seule fois")
    flat = {**outer, **structure}
    control = flat.pop("control", None)
    if control is not None:
        if not isinstance(control, Mapping):
            raise IncidentError("control", f"attendu un objet, reçu {kind_of(control)}")
        extra = [key for key in control if key not in _CONTROL_FIELDS]
        if extra:
            raise IncidentError(f"control.{extra[0]}", "champ inconnu ; admis : " + ", ".join(_CONTROL_FIELDS))
        flat.update(control)
    return flat


def _unwrapped(message: Mapping[Any, Any]) -> dict[Any, Any]:
    """The flat layout of ``{"id": <format version>, "msd": {…}}``."""
    extra = [key for key in message if key not in ("msd", "id")]
    if extra:
        raise IncidentError(str(extra[0]), "champ inconnu à côté de « msd » ; admis : id (version du format), msd")
    if isinstance(message["msd"], Mapping) and "msd" in message["msd"]:
        raise IncidentError("msd.msd", "une seule enveloppe {id, msd} admise")
    flat = _flatten(message["msd"])
    if "msdFormatVersion" in flat:
        raise IncidentError("msd.msdFormatVersion", "champ inconnu du MSD")
    if message.get("id") is not None:
        flat["msdFormatVersion"] = _integer("id", message["id"], 0, 255, "version du format MSD")
    return flat


def _boolean(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise IncidentError(field, f"attendu true ou false, reçu {shown(value)}")


def _integer(field: str, value: Any, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        raise IncidentError(field, f"attendu un entier de {low} à {high} ({unit}), reçu {shown(value)}")
    if not low <= value <= high:
        raise IncidentError(field, f"{shown(value)} hors des bornes : de {low} à {high} ({unit})")
    return int(value)


def _byte(field: str, value: Any, unit: str, high: int, scale: int) -> int | None:
    """An optional 0-255 field whose 255 means unknown, scaled (direction steps to degrees)."""
    if value is None:
        return None
    number = _integer(field, value, 0, UNKNOWN_BYTE, f"{unit} ; {UNKNOWN_BYTE} : inconnu")
    if number == UNKNOWN_BYTE:
        return None
    if number > high:
        raise IncidentError(field, f"{number} hors des bornes : de 0 à {high} ({unit} ; {UNKNOWN_BYTE} : inconnu)")
    return number * scale


def _vehicle_type(value: Any) -> str:
    if isinstance(value, str):
        for name in VEHICLE_TYPES:
            if value.strip().casefold() == name.casefold():
                return name
    elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(VEHICLE_TYPES):
        return VEHICLE_TYPES[value - 1]
    raise IncidentError("vehicleType", f"classe de véhicule inconnue {shown(value)} ; admises : "
                                       "passengerVehicleClassM1 … motorcyclesClassL7e (ou 1 à 13)")


def _position(location: Any) -> tuple[float | None, float | None]:
    if not isinstance(location, Mapping):
        raise IncidentError("vehicleLocation", f"attendu un objet {{positionLatitude, positionLongitude}}, "
                                               f"reçu {kind_of(location)}")
    extra = [key for key in location if key not in ("positionLatitude", "positionLongitude")]
    if extra:
        raise IncidentError(f"vehicleLocation.{extra[0]}", "champ inconnu ; admis : positionLatitude, "
                                                           "positionLongitude")
    values = []
    for name, bound in (("positionLatitude", MAX_LATITUDE_MAS), ("positionLongitude", MAX_LONGITUDE_MAS)):
        field = f"vehicleLocation.{name}"
        if location.get(name) is None:
            raise IncidentError(field, "champ obligatoire du MSD absent")
        if location[name] == UNKNOWN_POSITION and not isinstance(location[name], bool):
            values.append(None)
            continue
        mas = _integer(field, location[name], -bound, bound,
                       f"millisecondes d’arc ; {UNKNOWN_POSITION} : position inconnue")
        values.append(round(mas / MAS_PER_DEGREE, 7))
    if None in values:
        return None, None
    return values[0], values[1]


def _propulsion(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise IncidentError("vehiclePropulsionStorageType", f"attendu un objet de booléens, reçu {kind_of(value)}")
    present = []
    for key, flag in value.items():
        field = f"vehiclePropulsionStorageType.{key}"
        if key not in PROPULSION_TYPES:
            raise IncidentError(field, "type d’énergie inconnu ; admis : " + ", ".join(PROPULSION_TYPES))
        if _boolean(field, flag):
            present.append(key)
    return tuple(present)


def _kept(flat: Mapping[Any, Any]) -> dict[str, Any]:
    """What the audit log keeps beside the estimate: recent positions, identifier, additional data."""
    kept = {}
    for name in ("recentVehicleLocationN1", "recentVehicleLocationN2"):
        delta = flat.get(name)
        if delta is None:
            continue
        if not isinstance(delta, Mapping) or set(delta) - {"latitudeDelta", "longitudeDelta"}:
            raise IncidentError(name, "attendu un objet {latitudeDelta, longitudeDelta}")
        kept[name] = {key: _integer(f"{name}.{key}", delta.get(key, 0), *_DELTA_RANGE,
                                    "unités de 100 millisecondes d’arc") for key in ("latitudeDelta", "longitudeDelta")}
    if flat.get("messageIdentifier") is not None:
        kept["messageIdentifier"] = _integer("messageIdentifier", flat["messageIdentifier"], 0, 255, "numéro")
    if flat.get("msdFormatVersion") is not None:
        kept["msdFormatVersion"] = _integer("msdFormatVersion", flat["msdFormatVersion"], 0, 255,
                                            "version du format MSD")
    for name in ("optionalAdditionalData", "additionalData"):
        if flat.get(name) is not None:
            kept[name] = flat[name]
    return kept
