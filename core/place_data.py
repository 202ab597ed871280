"""The overseas collectivities, which the INSEE reference files leave out: codes, names, communes, boxes.

Data, not code: :mod:`core.places` adds these tables to what it reads from
``assets/ref`` and ``assets/departements.geojson``, which cover the
departments only. Kept by hand, as found in BAAC 2005-2020.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

#: Overseas collectivities present in BAAC from 2019 (INSEE codes and names).
OVERSEAS_COLLECTIVITIES: Final[dict[str, str]] = {
    "975": "Saint-Pierre-et-Miquelon",
    "977": "Saint-Barthélemy",
    "978": "Saint-Martin",
    "986": "Wallis-et-Futuna",
    "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
}

# Communes of the smaller collectivities (INSEE codes, as found in BAAC 2005-2020).
# Those of 987 and 988 (48 and 33 communes) are not listed: :func:`core.places.commune_name` gives None.
COLLECTIVITY_COMMUNES: Final[dict[str, tuple[str, str]]] = {
    "97501": ("Miquelon-Langlade", "975"),
    "97502": ("Saint-Pierre", "975"),
    "97701": ("Saint-Barthélemy", "977"),
    "97801": ("Saint-Martin", "978"),
    "98611": ("Alo", "986"),
    "98612": ("Sigave", "986"),
    "98613": ("Uvea", "986"),
    # Codes of the two islands while they were communes of Guadeloupe (until 2007).
    "97123": ("Saint-Barthélemy", "971"),
    "97127": ("Saint-Martin", "971"),
}

# Approximate boxes (min_lon, min_lat, max_lon, max_lat) of the collectivities,
# which the GeoJSON lacks: hand-drawn around the inhabited islands, a little wide.
COLLECTIVITY_BBOXES: Final[dict[str, tuple[float, float, float, float]]] = {
    "975": (-56.45, 46.74, -56.10, 47.15),
    "977": (-62.96, 17.86, -62.78, 17.98),
    "978": (-63.16, 18.00, -62.96, 18.13),
    "986": (-178.25, -14.40, -176.10, -13.15),
    "987": (-154.80, -28.00, -134.30, -7.70),
    "988": (163.50, -22.90, 168.20, -19.40),
}


#: Local time of the overseas departments and collectivities (IANA names); the rest of France: MAINLAND_TIME_ZONE.
#: French Polynesia's Marquesas and Gambier have zones of their own (see core.ecall.locate.time_zone).
TIME_ZONES: Final[dict[str, str]] = {
    "971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
    "974": "Indian/Reunion", "975": "America/Miquelon", "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy", "978": "America/Marigot", "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti", "988": "Pacific/Noumea",
}
MAINLAND_TIME_ZONE: Final = "Europe/Paris"
#: French time, in which what the app dates for people (reports, exports) is written.
FRENCH_TIME: Final = ZoneInfo(MAINLAND_TIME_ZONE)
