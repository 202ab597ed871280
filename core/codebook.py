"""Official BAAC codes and their French labels, in one table.

Ingest uses this table to decide which codes are valid, pages use it for the
labels shown to users, and the model uses it for its categories, so that the
three never disagree.

Source: ONISR, *Description des bases de données annuelles des accidents
corporels de la circulation routière*, edition "Années de 2005 à 2024"
(21 October 2025) for the 2019+ codes, and edition "Années de 2005 à 2018"
(14 October 2018) for codes used only before 2019. Labels are copied verbatim
from the latest edition (accents, capitalisation and typography as printed,
e.g. "Voie Communales", "par le coté"), except where noted in a comment.

The table holds the union of both editions. A code printed in the latest
edition carries its latest label; a code printed only in the 2005-2018 edition
keeps its old label and is marked ``# pre-2019 only``. Codes whose meaning
changed are listed in :data:`MEANING_CHANGED`.

Unknown-value rule
------------------
The files write "not filled in" as ``-1`` (2019+), ``0``, an empty cell or a
dot (all years). :func:`normalise_code` therefore maps

* ``None`` (empty cell, NaN) -> ``None``;
* ``-1`` -> ``None``;
* ``0`` -> ``None``, unless 0 is a defined code of that variable in the latest
  edition (``obs`` 0 "Sans objet", ``obsm`` 0 "Aucun", ``catv`` 0
  "Indéterminable"...). ``trajet`` 0 is printed as "Non renseigné", so it is
  treated as missing too;
* any other value -> itself, known or not. Unknown codes are kept so that
  ingest can count them with :func:`is_known` and decide what to do.

Before 2019, 0 was the generic "non renseigné ou sans objet" of every
variable. The 2019+ meaning of 0 is close for most variables (``obs`` 0 for a
vehicle that hit no fixed obstacle), but not identical: see
:data:`MEANING_CHANGED`.
"""

from __future__ import annotations

import math
from typing import Final

# --------------------------------------------------------------------------- #
# Accident level: CARACTERISTIQUES
# --------------------------------------------------------------------------- #

LUM: Final[dict[int, str]] = {
    1: "Plein jour",
    2: "Crépuscule ou aube",
    3: "Nuit sans éclairage public",
    4: "Nuit avec éclairage public non allumé",
    5: "Nuit avec éclairage public allumé",
}

AGG: Final[dict[int, str]] = {
    1: "Hors agglomération",
    2: "En agglomération",
}

INT: Final[dict[int, str]] = {
    1: "Hors intersection",
    2: "Intersection en X",
    3: "Intersection en T",
    4: "Intersection en Y",
    5: "Intersection à plus de 4 branches",
    6: "Giratoire",
    7: "Place",
    8: "Passage à niveau",
    9: "Autre intersection",
}

ATM: Final[dict[int, str]] = {
    1: "Normale",
    2: "Pluie légère",
    3: "Pluie forte",
    4: "Neige - grêle",
    5: "Brouillard - fumée",
    6: "Vent fort - tempête",
    7: "Temps éblouissant",
    8: "Temps couvert",
    9: "Autre",
}

COL: Final[dict[int, str]] = {
    1: "Deux véhicules - frontale",
    2: "Deux véhicules – par l’arrière",
    3: "Deux véhicules – par le coté",
    4: "Trois véhicules et plus – en chaîne",
    5: "Trois véhicules et plus - collisions multiples",
    6: "Autre collision",
    7: "Sans collision",
}

# --------------------------------------------------------------------------- #
# Accident level: LIEUX
# --------------------------------------------------------------------------- #

CATR: Final[dict[int, str]] = {
    1: "Autoroute",
    2: "Route nationale",  # 2005-2018 edition: "Route Nationale"
    3: "Route Départementale",
    4: "Voie Communales",  # sic (2019+ editions); 2005-2018: "Voie Communale"
    5: "Hors réseau public",
    6: "Parc de stationnement ouvert à la circulation publique",
    7: "Routes de métropole urbaine",  # new in the 2019+ editions
    9: "autre",
}

