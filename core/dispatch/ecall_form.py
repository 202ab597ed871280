"""An eCall message pasted on the severity page: the call form it fills, and what to tell the operator around it.

Why a module of its own
-----------------------
The page's "Coller un message eCall" reads the decoded MSD exactly as the API's
``POST /v1/severity/ecall`` does (:func:`core.ecall.mapping.incident_from_msd`)
and fills the call form with the incident it maps to, so that the operator only
adds what the caller says. Two things belong to the form alone. The pasted text
is JSON to read first: an unreadable one is refused like a wrong field, with the
line and column. And the incident must go back into the form's own terms
(:class:`core.dispatch.intake.CallForm`), the inverse of
:func:`core.dispatch.intake.incident_from_form`: a form filled from a message and
submitted untouched gives the message's incident again, field for field.

The form counts the calling vehicle as the only vehicle until the operator adds
the others. While it holds exactly the message's incident, the page answers it
as the API's eCall route does (:func:`core.dispatch.ecall.as_message_result`);
once a fact is added or changed, as a full call.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from core.dispatch.intake import (
    BAAC_VEHICLES,
    EVERYDAY_VEHICLES,
    MOMENT_OTHER,
    MOMENT_UNKNOWN,
    SPEED_LIMITS,
    CallForm,
    field_label,
)
from core.ecall.mapping import EcallIncident, incident_from_msd
from core.incident.fields import INCIDENT_FIELDS, IncidentError
from core.incident.parse import parse_incident

#: Longest text read (characters): a decoded MSD is well under 2,000.
MAX_MESSAGE_CHARS: Final = 20_000
#: The field named when the pasted text itself cannot be read.
MESSAGE_FIELD: Final = "message"
TEST_CALL_TEXT: Final = ("Appel de test : aucune estimation, aucune intervention à engager. "
                         "Le formulaire n’a pas été modifié.")
FORM_VEHICLE_NOTE: Final = (
    "Le formulaire compte le véhicule appelant comme seul véhicule jusqu’à ce que vous ajoutiez les autres. "
    "Tant qu’il ne contient que ce que dit le message, l’estimation utilise la calibration eCall (comme la route "
    "eCall de l’API) ; dès qu’un fait est ajouté ou changé, c’est celle d’un appel complet.")
#: Shown under an estimate made with the eCall calibration.
ECALL_ESTIMATE_NOTE: Final = ("Estimation d’après le message eCall seul (calibration eCall) : complétez avec ce que "
                              "dit l’appelant.")
#: Python's JSON error messages, in French (the rest: "syntaxe JSON invalide").
_JSON_REASONS: Final = (
    ("Expecting value", "valeur attendue"),
    ("Expecting property name enclosed in double quotes",
     "nom de champ entre guillemets droits \" attendu (les guillemets « » ou “ ” ne sont pas du JSON)"),
    ("Expecting ',' delimiter", "virgule attendue"),
    ("Expecting ':' delimiter", "deux-points attendus"),
    ("Unterminated string", "texte entre guillemets non fermé"),
    ("Extra data", "texte en trop après le message"),
    ("Invalid control character", "caractère de contrôle dans un texte"),
    ("Invalid \\escape", "échappement \\ invalide"),
)
_EVERYDAY_CODES: Final = frozenset(v.catv for v in EVERYDAY_VEHICLES)
_OFFERED_VEHICLES: Final = frozenset(BAAC_VEHICLES) | _EVERYDAY_CODES


def read_pasted_msd(text: str | None) -> EcallIncident:
    """The message of a pasted text, read and mapped as the API reads it.

    Raises
    ------
    IncidentError
        Naming :data:`MESSAGE_FIELD` when the text is empty, too long or not JSON
        (with the line and column), else the MSD field that is wrong.

    Examples
    --------
    >>> for text in ('{"automaticActivation": true,, }', '{“testCall”: false}', '{"testCall": false}'):
    ...     try:
    ...         read_pasted_msd(text)
    ...     except IncidentError as error:
    ...         print(error.field, "|", error.reason.partition(" entre ")[0])
    message | JSON illisible ligne 1, colonne 30 : nom de champ
    message | JSON illisible ligne 1, colonne 2 : nom de champ
    automaticActivation | champ obligatoire du MSD absent
    """
    if text is None or not text.strip():
        raise IncidentError(MESSAGE_FIELD, "aucun message collé : collez le MSD décodé, en JSON ({…})")
    if len(text) > MAX_MESSAGE_CHARS:
        raise IncidentError(MESSAGE_FIELD, f"{len(text)} caractères : au plus {MAX_MESSAGE_CHARS} "
                                           "(un MSD décodé en compte moins de 2 000)")
    try:
        message = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise IncidentError(MESSAGE_FIELD, f"JSON illisible ligne {error.lineno}, colonne {error.colno} : "
                                           f"{_json_reason(error.msg)}") from None
    except RecursionError:
        raise IncidentError(MESSAGE_FIELD, "JSON trop imbriqué pour être un MSD") from None
    except IncidentError:  # NaN or Infinity, refused by _refuse_constant
        raise
    except ValueError:  # an integer of more than 4,300 digits
        raise IncidentError(MESSAGE_FIELD, "nombre trop long pour être une valeur du MSD") from None
    return incident_from_msd(message)


def _refuse_constant(name: str) -> None:
    raise IncidentError(MESSAGE_FIELD, f"{name} n’est pas une valeur JSON")


def _json_reason(message: str) -> str:
    return next((french for english, french in _JSON_REASONS if message.startswith(english)),
                "syntaxe JSON invalide")


#: People the call form describes (ui.severity_form.DESCRIBED_PEOPLE).
MAX_FORM_PEOPLE: Final = 4


def call_form_from_incident(incident: Mapping[str, Any]) -> CallForm:
    """The call form that describes an incident: the inverse of :func:`core.dispatch.intake.incident_from_form`.

    A date and time become "Autre date et heure"; no date, "Inconnu"; the
    coordinates are written to the degree's seventh decimal (an MSD's own
    precision), so that the form gives the same point back.

    Raises
    ------
    IncidentError
        When the incident is invalid, or holds what the form cannot show (a date
        without its hour, a speed limit or a vehicle category the form does not offer).

    Examples
    --------
    >>> form = call_form_from_incident({"dep": "35", "lat": 48.1173, "lon": -1.6778,
    ...     "datetime": "2020-07-05T16:00", "lum": 1, "vehicles": [33], "n_people": 1})
    >>> form.coordinates, form.moment, form.when, form.vehicles, form.lum
    ('48.1173, -1.6778', 'other', datetime.datetime(2020, 7, 5, 16, 0), {33: 1}, 1)
    """
    parsed = parse_incident(incident)
    moment, when = _moment_of(parsed)
    coordinates = None if parsed["lat"] is None else f"{_degrees(parsed['lat'])}, {_degrees(parsed['lon'])}"
    if parsed["vma"] is not None and parsed["vma"] not in SPEED_LIMITS:
        raise IncidentError("vma", f"{parsed['vma']} km/h : le formulaire propose "
                                   + ", ".join(map(str, SPEED_LIMITS)))
    return CallForm(
        dep=parsed["dep"], com=parsed["com"], coordinates=coordinates, moment=moment, when=when,
        vehicles=_vehicle_counts(parsed["vehicles"] or ()), n_pedestrians=parsed["n_pedestrians"],
        n_people=parsed["n_people"], obs=parsed["obs"], col=parsed["col"], atm=parsed["atm"], lum=parsed["lum"],
        surf=parsed["surf"], catr=parsed["catr"], vma=parsed["vma"], agg=parsed["agg"],
        intersection=parsed["int"], people=_people_of(parsed["people"]),
    )


def _people_of(people: tuple[tuple[int | None, ...], ...] | None) -> tuple[tuple[int | None, ...], ...]:
    """The people the form can show (at most :data:`MAX_FORM_PEOPLE`); more than that is refused."""
    if people is not None and len(people) > MAX_FORM_PEOPLE:
        raise IncidentError("people", f"{len(people)} personnes décrites : le formulaire en montre "
                                      f"{MAX_FORM_PEOPLE}")
    return tuple(person for person in people or () if any(fact is not None for fact in person))


def _moment_of(parsed: Mapping[str, Any]) -> tuple[str, dt.datetime | None]:
    if parsed["year"] is None:
        return MOMENT_UNKNOWN, None
    if parsed["hour"] is None:
        raise IncidentError("datetime", "date sans heure : le formulaire attend une date et une heure")
    return MOMENT_OTHER, dt.datetime(parsed["year"], parsed["month"], parsed["day"], parsed["hour"],
                                     parsed["minute"] or 0)


def _degrees(value: float) -> str:
    """Decimal degrees to seven decimals, trailing zeros dropped (read back exactly by ``parse_coordinates``)."""
    return f"{value:.7f}".rstrip("0").rstrip(".")


def _vehicle_counts(codes: Collection[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for code in codes:
        if code not in _OFFERED_VEHICLES:
            raise IncidentError("vehicles", f"catégorie {code} absente du formulaire (code retiré en 2006)")
        counts[code] = counts.get(code, 0) + 1
    return counts


@dataclass(frozen=True)
class EcallPrefill:
    """What a pasted message gives the call form, and what to tell the operator beside it (French lines).

    Attributes
    ----------
    ecall : EcallIncident
        The message read and mapped.
    form : CallForm or None
        The form to show; None for a test call (the form is left as it is).
    facts : tuple of str
        What came from the message, one ``"Label : text"`` line per fact.
    unknown : tuple of str
        French names of the fields the message leaves unknown (for the caller to tell).
    signals : tuple of str
        What the model does not know but the operator should (automatic activation, propulsion).
    warnings : tuple of str
        What makes the estimate weaker (an untrusted position, a point at sea...).
    """

    ecall: EcallIncident
    form: CallForm | None
    facts: tuple[str, ...]
    unknown: tuple[str, ...]
    signals: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def test_call(self) -> bool:
        """The message is a test call: nothing to pre-fill, no estimate."""
        return self.form is None


def prefill_from_text(text: str | None, *, offered_communes: Callable[[str], Collection[str]] | None = None
                      ) -> EcallPrefill:
    """Read a pasted MSD and return the call form it fills, with its facts, unknowns, signals and warnings.

    Parameters
    ----------
    text : str
        The decoded MSD as JSON (flat or nested layout), as the API receives it.
    offered_communes : callable, optional
        The commune codes the form offers in a department; a commune it does not
        offer is left unknown, with a warning.

    Raises
    ------
    IncidentError
        Naming the wrong field (see :func:`read_pasted_msd`).

    Examples
    --------
    >>> prefill = prefill_from_text('{"automaticActivation": true, "testCall": false, "positionCanBeTrusted": true,'
    ...     ' "vehicleType": "heavyDutyVehiclesClassN2", "timestamp": 1593957600,'
    ...     ' "vehicleLocation": {"positionLatitude": 173222280, "positionLongitude": -6040080},'
    ...     ' "numberOfPassengers": 1}')
    >>> prefill.form.dep, prefill.form.moment, prefill.form.vehicles
    ('35', 'other', {13: 1})
    >>> prefill.facts[-2].endswith("autres véhicules inconnus) — dans la liste BAAC complète")
    True
    >>> prefill_from_text('{"automaticActivation": false, "testCall": true,'
    ...     ' "positionCanBeTrusted": true, "vehicleType": 1, "timestamp": 0,'
    ...     ' "vehicleLocation": {"positionLatitude": 0, "positionLongitude": 0}}').test_call
    True
    """
    ecall = read_pasted_msd(text)
    signals = tuple(signal["reason"] for signal in ecall.signals)
    if ecall.test_call:
        return EcallPrefill(ecall, None, (), (), signals, ())
    incident = {name: value for name, value in ecall.incident.items() if name != "id"}
    form = call_form_from_incident(incident)
    unknown = [field_label(item["field"]) if item["field"] in INCIDENT_FIELDS else item["label"]
               for item in ecall.summary()["unknown"]]  # the API's list, the coordinates as the form names them
    warnings = [warning["reason"] for warning in ecall.warnings]
    if form.com is not None and offered_communes is not None and form.com not in offered_communes(form.dep):
        warnings.append(f"commune {form.com} absente de la liste du formulaire (aucun accident enregistré) : "
                        "laissée inconnue, précisez-la avec l’appelant")
        form = replace(form, com=None)
        unknown.insert(0, field_label("com"))
    return EcallPrefill(ecall, form, tuple(_fact_line(fact) for fact in ecall.facts), tuple(dict.fromkeys(unknown)),
                        signals, tuple(warnings))


def _fact_line(fact: Mapping[str, Any]) -> str:
    line = f"{fact['label']} : {fact['text']}"
    if fact["field"] == "vehicles" and not _EVERYDAY_CODES.issuperset(fact["value"]):
        line += " — dans la liste BAAC complète"
    return line

