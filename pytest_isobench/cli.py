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
from .atomic import atomic_write
from .dataset.loaders import DatasetError, load_source
from .dataset.models import Task
from .history.export import add_dataset_commands  # build, push, pull
from .published.importer import human_diffs, import_items, task_facts
from .published.runs import PublishedError, find_items
from .published.taskconfig import AGENT_NAMES, ConfigError, convert_configs, write_converted
from .published.threeway_store import import_threeway, read_threeway
from .report.aa import aa_lines, aa_task, run_demo_aa
from .report.html import write_html
from .report.markdown import write_markdown
from .report.passk import opt_at_k
from .report.published import has_published, published_lines, published_rows, read_published
from .report.published_threeway import published_sections
from .report.soft import Judge, soft_metrics_all
from .report.tables import build_report, group_lines
from .report.terminal import summary_lines
from .report.validity import invalid_tasks, without_invalid
from .results.merge import merge_dirs
from .results.record import TaskRecord
from .results.runstate import clean_runs
from .sandbox.cache_usage import clean_worktrees, describe
from .sandbox.docker_sandbox import engine_client
from .sandbox.housekeeping import doctor_engine, sweep
from .sandbox.protocol import SandboxError
from .suite import SuiteError, load_suite


def _doctor(args: argparse.Namespace) -> int:
    if args.noise:
        return _noise_floor(args)

    failed = 0
    for name, ok, detail in doctor_engine():
        print(f"[{'ok' if ok else '!!'}] {name}: {detail}")
        failed += not ok

    for name, ok, detail in doctor_agents():
        print(f"[{'ok' if ok else '--'}] {name}: {detail}")

    print(f"[ok] cache {describe(Path(args.cache_dir))}")
    return 1 if failed else 0


def _noise_floor(args: argparse.Namespace) -> int:
    """An A/A on the demo suite (the human's code as the agent's): this machine's noise floor."""
    import tempfile

    extra = [f"--isobench-backend={args.backend}"]
    if args.max_time is not None:
        extra.append(f"--isobench-max-time={args.max_time}")
    with tempfile.TemporaryDirectory(prefix="isobench-noise-") as tmp:
        code, records = run_demo_aa(extra, Path(tmp) / "results")
    if not records:
        print(f"error: the A/A run wrote no task records (pytest exit status {code})", file=sys.stderr)
        return 1
    print(f"A/A on the demo suite ({len(records)} tasks, --isobench-agent=human, backend {args.backend}):")
    print("\n".join(aa_lines([aa_task(r) for r in records])))
    return 0


def _clean(args: argparse.Namespace) -> int:

    removed = clean_worktrees(Path(args.cache_dir), older_than_s=args.older_than)
    removed += clean_runs(Path(args.cache_dir), older_than_s=args.older_than)
    status = 0
    try:
        client = engine_client()
    except SandboxError as exc:
        print(f"containers not checked: {exc}", file=sys.stderr)
        status = 1
    else:
        try:
            removed += sweep(client, older_than_s=args.older_than)
        finally:
            client.close()
    for name in removed:
        print(f"removed {name}")
    print(f"{len(removed)} removed")
    return status


def _report(args: argparse.Namespace) -> int:

    all_dirs = [Path(d) for d in args.dirs]
    published_dirs = [d for d in all_dirs if has_published(d)]
    # a directory written by `isobench import` holds published records only: no task records to merge
    dirs = [d for d in all_dirs if d not in published_dirs or (d / "tasks").is_dir()]
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
    invalid = invalid_tasks(records, args.min_human_speedup)
    if invalid:
        kept = "counted" if args.include_invalid else "left out of the success rates (--include-invalid to count them)"
        print(f"not valid here: {len(invalid)} task(s) whose human speedup does not hold on this machine, {kept}:")
        print("\n".join(f"  {i.line}" for i in invalid))
        print()
        if not args.include_invalid:
            records = without_invalid(records, invalid)
            runs = [without_invalid(run, invalid) for run in runs]
    report = build_report(records, problems, duplicates)
    if args.runs_as_k:
        report.passk = [p.as_dict() for p in opt_at_k(runs)]
    judge = None
    if args.soft_metrics and args.judge_model:
        judge = Judge(model=args.judge_model, cache_dir=Path(args.judge_cache))
    if args.soft_metrics:
        report.soft = soft_metrics_all(records, judge)
    if published_dirs:
        published, published_problems = read_published(published_dirs)
        for problem in published_problems:
            print(f"warning: {problem}", file=sys.stderr)
        report.problems += published_problems
        rows = published_rows(published, judge if args.soft_metrics else None)
        if not args.soft_metrics:
            for row in rows:  # the counts stay; patch-vs-human figures only when asked for
                row.scored, row.line_precision, row.line_recall, row.files_jaccard = 0, None, None, None
        report.published = [row.as_dict() for row in rows]
        if rows:
            print("\n".join(published_lines(rows)))
            print()
        lines, report.published_figures = published_sections(
            published, read_threeway([d / "published" for d in published_dirs])
        )
        print("\n".join(lines))
    if records or not published_dirs:
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
    if not records and not report.published and not any(report.published_figures.values()):
        print("error: no complete task records found", file=sys.stderr)
        return 1
    return 0