CIRC: Final[dict[int, str]] = {
    1: "A sens unique",
    2: "Bidirectionnelle",
    3: "A chaussées séparées",
    4: "Avec voies d’affectation variable",
}

VOSP: Final[dict[int, str]] = {
    0: "Sans objet",
    1: "Piste cyclable",
    2: "Bande cyclable",  # 2005-2018 edition misprints "Banque cyclable"
    3: "Voie réservée",
}

PROF: Final[dict[int, str]] = {
    1: "Plat",
    2: "Pente",
    3: "Sommet de côte",
    4: "Bas de côte",
}

PLAN: Final[dict[int, str]] = {
    1: "Partie rectiligne",
    2: "En courbe à gauche",
    3: "En courbe à droite",
    4: "En « S »",
}

SURF: Final[dict[int, str]] = {  # 2005-2018 edition: same codes, lower case
    1: "Normale",
    2: "Mouillée",
    3: "Flaques",
    4: "Inondée",
    5: "Enneigée",
    6: "Boue",
    7: "Verglacée",
    8: "Corps gras – huile",
    9: "Autre",
}

INFRA: Final[dict[int, str]] = {
    0: "Aucun",
    1: "Souterrain - tunnel",
    2: "Pont - autopont",
    3: "Bretelle d’échangeur ou de raccordement",
    4: "Voie ferrée",
    5: "Carrefour aménagé",
    6: "Zone piétonne",
    7: "Zone de péage",
    8: "Chantier",  # new in 2019
    9: "Autres",  # new in 2019
}

SITU: Final[dict[int, str]] = {
    0: "Aucun",
    1: "Sur chaussée",
    2: "Sur bande d’arrêt d’urgence",
    3: "Sur accotement",
    4: "Sur trottoir",
    5: "Sur piste cyclable",
    6: "Sur autre voie spéciale",  # new in 2019
    8: "Autres",  # new in 2019
}

# --------------------------------------------------------------------------- #
# Vehicle level: VEHICULES
# --------------------------------------------------------------------------- #

SENC: Final[dict[int, str]] = {
    0: "Inconnu",
    1: "PK ou PR ou numéro d’adresse postale croissant",
    2: "PK ou PR ou numéro d’adresse postale décroissant",
    3: "Absence de repère",  # new in 2019
}

# The retired codes (04-06, 08, 09, 11, 12, 18, 19) are still printed in the
# latest edition, as "Référence inutilisée depuis 2006 (...)"; the 2005-2018
# edition says "Référence plus utilisée depuis 2006 (...)" or, for 08 and 09,
# "Catégorie plus utilisée (...)". None of them occurs in the 2005-2020 data.
CATV: Final[dict[int, str]] = {
    0: "Indéterminable",  # new in 2019
    1: "Bicyclette",
    2: "Cyclomoteur <50cm3",
    3: 'Voiturette (Quadricycle à moteur carrossé) (anciennement "voiturette ou tricycle à moteur")',
    4: "Référence inutilisée depuis 2006 (scooter immatriculé)",  # pre-2019 only
    5: "Référence inutilisée depuis 2006 (motocyclette)",  # pre-2019 only
    6: "Référence inutilisée depuis 2006 (side-car)",  # pre-2019 only
    7: "VL seul",
    8: "Référence inutilisée depuis 2006 (VL + caravane)",  # pre-2019 only
    9: "Référence inutilisée depuis 2006 (VL + remorque)",  # pre-2019 only
    10: "VU seul 1,5T <= PTAC <= 3,5T avec ou sans remorque (anciennement VU seul 1,5T <= PTAC <= 3,5T)",
    11: "Référence inutilisée depuis 2006 (VU (10) + caravane)",  # pre-2019 only
    12: "Référence inutilisée depuis 2006 (VU (10) + remorque)",  # pre-2019 only
    13: "PL seul 3,5T <PTCA <= 7,5T",
    14: "PL seul > 7,5T",
    15: "PL > 3,5T + remorque",
    16: "Tracteur routier seul",
    17: "Tracteur routier + semi-remorque",
    18: "Référence inutilisée depuis 2006 (transport en commun)",  # pre-2019 only
    19: "Référence inutilisée depuis 2006 (tramway)",  # pre-2019 only
    20: "Engin spécial",
    21: "Tracteur agricole",
    30: "Scooter < 50 cm3",
    31: "Motocyclette > 50 cm 3 et <= 125 cm3",
    32: "Scooter > 50 cm3 et <= 125 cm3",
    33: "Motocyclette > 125 cm 3",
    34: "Scooter > 125 cm3",
    35: "Quad léger <= 50 cm 3 (Quadricycle à moteur non carrossé)",
    36: "Quad lourd > 50 cm 3 (Quadricycle à moteur non carrossé)",
    37: "Autobus",
    38: "Autocar",
    39: "Train",
    40: "Tramway",
    41: "3RM <= 50 cm3",  # new in 2019
    42: "3RM > 50 cm3 <= 125 cm3",  # new in 2019
    43: "3RM > 125 cm3",  # new in 2019
    50: "EDP à moteur",  # new in 2019
    60: "EDP sans moteur",  # new in 2019
    80: "VAE",  # new in 2019
    # Meaning changed: in 2018, 99 also covered rollers and scooters ("engins
    # de déplacement personnel", formerly catu 4); from 2019 those are 50/60.
    99: "Autre véhicule",
}

