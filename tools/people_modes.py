"""How the model in service ranks and calibrates the test year when callers say only part of what they know.

Run from the repository root (about a minute)::

    .venv/bin/python tools/people_modes.py            # the model of models/, on its card's test year
    .venv/bin/python tools/people_modes.py --models DIR

The card keeps three ways of describing people (everyone, some people and some of their facts at random,
nobody: ``metrics.test.people``). A caller's partial description is rarely random: the role is said, the age
often, the sex less often. This prints the test year's figures with every person described by some facts only,
the same for every person, beside the card's modes: a description the model handles badly (ranking worse than
saying nothing, or a mean probability off the observed share) shows here. The README's table of the people
modes quotes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config, store  # noqa: E402
from core.features.columns import IncidentColumns, columns_from_frame  # noqa: E402
from core.features.people import Person  # noqa: E402
from core.features.training import training_frame  # noqa: E402
from core.model.loading import load_model  # noqa: E402
from core.model.metrics import binary_metrics  # noqa: E402
from core.model.predict import predict_columns  # noqa: E402

#: Which facts of each person (role, age, sex, equipment) each variant keeps.
VARIANTS: Final = {
    "everyone, every fact": (True, True, True, True),
    "everyone, without the sex": (True, True, False, True),
    "everyone, role and sex, no age": (True, False, True, True),
    "everyone, age only": (False, True, False, False),
    "everyone, role only": (True, False, False, False),
}


def keep_facts(columns: IncidentColumns, kept: tuple[bool, ...]) -> IncidentColumns:
    """``columns`` with only the ``kept`` facts of every person described (a person left with none is dropped)."""
    def person(facts: Person) -> Person:
        return tuple(fact if keep else None for fact, keep in zip(facts, kept, strict=True))

    people = [None if persons is None else tuple(p for p in map(person, persons) if any(f is not None for f in p))
              or None for persons in columns.described()]
    return IncidentColumns(columns.numeric, columns.dep, columns.com, columns.vehicles, people)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=config.MODELS_DIR)
    args = parser.parse_args(argv)
    model = load_model(args.models)
    year = model.card.years.test
    con = store.connect()
    try:
        frame = training_frame(con, first_year=year, last_year=year)
    finally:
        con.close()
    columns = columns_from_frame(frame)
    severe, fatal = frame["severe"].to_numpy(dtype=int), frame["fatal"].to_numpy(dtype=int)
    variants = {name: keep_facts(columns, kept) for name, kept in VARIANTS.items()}
    variants["nobody"] = IncidentColumns(columns.numeric, columns.dep, columns.com, columns.vehicles, None)
    print(f"model {model.version}, {year}: {len(frame):,} accidents, severe {severe.mean():.3f}, "
          f"fatal {fatal.mean():.4f} observed")
    print(f"{'people described':34} {'sev AUC':>8} {'sev ECE':>8} {'sev mean':>9} {'fat AUC':>8} {'fat ECE':>8} "
          f"{'fat mean':>9}")
    for name, variant in variants.items():
        answers = predict_columns(model, variant, explain=False)
        p_severe = np.array([answer["p_severe"] for answer in answers])
        p_fatal = np.array([answer["p_fatal"] for answer in answers])
        s, f = binary_metrics(severe, p_severe), binary_metrics(fatal, p_fatal)
        print(f"{name:34} {s['auc']:8.3f} {s['ece']:8.3f} {p_severe.mean():9.3f} {f['auc']:8.3f} {f['ece']:8.3f} "
              f"{p_fatal.mean():9.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
