"""The ``isobench`` command: doctor, clean, report, dataset schema/validate.

Thin: each subcommand calls the layer that does the work; nothing here duplicates the
plugin (measurement runs through ``pytest``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .agents.doctor import doctor_agents
from .dataset.loaders import DatasetError, load_source
from .dataset.models import Task
from .history.export import add_dataset_commands  # build, push, pull
from .report.html import write_html
from .report.markdown import write_markdown
from .report.passk import opt_at_k
from .report.soft import Judge, soft_metrics_all
from .report.tables import build_report, group_lines
from .report.terminal import summary_lines
from .results.merge import merge_dirs
from .results.record import TaskRecord
from .sandbox.docker_sandbox import engine_client
from .sandbox.housekeeping import doctor_engine, sweep


def _doctor(args: argparse.Namespace) -> int:

    failed = 0
    for name, ok, detail in doctor_engine():
        print(f"[{'ok' if ok else '!!'}] {name}: {detail}")
        failed += not ok

    for name, ok, detail in doctor_agents():
        print(f"[{'ok' if ok else '--'}] {name}: {detail}")
    return 1 if failed else 0


def _clean(args: argparse.Namespace) -> int:

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

    dirs = [Path(d) for d in args.dirs]
    problems: list[str] = []
    duplicates: list[str] = []
    records: list[TaskRecord] = []
    runs: list[list[TaskRecord]] = []
    if args.runs_as_k:
        # Each directory is one run of the same agent: kept apart, never deduplicated across runs.
        for index, directory in enumerate(dirs, 1):
            merged = merge_dirs([directory])
            problems += merged.problems
            duplicates += merged.duplicates
            for record in merged.records:
                record.run_label = str(index)
            runs.append(merged.records)
            records += merged.records
    else:
        merged = merge_dirs(dirs)
        problems, duplicates, records = merged.problems, merged.duplicates, merged.records
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    for duplicate in duplicates:
        print(f"warning: duplicate result, counted once: {duplicate}", file=sys.stderr)
    report = build_report(records, problems, duplicates)
    if args.runs_as_k:
        report.passk = [p.as_dict() for p in opt_at_k(runs)]
    if args.soft_metrics:
        judge = None
        if args.judge_model:
            judge = Judge(model=args.judge_model, cache_dir=Path(args.judge_cache))
        report.soft = soft_metrics_all(records, judge)
    lines, _totals = summary_lines(records)
    print("\n".join(lines))
    print()
    print("\n".join(group_lines(report.groups)))
    for p in report.passk:
        print(f"Opt@{p['k']}: {p['opt_at_k']:.1%} ({p['solved']}/{p['tasks']})  pass@{p['k']}: {p['pass_at_k']:.1%}")
    if args.markdown:
        print(f"markdown: {write_markdown(report, Path(args.markdown), plots=not args.no_plots)}")
    if args.html:
        print(f"html: {write_html(report, Path(args.html), plots=not args.no_plots)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=1, default=str) + "\n", encoding="utf-8")
    if not records:
        print("error: no complete task records found", file=sys.stderr)
        return 1
    return 0


def _schema(args: argparse.Namespace) -> int:

    print(json.dumps(Task.model_json_schema(), indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:

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
    report = sub.add_parser("report", help="merge result directories into tables, plots and pages")
    report.add_argument("dirs", nargs="+", metavar="DIR", help="result directories (shards or runs)")
    report.add_argument("--markdown", metavar="FILE", help="write a markdown report (figures beside it)")
    report.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    report.add_argument("--json", metavar="FILE", help="write the tables and records as JSON")
    report.add_argument("--no-plots", action="store_true", help="leave the figures out")
    report.add_argument(
        "--runs-as-k", action="store_true", help="each DIR is one run of the same agent: compute Opt@K and pass@k"
    )
    report.add_argument(
        "--soft-metrics", action="store_true", help="file overlap and line precision/recall against the human diff"
    )
    report.add_argument("--judge-model", metavar="M", help="with --soft-metrics: also ask this LLM judge")
    report.add_argument("--judge-cache", metavar="DIR", default=".isobench/cache/judge", help="cache of judge answers")
    report.set_defaults(func=_report)
    dataset = sub.add_parser("dataset", help="dataset tools").add_subparsers(dest="dataset_command", required=True)
    dataset.add_parser("schema", help="print the JSON Schema of a task record").set_defaults(func=_schema)
    validate = dataset.add_parser("validate", help="check a dataset file, with line numbers")
    validate.add_argument("file")
    validate.set_defaults(func=_validate)

    add_dataset_commands(dataset)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