OBS: Final[dict[int, str]] = {
    0: "Sans objet",
    1: "Véhicule en stationnement",
    2: "Arbre",
    3: "Glissière métallique",
    4: "Glissière béton",
    5: "Autre glissière",
    6: "Bâtiment, mur, pile de pont",
    7: "Support de signalisation verticale ou poste d’appel d’urgence",
    8: "Poteau",
    9: "Mobilier urbain",
    10: "Parapet",
    11: "Ilot, refuge, borne haute",
    12: "Bordure de trottoir",
    13: "Fossé, talus, paroi rocheuse",
    14: "Autre obstacle fixe sur chaussée",
    15: "Autre obstacle fixe sur trottoir ou accotement",
    16: "Sortie de chaussée sans obstacle",
    17: "Buse – tête d’aqueduc",  # new in 2019
}

OBSM: Final[dict[int, str]] = {
    0: "Aucun",
    1: "Piéton",
    2: "Véhicule",
    4: "Véhicule sur rail",
    5: "Animal domestique",
    6: "Animal sauvage",
    9: "Autre",
}

CHOC: Final[dict[int, str]] = {
    0: "Aucun",
    1: "Avant",
    2: "Avant droit",
    3: "Avant gauche",
    4: "Arrière",
    5: "Arrière droit",
    6: "Arrière gauche",
    7: "Côté droit",
    8: "Côté gauche",
    9: "Chocs multiples (tonneaux)",
}

# Codes 11-18 are printed as "A gauche" / "A droite" under a heading
# ("Changeant de file", "Déporté", "Tournant", "Dépassant"); the heading is
# prefixed here so that each label stands on its own.
MANV: Final[dict[int, str]] = {
    0: "Inconnue",
    1: "Sans changement de direction",
    2: "Même sens, même file",
    3: "Entre 2 files",
    4: "En marche arrière",
    5: "A contresens",
    6: "En franchissant le terre-plein central",
    7: "Dans le couloir bus, dans le même sens",
    8: "Dans le couloir bus, dans le sens inverse",
    9: "En s’insérant",
    10: "En faisant demi-tour sur la chaussée",
    11: "Changeant de file – A gauche",
    12: "Changeant de file – A droite",
    13: "Déporté – A gauche",
    14: "Déporté – A droite",
    15: "Tournant – A gauche",
    16: "Tournant – A droite",
    17: "Dépassant – A gauche",
    18: "Dépassant – A droite",
    19: "Traversant la chaussée",
    20: "Manœuvre de stationnement",
    21: "Manœuvre d’évitement",
    22: "Ouverture de porte",
    23: "Arrêté (hors stationnement)",
    # The 2019+ editions drop the closing parenthesis; 2005-2018 has it.
    24: "En stationnement (avec occupants)",
    25: "Circulant sur trottoir",  # new in 2019
    26: "Autres manœuvres",  # new in 2019
}

