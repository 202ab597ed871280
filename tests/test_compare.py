"""Comparison of two areas or two periods (core.explore.compare) on the real store, and its intervals.

Expected counts come from independent SQL over the store's ``users`` table
(victims by their own ``grav``), not from the ``accidents`` victim counts the
comparison reads; intervals are checked against published values, scipy's
exact binomial interval and a simulation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from core.explore import compare_display
from core.explore.compare import CompareChoice, compare, read_choice
from core.explore.intervals import rate_ratio, share_difference
from core.filters import AccidentFilter

DATA_YEARS = (2005, 2020)
HAUTS_DE_FRANCE = ("02", "59", "60", "62", "80")  # INSEE region 32, written out here


def _oracle(con, deps: tuple[str, ...], years: tuple[int, int]) -> dict[str, int]:
    """Accidents, killed, hospitalised and severe accidents of ``deps`` over ``years``, from the people."""
    row = con.execute(
        """
        WITH chosen AS (SELECT acc_id FROM accidents WHERE list_contains(?, dep) AND year BETWEEN ? AND ?),
             victims AS (SELECT u.acc_id, count(*) FILTER (WHERE grav = 2) AS killed,
                                count(*) FILTER (WHERE grav = 3) AS hospitalised
                         FROM users u JOIN chosen USING (acc_id) GROUP BY u.acc_id)
        SELECT (SELECT count(*) FROM chosen), sum(killed), sum(hospitalised),
               count(*) FILTER (WHERE killed + hospitalised > 0)
        FROM victims
        """,
        [list(deps), *years],
    ).fetchone()
    return dict(zip(("accidents", "killed", "hospitalised", "severe_accidents"), map(int, row), strict=True))


def _figures(side) -> dict[str, int]:
    f = side.figures
    return {"accidents": f.accidents, "killed": f.killed, "hospitalised": f.hospitalised,
            "severe_accidents": f.severe_accidents}


def _by_label(comparison) -> dict:
    return {d.label: d for d in comparison.differences}


def test_two_departments_match_independent_sql(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(deps=("59",)), AccidentFilter(deps=("62",)))
    result = compare(store_con, AccidentFilter(years=(2019, 2020)), choice, data_years=DATA_YEARS)
    assert _figures(result.a) == _oracle(store_con, ("59",), (2019, 2020))
    assert _figures(result.b) == _oracle(store_con, ("62",), (2019, 2020))
    assert (result.a.label, result.b.label, result.a.years) == ("Nord", "Pas-de-Calais", (2019, 2020))
    per_year = dict(store_con.execute(
        "SELECT year, count(*) FROM accidents WHERE dep = '59' AND year IN (2019, 2020) GROUP BY year").fetchall())
    assert dict(zip(result.a.by_year["year"], result.a.by_year["accidents"], strict=True)) == per_year
    assert result.hospitalisation_comparable and not result.overlap and not result.identical
    accidents = _by_label(result)["Accidents par an"]
    assert accidents.values == (result.a.figures.accidents / 2, result.b.figures.accidents / 2)


def test_a_region_counts_its_departments(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(regions=("32",)), AccidentFilter(deps=("75",)))
    result = compare(store_con, AccidentFilter(years=(2020, 2020)), choice, data_years=DATA_YEARS)
    assert _figures(result.a) == _oracle(store_con, HAUTS_DE_FRANCE, (2020, 2020))
    assert result.a.label == "Hauts-de-France"


def test_two_periods_of_one_department_match_independent_sql_and_skip_hospitalised_across_2018(store_con) -> None:
    choice = CompareChoice("period", AccidentFilter(years=(2016, 2017)), AccidentFilter(years=(2019, 2020)))
    shared = AccidentFilter(deps=("69",), years=(2005, 2006))  # the form's years are the sides' own
    result = compare(store_con, shared, choice, data_years=DATA_YEARS)
    assert _figures(result.a) == _oracle(store_con, ("69",), (2016, 2017))
    assert _figures(result.b) == _oracle(store_con, ("69",), (2019, 2020))
    assert (result.a.label, result.b.label) == ("2016–2017", "2019–2020")
    assert not result.hospitalisation_comparable
    rows = _by_label(result)
    assert not rows["Blessés hospitalisés par an"].comparable and not rows["Part d'accidents graves"].comparable
    assert rows["Accidents par an"].comparable and rows["Tués pour 100 accidents"].comparable
    table = compare_display.difference_table(result).set_index("Indicateur")
    hospitalised = table.loc["Blessés hospitalisés par an"]
    assert (hospitalised["A par rapport à B"], hospitalised["Intervalle à 95\u00a0%"]) == ("non comparable (2018)", "–")
    assert "pas de comparaison" in compare_display.difference_sentence(rows["Part d'accidents graves"])
    assert any("2018" in note for note in compare_display.cautions(result))


@pytest.mark.parametrize(("years_a", "years_b", "comparable"), [
    ((2018, 2019), (2020, 2020), True),
    ((2010, 2012), (2015, 2017), True),
    ((2017, 2018), (2019, 2020), False),
])
def test_periods_are_compared_on_hospitalised_only_on_one_side_of_2018(store_con, years_a, years_b, comparable):
    choice = CompareChoice("period", AccidentFilter(years=years_a), AccidentFilter(years=years_b))
    result = compare(store_con, AccidentFilter(deps=("48",)), choice, data_years=DATA_YEARS)
    assert result.hospitalisation_comparable is comparable


def test_two_areas_straddling_2018_stay_comparable(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(deps=("59",)), AccidentFilter(deps=("62",)))
    result = compare(store_con, AccidentFilter(years=(2016, 2020)), choice, data_years=DATA_YEARS)
    assert result.hospitalisation_comparable  # both sides cover the same years


def test_identical_selections_give_a_ratio_of_one_inside_its_interval(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(deps=("13",)), AccidentFilter(deps=("13",)))
    result = compare(store_con, AccidentFilter(years=(2019, 2020)), choice, data_years=DATA_YEARS)
    assert result.identical
    for difference in result.differences:
        estimate = difference.estimate
        assert estimate.value == estimate.null
        assert estimate.low < estimate.null < estimate.high
        assert estimate.beyond_chance is False
        assert "peut s'expliquer par le hasard" in compare_display.difference_sentence(difference)
    assert compare_display.cautions(result)[0].startswith("A et B sont la même sélection")


def test_nord_against_lozere_is_beyond_chance(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(deps=("59",)), AccidentFilter(deps=("48",)))
    result = compare(store_con, AccidentFilter(years=(2020, 2020)), choice, data_years=DATA_YEARS)
    nord, lozere = (_oracle(store_con, (dep,), (2020, 2020))["accidents"] for dep in ("59", "48"))
    accidents = _by_label(result)["Accidents par an"]
    assert accidents.estimate.value == pytest.approx(nord / lozere)
    assert accidents.estimate.low > 1 and accidents.estimate.beyond_chance
    sentence = compare_display.difference_sentence(accidents)
    assert "A est" in sentence and "au-dessus de B" in sentence and "au-delà du hasard" in sentence


def test_overlapping_areas_are_flagged(store_con) -> None:
    choice = CompareChoice("area", AccidentFilter(regions=("32",)), AccidentFilter(deps=("59",)))
    result = compare(store_con, AccidentFilter(years=(2020, 2020)), choice, data_years=DATA_YEARS)
    assert result.overlap and not result.identical
    assert "se recouvrent" in compare_display.cautions(result)[0]


def test_rate_ratio_interval_is_the_exact_binomial_one() -> None:
    for a, b, exposure_a, exposure_b in ((200, 100, 2, 2), (3, 11, 1, 4), (0, 7, 2, 1)):
        ratio = rate_ratio(a, exposure_a, b, exposure_b)
        ci = binomtest(a, a + b).proportion_ci(0.95, method="exact")
        scale = exposure_b / exposure_a
        assert ratio.low == pytest.approx(ci.low / (1 - ci.low) * scale)
        assert ratio.high == pytest.approx(ci.high / (1 - ci.high) * scale)
    assert rate_ratio(5, 1, 0, 1).value is None  # nothing to divide by: no estimate


def test_rate_ratio_interval_covers_the_true_ratio_95_times_in_100() -> None:
    rng = np.random.default_rng(14)
    true_ratio, rate_b, years_a, years_b = 1.5, 6.0, 2, 3
    covered = 0
    draws = 4000
    for _ in range(draws):
        a = rng.poisson(true_ratio * rate_b * years_a)
        b = rng.poisson(rate_b * years_b)
        ratio = rate_ratio(int(a), years_a, int(b), years_b)
        covered += ratio.value is not None and ratio.low <= true_ratio <= ratio.high
    assert 0.945 <= covered / draws <= 0.99  # exact intervals are conservative, never short


@pytest.mark.parametrize(("counts", "expected"), [
    ((56, 70, 48, 80), (0.0524, 0.3339)),  # Newcombe (1998), table II
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
])
def test_share_difference_matches_newcombes_published_intervals(counts, expected) -> None:
    difference = share_difference(*counts)
    assert (round(difference.low, 4), round(difference.high, 4)) == expected


def test_a_wrong_link_keeps_what_is_valid() -> None:
    choice, notes = read_choice({"cmp": "zones", "cmp_a_years": "2030-1999", "cmp_b_years": "abc"},
                                data_years=DATA_YEARS)
    assert choice.to_params() == {"cmp": "period", "cmp_a_years": "2005-2020", "cmp_b_years": "2019-2019"}
    assert notes[0].startswith("Comparaison : « zones » inconnue")
    assert any(note.startswith("A – Années") for note in notes) and any(n.startswith("B – Années") for n in notes)
    area, notes = read_choice({"cmp": "area", "cmp_a_deps": "59", "cmp_a_years": "2019-2020"}, data_years=DATA_YEARS)
    assert area.to_params() == {"cmp": "area", "cmp_a_deps": "59"} and not notes  # years are not an area's
    with pytest.raises(ValueError, match="sets only"):
        CompareChoice("area", AccidentFilter(years=(2019, 2020)), AccidentFilter())