def _import(args: argparse.Namespace) -> int:

    paths = [Path(p) for p in args.paths]
    out = Path(args.out) if args.out else None
    try:
        items, problems = find_items(paths)
        scan, claims, claim_problems = import_threeway(paths, out / "published" if out else None)
        diffs = {}
        for dataset in args.dataset or []:
            diffs.update(human_diffs(Path(dataset)))
    except (PublishedError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not items and not scan.records:
        print(
            f"error: no ISO-Bench run items (run_summary.json, prediction.jsonl) nor three-way results "
            f"(benchmark_result.json, <commit>_<variant>_result.json, exports/) under {', '.join(args.paths)}",
            file=sys.stderr,
        )
        return 1
    for problem in [*problems, *scan.unreadable, *claim_problems]:
        print(f"warning: {problem}", file=sys.stderr)
    if scan.records or scan.unreadable:
        print(
            f"three-way: {len(scan.records)} record(s) from {scan.files_read} file(s) read in "
            f"{len({r.folder for r in scan.records})} folder(s); {len(scan.unreadable)} file(s) unreadable; "
            f"{len(claims)} published figure(s) found"
        )
    if args.facts:
        facts = task_facts(items)
        atomic_write(Path(args.facts), "".join(json.dumps(f, sort_keys=True) + "\n" for f in facts))
        print(f"facts: {len(facts)} task(s) -> {args.facts}")
    if out and items:
        summary = import_items(items, out, diffs)
        print(
            f"imported {summary.items} item(s) of {summary.runs} run(s): {summary.with_patch} with a non-empty patch, "
            f"{summary.artefacts_removed} with harness artefacts removed, {summary.with_human_diff} with a human diff, "
            f"{summary.without_commits} without commits"
        )
        print(f"predictions: {len(summary.predictions_files)} file(s) in {out / 'predictions'}")
    if out:
        print(f"published records: {out / 'published'}")
    return 0


def _convert(args: argparse.Namespace) -> int:

    out = Path(args.out)
    try:
        bench = Path(args.bench) if args.bench else None
        done = convert_configs([Path(p) for p in args.configs], args.name, bench, args.agent)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in [*done.skipped, *done.notes]:
        print(f"warning: {line}", file=sys.stderr)
    suite_path, data_path = write_converted(done, out, args.name)
    try:
        load_suite(suite_path)
        loaded = load_source(str(data_path))
    except (SuiteError, DatasetError) as exc:
        print(f"error: the converted suite does not load: {exc}", file=sys.stderr)
        return 1
    for error in loaded.errors:
        print(f"warning: {error}", file=sys.stderr)
    agent = f" --isobench-agent={done.agent}" if done.agent else ""
    print(f"converted {len(done.records)} task(s), {len(done.skipped)} skipped: {suite_path}, {data_path}")
    print(f"run: pytest {suite_path}{agent}")
    return 0 if done.records else 1


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
    doctor = sub.add_parser("doctor", help="check the Docker engine, images and leftovers")
    doctor.add_argument(
        "--noise", action="store_true", help="run an A/A on the demo suite and print this machine's noise floor"
    )
    doctor.add_argument("--backend", default="auto", choices=("auto", "docker", "local"), help="with --noise")
    doctor.add_argument("--max-time", type=float, default=None, metavar="S", help="with --noise: budget per task")
    cache_help = "the plugin's cache directory (--isobench-cache-dir)"
    doctor.add_argument("--cache-dir", default=".isobench/cache", metavar="DIR", help=cache_help)
    doctor.set_defaults(func=_doctor)
    clean = sub.add_parser(
        "clean",
        help="remove containers and volumes labelled io.isobench, and worktrees and run notes left in the cache",
    )
    clean.add_argument("--older-than", type=float, default=None, metavar="SECONDS")
    clean.add_argument("--cache-dir", default=".isobench/cache", metavar="DIR", help=cache_help)
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
    report.add_argument(
        "--include-invalid",
        action="store_true",
        help="count the tasks whose human speedup does not hold here (listed apart either way)",
    )
    report.add_argument(
        "--min-human-speedup",
        type=float,
        default=None,
        metavar="X",
        help="a task is also not valid here when its human speedup is below X (GSO uses 1.2)",
    )
    report.set_defaults(func=_report)
    imp = sub.add_parser(
        "import", help="read ISO-Bench run directories and result folders: predictions files and published records"
    )
    where = "ISO-Bench state/runs trees, run or item folders, *_results_3way_* folders"
    imp.add_argument("paths", nargs="+", metavar="PATH", help=where)
    imp.add_argument("--out", metavar="DIR", help="write predictions/ and published/ here")
    imp.add_argument(
        "--dataset",
        action="append",
        metavar="FILE",
        help="a dataset carrying the human diffs (diff_text), for soft metrics",
    )
    imp.add_argument("--facts", metavar="FILE", help="write the runs' task facts (commit, parent, repo) as JSONL")
    imp.set_defaults(func=_import)
    conv = sub.add_parser("convert", help="write our suite and dataset from ISO-Bench task configs (tasks/*.yaml)")
    conv.add_argument("configs", nargs="+", metavar="CONFIG", help="ISO-Bench task configs")
    conv.add_argument("--out", required=True, metavar="DIR", help="write <name>.yaml and <name>.jsonl here")
    conv.add_argument("--name", default="isobench", help="the suite's name (prefixes item ids)")
    conv.add_argument("--bench", metavar="FILE", help="ISO-Bench's bench.yaml: container limits, agent budget")
    conv.add_argument("--agent", metavar="NAME", help=f"ISO-Bench's agent name ({', '.join(AGENT_NAMES)})")
    conv.set_defaults(func=_convert)
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