MOTOR: Final[dict[int, str]] = {  # variable new in 2019
    0: "Inconnue",
    1: "Hydrocarbures",
    2: "Hybride électrique",
    3: "Electrique",
    4: "Hydrogène",
    5: "Humaine",
    6: "Autre",
}

# --------------------------------------------------------------------------- #
# User level: USAGERS
# --------------------------------------------------------------------------- #

# The codebook gives places 1-9 only as a seating diagram, without words:
# car seen from above, front to the right, rows "4 7 1 / 5 8 6 / 3 9 2"
# (1 = driver's seat, 2 = front passenger); two-wheeler: 1 rider, 2 pillion,
# 3 side-car. The labels below are therefore neutral "Place N".
PLACE: Final[dict[int, str]] = {
    **{n: f"Place {n}" for n in range(1, 10)},
    10: "Piéton (non applicable)",  # new in 2019
}

CATU: Final[dict[int, str]] = {
    1: "Conducteur",
    2: "Passager",
    3: "Piéton",
    # Moved in 2018 to vehicles (catv 99, then 50/60 from 2019).
    4: "Piéton en roller ou en trottinette",  # pre-2019 only
}

GRAV: Final[dict[int, str]] = {
    1: "Indemne",
    2: "Tué",
    3: "Blessé hospitalisé",
    4: "Blessé léger",
}

SEXE: Final[dict[int, str]] = {
    1: "Masculin",
    2: "Féminin",
}

# 0 is printed as "Non renseigné" in the 2019+ editions: treated as missing.
TRAJET: Final[dict[int, str]] = {
    1: "Domicile – travail",
    2: "Domicile – école",
    3: "Courses – achats",
    4: "Utilisation professionnelle",
    5: "Promenade – loisirs",
    9: "Autre",
}

# 2019+ list shared by secu1, secu2 and secu3. Before 2019 the variable was a
# single two-digit ``secu``: see secu_pre2019_to_secu1.
SECU: Final[dict[int, str]] = {
    0: "Aucun équipement",
    1: "Ceinture",
    2: "Casque",
    3: "Dispositif enfants",
    4: "Gilet réfléchissant",
    5: "Airbag (2RM/3RM)",
    6: "Gants (2RM/3RM)",
    7: "Gants + Airbag (2RM/3RM)",
    8: "Non déterminable",
    9: "Autre",
}

# Codes 1-4 are printed under the headings "Sur chaussée" and "Sur passage
# piéton"; the heading is prefixed here so that each label stands on its own.
LOCP: Final[dict[int, str]] = {
    0: "Sans objet",
    1: "Sur chaussée – A + 50 m du passage piéton",
    2: "Sur chaussée – A – 50 m du passage piéton",
    3: "Sur passage piéton – Sans signalisation lumineuse",
    4: "Sur passage piéton – Avec signalisation lumineuse",
    5: "Sur trottoir",
    6: "Sur accotement",
    7: "Sur refuge ou BAU",
    8: "Sur contre allée",
    9: "Inconnue",  # new in 2019
}

ETATP: Final[dict[int, str]] = {
    1: "Seul",
    2: "Accompagné",
    3: "En groupe",
}

#: ``actp`` mixes digits and, from 2019, letters, so its keys are strings.
#: "0" is printed as "Non renseigné ou sans objet" in both editions (it is the
#: value of every user who is not a pedestrian) and is kept; "-1" is not.
#: The 2019-2020 files also hold "7" and "8", which no edition defines.
ACTP_LABELS: Final[dict[str, str]] = {
    "0": "Non renseigné ou sans objet",
    "1": "Se déplaçant – Sens véhicule heurtant",
    "2": "Se déplaçant – Sens inverse du véhicule",
    "3": "Traversant",
    "4": "Masqué",
    "5": "Jouant – courant",
    "6": "Avec animal",
    "9": "Autre",
    "A": "Monte/descend du véhicule",  # new in 2019
    "B": "Inconnue",  # new in 2019
}

