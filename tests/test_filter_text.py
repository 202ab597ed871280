"""The filter in words (core.filter_text), as exports and the planning report write it.

Expected lines are written here from the official wording (codebook labels, INSEE names), never taken
from a run of the code.
"""

from __future__ import annotations

import pytest

from core.filter_fields import FIELDS
from core.filter_text import filter_lines
from core.filters import AccidentFilter, read_params

DATA_YEARS = (2005, 2020)


def test_an_open_filter_still_says_which_years() -> None:
    assert filter_lines(AccidentFilter(), data_years=DATA_YEARS) == ["Années : 2005–2020"]
    assert filter_lines(AccidentFilter(), data_years=(2005, 2024)) == ["Années : 2005–2024"]
    assert filter_lines(AccidentFilter(years=(2019, 2020)), data_years=DATA_YEARS) == ["Années : 2019–2020"]
    assert filter_lines(AccidentFilter(years=(2019, 2019)), data_years=DATA_YEARS) == ["Années : 2019"]


def test_every_kind_of_field_in_the_forms_words() -> None:
    accident_filter = AccidentFilter(
        years=(2016, 2020), regions=("94",), deps=("48",), atm=(2, 3), lum=(3,), surf=(2,), agg=(1,), catr=(3,),
        col=(7,), hours=(22, 4), weekdays=(5, 6), months=(1, 12), involves=("bicycle",), outcome="fatal",
        user_categories=(3,), vehicle_groups=("hgv",), age_groups=("75+",),
    )
    assert filter_lines(accident_filter, data_years=DATA_YEARS) == [
        "Années : 2016–2020",
        "Régions : Corse",
        "Départements : 48 – Lozère",
        "Conditions atmosphériques : Pluie légère, Pluie forte",
        "Lumière : Nuit sans éclairage public",
        "État de la surface : Mouillée",
        "Localisation : Hors agglomération",
        "Catégorie de route : Route Départementale",
        "Type de collision : Sans collision",
        "Heures : 22 h – 4 h",
        "Jours : Samedi, Dimanche",
        "Mois : Janvier, Décembre",
        "Impliquant : Vélo",
        "Gravité : Mortels",
        "Catégorie d'usager : Piéton",
        "Catégorie de véhicule : Poids lourd",
        "Âge : 75+ ans",
    ]


@pytest.mark.parametrize(("hours", "line"), [((8, 8), "Heures : 8 h"), ((8, 17), "Heures : 8 h – 17 h"),
                                             ((23, 2), "Heures : 23 h – 2 h")])
def test_hours_are_written_as_a_clock_range(hours: tuple[int, int], line: str) -> None:
    assert filter_lines(AccidentFilter(hours=hours), data_years=DATA_YEARS) == ["Années : 2005–2020", line]


def test_all_fields_lists_the_open_ones_in_the_forms_order() -> None:
    lines = filter_lines(AccidentFilter(lum=(1,), outcome="severe"), data_years=DATA_YEARS, all_fields=True)
    assert [line.split(" : ")[0] for line in lines] == [f.label for f in FIELDS]
    assert "Lumière : Plein jour" in lines and "Gravité : Tué ou blessé hospitalisé" in lines
    assert {"Régions : toutes", "Départements : tous", "Impliquant : tous usagers", "Catégorie de véhicule : toutes",
            "Heures : tous"} <= set(lines)
    assert len(lines) == len(set(lines)) == len(FIELDS)


def test_a_shared_link_reads_as_the_same_words() -> None:
    """A filter read from a link (values as text, one unknown code set aside) writes what the link applies."""
    accident_filter, notes = read_params({"deps": "2A,974", "lum": "5,42", "years": "2018-2020"}, years=DATA_YEARS)
    assert notes  # the unknown light code 42 is set aside
    assert filter_lines(accident_filter, data_years=DATA_YEARS) == [
        "Années : 2018–2020", "Départements : 2A – Corse-du-Sud, 974 – La Réunion",
        "Lumière : Nuit avec éclairage public allumé",
    ]
