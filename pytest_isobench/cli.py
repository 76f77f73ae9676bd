"""The ``isobench`` command: doctor, clean, report, dataset schema/validate.

Thin: each subcommand calls the layer that does the work; nothing here duplicates the
plugin (measurement runs through ``pytest``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from .sandbox.housekeeping import doctor_engine

    failed = 0
    for name, ok, detail in doctor_engine():
        print(f"[{'ok' if ok else '!!'}] {name}: {detail}")
        failed += not ok
    return 1 if failed else 0


def _clean(args: argparse.Namespace) -> int:
    from .sandbox.docker_sandbox import engine_client
    from .sandbox.housekeeping import sweep

    client = engine_client()
    try:
        removed = sweep(client, older_than_s=args.older_than)
    finally:
        client.close()
    for name in removed:
        print(f"removed {name}")
    print(f"{len(removed)} removed")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report.terminal import summary_lines
    from .results.merge import merge_dirs

    merged = merge_dirs([Path(d) for d in args.dirs])
    for problem in merged.problems:
        print(f"warning: {problem}", file=sys.stderr)
    lines, _totals = summary_lines(merged.records)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"records": merged.records, "problems": merged.problems, "duplicates": merged.duplicates},
                indent=1,
                default=str,
            )
        )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from .dataset.models import Task

    print(json.dumps(Task.model_json_schema(), indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .dataset.loaders import DatasetError, load_source

    try:
        loaded = load_source(args.file)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for error in loaded.errors:
        print(error)
    print(f"{len(loaded.tasks)} valid record(s), {len(loaded.errors)} invalid")
    return 1 if loaded.errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="isobench", description="ISO-Bench tools around the pytest plugin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check the Docker engine, images and leftovers").set_defaults(func=_doctor)
    clean = sub.add_parser("clean", help="remove containers and volumes labelled io.isobench")
    clean.add_argument("--older-than", type=float, default=None, metavar="SECONDS")
    clean.set_defaults(func=_clean)
    report = sub.add_parser("report", help="merge result directories and print the table")
    report.add_argument("dirs", nargs="+", metavar="DIR")
    report.add_argument("--json", metavar="FILE")
    report.set_defaults(func=_report)
    dataset = sub.add_parser("dataset", help="dataset tools").add_subparsers(dest="dataset_command", required=True)
    dataset.add_parser("schema", help="print the JSON Schema of a task record").set_defaults(func=_schema)
    validate = dataset.add_parser("validate", help="check a dataset file, with line numbers")
    validate.add_argument("file")
    validate.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