#: Variable name (as in the BAAC files) -> {code -> official French label}.
CODEBOOK: Final[dict[str, dict[int, str]]] = {
    "lum": LUM,
    "agg": AGG,
    "int": INT,
    "atm": ATM,
    "col": COL,
    "catr": CATR,
    "circ": CIRC,
    "surf": SURF,
    "situ": SITU,
    "vosp": VOSP,
    "prof": PROF,
    "plan": PLAN,
    "infra": INFRA,
    "catu": CATU,
    "grav": GRAV,
    "sexe": SEXE,
    "trajet": TRAJET,
    "secu1": SECU,
    "locp": LOCP,
    "etatp": ETATP,
    "place": PLACE,
    "catv": CATV,
    "obs": OBS,
    "obsm": OBSM,
    "choc": CHOC,
    "manv": MANV,
    "senc": SENC,
    "motor": MOTOR,
}

# secu2 and secu3 use the secu1 list.
_ALIASES: Final[dict[str, str]] = {"secu2": "secu1", "secu3": "secu1"}

_ZERO_WAS_BLANK = (
    "before 2019, 0 was the generic blank ('non renseigné ou sans objet'); "
    "from 2019, 0 is the defined code '{label}' and -1 is the blank"
)

#: Variable -> short note on codes whose meaning changed between editions.
MEANING_CHANGED: Final[dict[str, str]] = {
    "catv": (
        "99 'Autre véhicule' also covered rollers and scooters (engins de "
        "déplacement personnel) in 2018; from 2019 these are 50/60 and "
        "electric bicycles are 80 (VAE). 0 'Indéterminable' exists from 2019."
    ),
    "catu": (
        "4 'Piéton en roller ou en trottinette' was used until 2017; from 2018 "
        "such users are vehicles (catv 99, then 50/60 from 2019)."
    ),
    "grav": (
        "3 'Blessé hospitalisé' is not comparable before and after 2018 "
        "(change in how the police record it; no longer an official "
        "labelled statistic from 2019)."
    ),
    "secu1": (
        "before 2019 a single two-digit 'secu' (equipment, then used or not); "
        "from 2019 up to three equipment codes actually used (secu1..secu3)."
    ),
    "actp": "letter codes A and B added in 2019.",
    **{
        variable: _ZERO_WAS_BLANK.format(label=labels[0])
        for variable, labels in (
            ("vosp", VOSP),
            ("infra", INFRA),
            ("situ", SITU),
            ("senc", SENC),
            ("obs", OBS),
            ("obsm", OBSM),
            ("choc", CHOC),
            ("manv", MANV),
            ("locp", LOCP),
        )
    },
}

# --------------------------------------------------------------------------- #
# Groupings and constants
# --------------------------------------------------------------------------- #

GRAV_UNHARMED: Final = 1  # "Indemne"
GRAV_KILLED: Final = 2  # "Tué"
GRAV_HOSPITALISED: Final = 3  # "Blessé hospitalisé"
GRAV_LIGHT: Final = 4  # "Blessé léger"
#: From 2018 the police record "blessé hospitalisé" differently (ONISR): counts of hospitalised people, and so
#: of severe accidents, are not comparable across it.
HOSPITALISATION_BREAK_YEAR: Final = 2018
#: What every table or chart of hospitalised counts across the break says.
HOSPITALISED_NOT_COMPARABLE: Final = (
    f"« Blessé hospitalisé » n'est pas comparable avant et après {HOSPITALISATION_BREAK_YEAR} (changement de "
    "définition de l'indicateur par l'ONISR)."
)

PEDESTRIAN_CATU: Final = 3  # catu 3 "Piéton"

# Highest speed limit in France (km/h): vma above it is not a speed limit.
MAX_SPEED_LIMIT: Final = 130

# catv 01 "Bicyclette", 80 "VAE" (vélo à assistance électrique, 2019+).
BICYCLE_CATV: Final = frozenset({1, 80})

# Powered two-wheelers: catv 02 "Cyclomoteur <50cm3", 30-34 scooters and
# motocyclettes, and the codes retired in 2006: 04 "scooter immatriculé",
# 05 "motocyclette", 06 "side-car". Three-wheelers (41-43 "3RM") and
# motorised personal transporters (50 "EDP à moteur") are not included.
TWO_WHEELER_CATV: Final = frozenset({2, 4, 5, 6, 30, 31, 32, 33, 34})

