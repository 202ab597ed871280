"""The explorer's ``WHERE`` clause: the accident filter with its extended fields as tests of the store's masks.

Kept alone and small: the filter's declarative field table (:mod:`core.filter_fields`)
is to produce this clause itself, and will replace this module.
"""

from __future__ import annotations

from dataclasses import replace

from core.filter_fields import AGE_GROUPS, VEHICLE_GROUPS
from core.filters import AccidentFilter


def _mask(bits: list[int]) -> int:
    return sum(1 << bit for bit in set(bits))


def filter_sql(accident_filter: AccidentFilter) -> tuple[str, list[object]]:
    """``WHERE`` clause over ``accidents`` (with its explorer columns) selecting the same accidents as ``to_sql``.

    The user-category, vehicle-group and age-group conditions become tests of
    the per-accident masks instead of subqueries.

    Examples
    --------
    >>> filter_sql(AccidentFilter(user_categories=(3,), age_groups=("75+",)))
    ('true AND (catu_mask & ?) <> 0 AND (age_mask & ?) <> 0', [8, 64])
    """
    plain = replace(accident_filter, user_categories=(), vehicle_groups=(), age_groups=())
    where, params = plain.to_sql()
    clauses, params = [where], list(params)
    if accident_filter.user_categories:
        clauses.append("(catu_mask & ?) <> 0")
        params.append(_mask(list(accident_filter.user_categories)))
    if accident_filter.vehicle_groups:
        clauses.append("(vgroup_mask & ?) <> 0")
        params.append(_mask([VEHICLE_GROUPS.index(g) for g in accident_filter.vehicle_groups]))
    if accident_filter.age_groups:
        clauses.append("(age_mask & ?) <> 0")
        params.append(_mask([list(AGE_GROUPS).index(g) for g in accident_filter.age_groups]))
    return " AND ".join(clauses), params