# Heavy goods vehicles: catv 13-15 "PL" (> 3,5 t) and 16-17 "Tracteur
# routier". No retired (pre-2019) code denotes a heavy goods vehicle.
HGV_CATV: Final = frozenset({13, 14, 15, 16, 17})

# Light vehicles (VL): catv 07 "VL seul" and the codes retired in 2006,
# 08 "VL + caravane" and 09 "VL + remorque".
LIGHT_VEHICLE_CATV: Final = frozenset({7, 8, 9})

VEHICLE_GROUP_LABELS: Final[dict[str, str]] = {
    "pedestrian": "Piéton",
    "bicycle": "Vélo",
    "two_wheeler": "Deux-roues motorisé",
    "light_vehicle": "Véhicule léger",
    "hgv": "Poids lourd",
    "other": "Autre",
}

_CATV_GROUPS: Final[tuple[tuple[str, frozenset[int]], ...]] = (
    ("bicycle", BICYCLE_CATV),
    ("two_wheeler", TWO_WHEELER_CATV),
    ("light_vehicle", LIGHT_VEHICLE_CATV),
    ("hgv", HGV_CATV),
)

WEEKDAY_LABELS: Final[dict[int, str]] = {
    0: "Lundi",
    1: "Mardi",
    2: "Mercredi",
    3: "Jeudi",
    4: "Vendredi",
    5: "Samedi",
    6: "Dimanche",
}

MONTH_LABELS: Final[dict[int, str]] = {
    1: "Janvier",
    2: "Février",
    3: "Mars",
    4: "Avril",
    5: "Mai",
    6: "Juin",
    7: "Juillet",
    8: "Août",
    9: "Septembre",
    10: "Octobre",
    11: "Novembre",
    12: "Décembre",
}

MISSING_LABEL: Final = "Non renseigné"

# --------------------------------------------------------------------------- #
# Functions
# --------------------------------------------------------------------------- #


def codes_of(variable: str) -> dict[int, str]:
    """Return the code -> label table of a BAAC variable.

    Parameters
    ----------
    variable : str
        BAAC variable name, e.g. ``"atm"``; ``"secu2"`` and ``"secu3"`` share
        the ``"secu1"`` table.

    Returns
    -------
    dict[int, str]
        The table itself (do not modify it).

    Raises
    ------
    KeyError
        If the variable is not in the codebook (``actp`` has string codes:
        use :data:`ACTP_LABELS`).

    Examples
    --------
    >>> codes_of("agg")[2]
    'En agglomération'
    """
    name = _ALIASES.get(variable, variable)
    try:
        return CODEBOOK[name]
    except KeyError:
        known = ", ".join(sorted([*CODEBOOK, *_ALIASES]))
        raise KeyError(f"{variable!r} is not a coded BAAC variable; known variables: {known}") from None


def valid_codes(variable: str) -> frozenset[int]:
    """Return the set of defined codes of a variable.

    Examples
    --------
    >>> sorted(valid_codes("agg"))
    [1, 2]
    >>> 0 in valid_codes("obs"), 0 in valid_codes("atm")
    (True, False)
    """
    return frozenset(codes_of(variable))


def is_known(variable: str, code: int | None) -> bool:
    """Tell whether ``code`` is a defined code of ``variable``.

    ``None`` and ``-1`` are never known codes.

    Examples
    --------
    >>> is_known("catv", 80), is_known("catv", 22)
    (True, False)
    """
    return code is not None and code in codes_of(variable)


def _as_int(value: int | float | None) -> int | None:
    """Turn an integral float (as read by pandas) into int and NaN into None."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise TypeError(f"BAAC codes are integers, got {value!r}")
        return int(value)
    return int(value)


def normalise_code(variable: str, value: int | None) -> int | None:
    """Apply the unknown-value rule to one raw value.

    Parameters
    ----------
    variable : str
        BAAC variable name.
    value : int or None
        Raw value; an integral float (``2.0``) or NaN, as read by pandas, is
        accepted too.

    Returns
    -------
    int or None
        ``None`` for a missing value (``None``, NaN, ``-1``, or ``0`` when 0 is
        not a code of the variable); otherwise ``value`` unchanged, whether
        known or not (check with :func:`is_known`).

    Examples
    --------
    >>> normalise_code("atm", -1) is None, normalise_code("atm", 0) is None
    (True, True)
    >>> normalise_code("obs", 0), normalise_code("atm", 2), normalise_code("atm", 42)
    (0, 2, 42)
    """
    table = codes_of(variable)
    code = _as_int(value)
    if code is None or code == -1 or (code == 0 and 0 not in table):
        return None
    return code


def label(variable: str, code: int | None) -> str:
    """Return the official French label of a code.

    Parameters
    ----------
    variable : str
        BAAC variable name.
    code : int or None
        Raw or normalised value.

    Returns
    -------
    str
        The label; ``"Non renseigné"`` for a missing value (see
        :func:`normalise_code`); ``"Code {code} inconnu"`` for a code that is
        not in the codebook.

    Examples
    --------
    >>> label("grav", 2)
    'Tué'
    >>> label("atm", None), label("atm", -1)
    ('Non renseigné', 'Non renseigné')
    >>> label("catv", 22)
    'Code 22 inconnu'
    """
    normalised = normalise_code(variable, code)
    if normalised is None:
        return MISSING_LABEL
    return codes_of(variable).get(normalised, f"Code {normalised} inconnu")


def secu_pre2019_to_secu1(secu: int | None) -> int | None:
    """Map a pre-2019 two-digit ``secu`` into the 2019+ ``secu1`` scheme.

    Before 2019 the first digit is the equipment present (1 Ceinture,
    2 Casque, 3 Dispositif enfants, 4 Equipement réfléchissant, 9 Autre) and
    the second whether it was used (1 Oui, 2 Non, 3 Non déterminable).

    Parameters
    ----------
    secu : int or None
        Raw pre-2019 value (an integral float or NaN is accepted).

    Returns
    -------
    int or None
        * used (second digit 1) -> the same equipment in the 2019+ list:
          1 Ceinture, 2 Casque, 3 Dispositif enfants, 4 Gilet réfléchissant,
          9 Autre;
        * not used (2) -> 0 "Aucun équipement";
        * not determinable (3) -> 8 "Non déterminable";
        * missing (None, NaN, 0, -1) or any other pattern -> None.

    Notes
    -----
    The 2005-2018 files also hold one-digit values 1, 2 and 3 (mostly in
    2018, mostly pedestrians): read as equipment 0 (none stated) with the
    usage digit. 2 and 3 map as above; 1 ("used", equipment unknown) gives
    None.

    Examples
    --------
    >>> secu_pre2019_to_secu1(11), secu_pre2019_to_secu1(21)
    (1, 2)
    >>> secu_pre2019_to_secu1(42), secu_pre2019_to_secu1(93)
    (0, 8)
    >>> secu_pre2019_to_secu1(None) is None
    True
    """
    code = _as_int(secu)
    if code is None or not 1 <= code <= 99:
        return None
    equipment, used = divmod(code, 10)
    if equipment not in (0, 1, 2, 3, 4, 9):
        return None
    if used == 1:
        return equipment or None
    if used == 2:
        return 0
    if used == 3:
        return 8
    return None


def vehicle_group(catv: int | None) -> str | None:
    """Return the group key of a vehicle category, for filters and the model.

    Parameters
    ----------
    catv : int or None
        BAAC vehicle category.

    Returns
    -------
    str or None
        ``"bicycle"``, ``"two_wheeler"``, ``"light_vehicle"``, ``"hgv"``,
        ``"other"`` for any other code, or ``None`` when missing or 0
        "Indéterminable". Pedestrians
        are users, not vehicles: test ``catu == PEDESTRIAN_CATU``.

    Examples
    --------
    >>> vehicle_group(80), vehicle_group(33), vehicle_group(37)
    ('bicycle', 'two_wheeler', 'other')
    """
    code = normalise_code("catv", catv)
    if code is None or code == 0:
        return None
    for group, codes in _CATV_GROUPS:
        if code in codes:
            return group
    return "other"
