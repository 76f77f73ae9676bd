"""Write scanned commits as dataset records, atomically, and move them to and from the hub.

The canonical record is the "instance" shape :func:`pytest_isobench.dataset.task_from_record`
collects (``instance_id``, ``repo``, ``base_commit``, ``head_commit``, ``subject``,
``message``, ``date``, ``apis``, ``files_changed``, ``stats``, ``perf_command`` when known).
``--format`` writes other benchmarks' views of the same commits: ``gso`` (one row per API,
as GSO has), ``swe-perf`` and ``isobench`` (commit level). Files are written to a temporary
file in the target's folder, fsynced and renamed, so a crash never leaves half a file.
This module also holds the ``isobench dataset build|push|pull`` subcommands; ``git``,
``datasets`` and ``openai`` are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_writer
from ..dataset import loaders
from .classify import ClassifyError, ClassifyOptions, classify_commits
from .scan import DEFAULT_KEYWORDS, CommitInfo, ScanError, ScanOptions, ScanResult, is_test_path, scan_repository

if TYPE_CHECKING:
    from .classify import Classification

FORMATS = ("canonical", "gso", "swe-perf", "isobench")


class ExportError(Exception):
    """A write, push or pull that cannot be done; the message says what to fix."""


# -- identity --------------------------------------------------------------------------


def repo_identity(result: ScanResult, override: str | None = None) -> tuple[str, str]:
    """(the ``repo`` field, a slug for instance ids): the origin URL when there is one."""
    repo = override or result.remote or result.repo_path
    cleaned = re.sub(r"\.git$", "", repo.rstrip("/"))
    parts = [p for p in re.split(r"[/:]", cleaned) if p]
    remote = bool(override or result.remote) and len(parts) >= 2
    slug = "__".join(parts[-2:]) if remote else (parts[-1] if parts else "repo")
    return repo, re.sub(r"[^A-Za-z0-9_.-]", "_", slug)


# -- records and views -----------------------------------------------------------------


def canonical_record(
    commit: CommitInfo,
    repo: str,
    slug: str,
    *,
    perf_command: str | None = None,
    classification: Classification | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Our record of one commit (the plugin's "instance" shape); ``model`` adds the LLM fields."""
    apis = list(commit.apis)
    if not apis and classification is not None:
        apis = list(classification.apis)
    record: dict[str, Any] = {
        "instance_id": f"{slug}-{commit.sha[:12]}",
        "repo": repo,
        "base_commit": commit.base,
        "head_commit": commit.sha,
        "subject": commit.subject,
        "message": commit.message,
        "date": commit.date,
        "author": commit.author,
        "pr_number": commit.pr_number,
        "apis": apis,
        "files_changed": commit.files_changed,
        "functions_changed": [{"name": f.name, "file": f.file, "change": f.change} for f in commit.functions],
        "stats": commit.stats(),
        "keywords": commit.keywords,
    }
    # Every record of a file has the same keys (Arrow takes its columns from the first row).
    record["notes"] = list(commit.notes)
    record["perf_command"] = perf_command or None
    if model is not None:
        record["llm_is_perf"] = classification.is_perf if classification else None
        record["llm_apis"] = list(classification.apis) if classification else []
        record["llm_reason"] = classification.reason if classification else None
        record["llm_confidence"] = classification.confidence if classification else None
        record["llm_model"] = model
    return record


def _split_patch(diff: str) -> tuple[str, str]:
    """(the non-test part, the test part) of a unified patch, by each section's path."""
    sections = re.split(r"(?m)^(?=diff --git )", diff)
    code: list[str] = []
    tests: list[str] = []
    for section in sections:
        if not section:
            continue
        header = section.split("\n", 1)[0]
        path = header.rsplit(" b/", 1)[-1] if " b/" in header else header
        (tests if is_test_path(path.strip('"')) else code).append(section)
    return "".join(code), "".join(tests)


def gso_rows(record: dict[str, Any], commit: CommitInfo) -> list[dict[str, Any]]:
    """GSO's view: one row per API (GSO's instances are (commit, API) pairs)."""
    apis = record["apis"] or [""]
    rows = []
    for index, api in enumerate(apis):
        suffix = f"-{index}" if len(apis) > 1 else ""
        rows.append(
            {
                "instance_id": f"{record['instance_id']}{suffix}",
                "repo": record["repo"],
                "base_commit": record["base_commit"],
                "opt_commit": record["head_commit"],
                "api": api,
                "prob_script": "",
                "tests": [],
                "hints_text": "",
                "setup_commands": [],
                "install_commands": [],
                "created_at": record["date"],
                "gt_commit_message": record["message"],
                "gt_diff": commit.diff,
                "arch": "x86_64",
                "instance_image_tag": "latest",
            }
        )
    return rows


def swe_perf_row(record: dict[str, Any], commit: CommitInfo) -> dict[str, Any]:
    """SWE-Perf's view (``patch``/``test_patch`` split), with ``head_commit`` kept."""
    patch, test_patch = _split_patch(commit.diff)
    code_functions = [f["name"] for f in record["functions_changed"] if not is_test_path(f["file"])]
    return {
        "repo": record["repo"],
        "instance_id": record["instance_id"],
        "created_at": record["date"],
        "base_commit": record["base_commit"],
        "head_commit": record["head_commit"],
        "patch": patch,
        "test_patch": test_patch,
        "problem_statement": record["message"],
        "hints_text": "",
        "version": "",
        "efficiency_test": [],
        "perf_command": record.get("perf_command"),
        "duration_changes": [],
        "human_performance": None,
        "patch_functions": code_functions,
        "test_functions": [],
        "api": record["apis"],
        "gt_commit_message": record["message"],
        "setup_commands": [],
        "install_commands": [],
    }


def isobench_row(record: dict[str, Any], commit: CommitInfo) -> dict[str, Any]:
    """ISO-Bench's commit-level view (the base is the first parent of ``commit_hash``)."""
    row: dict[str, Any] = {
        "commit_hash": record["head_commit"],
        "repo": record["repo"],
        "pr_number": record["pr_number"],
        "commit_subject": record["subject"],
        "commit_message": record["message"],
        "commit_date": record["date"],
        "perf_command": record.get("perf_command"),
        "models": [],
        "files_changed": record["files_changed"],
        "functions_changed": [f["name"] for f in record["functions_changed"]],
        "apis": record["apis"],
        "stats": record["stats"],
        "diff_text": commit.diff,
    }
    for key in ("llm_is_perf", "llm_reason", "llm_model"):
        if key in record:
            row[key] = record[key]
    return row


def view_rows(fmt: str, record: dict[str, Any], commit: CommitInfo) -> list[dict[str, Any]]:
    if fmt == "canonical":
        return [record]
    if fmt == "gso":
        return gso_rows(record, commit)
    if fmt == "swe-perf":
        return [swe_perf_row(record, commit)]
    if fmt == "isobench":
        return [isobench_row(record, commit)]
    raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# -- atomic JSONL ----------------------------------------------------------------------


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, default=str) + "\n"


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` to ``path`` all or nothing: temp file, fsync, rename, fsync the folder."""
    count = 0
    with atomic_writer(Path(path)) as fh:
        for row in rows:
            fh.write(_line(row))
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file; :class:`ExportError` names the first bad line."""
    source = Path(path)
    if not source.is_file():
        raise ExportError(f"{source}: no such file")
    rows: list[dict[str, Any]] = []
    with source.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ExportError(f"{source}:{number}: malformed JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ExportError(f"{source}:{number}: expected a JSON object")
            rows.append(value)
    return rows


# -- the hub ---------------------------------------------------------------------------


def hub_token(explicit: str | None = None) -> str | None:
    return explicit or os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")


def push(file: str | Path, name: str, *, token: str | None = None, private: bool = False, split: str = "train") -> int:
    """Upload a JSONL file as the ``split`` of the hub dataset ``name``; returns the row count."""
    token = hub_token(token)
    if not token:
        raise ExportError(
            "pushing to the Hugging Face hub needs a write token: set HF_TOKEN "
            "(https://huggingface.co/settings/tokens) or pass --token"
        )
    if name.count("/") != 1 or not all(name.split("/")):
        raise ExportError(f"{name!r}: expected a dataset name OWNER/NAME")
    rows = read_jsonl(file)
    if not rows:
        raise ExportError(f"{file}: no records to push")
    import datasets

    try:
        dataset = datasets.Dataset.from_list(rows)
        dataset.push_to_hub(name, token=token, private=private, split=split)
    except Exception as exc:
        raise ExportError(f"push of {file} to {name} failed: {type(exc).__name__}: {str(exc)[:300]}") from None
    return len(rows)


def pull(name: str, *, split: str | None = None, out: str | Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Fetch a hub dataset (or read it from the local cache when offline); optionally write JSONL."""

    source = name if name.startswith("hf:") else f"hf:{name}"
    try:
        repo_name, named_split = loaders.parse_hf(source)
        dataset = loaders._load_hf(repo_name, split or named_split, source)
    except loaders.DatasetError as exc:
        raise ExportError(str(exc)) from None
    rows = [dict(row) for row in dataset]
    if out is not None:
        write_jsonl_atomic(out, rows)
    return len(rows), rows


# -- build -----------------------------------------------------------------------------


def build_records(
    commits: Iterable[CommitInfo],
    repo: str,
    slug: str,
    fmt: str,
    *,
    perf_command: str | None = None,
    answers: dict[str, Classification] | None = None,
    model: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of ``fmt`` for ``commits``, oldest first (the order tasks are usually read)."""
    answers = answers or {}
    for commit in reversed(list(commits)):
        record = canonical_record(
            commit, repo, slug, perf_command=perf_command, classification=answers.get(commit.sha), model=model
        )
        yield from view_rows(fmt, record, commit)


def _error(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def run_build(args: argparse.Namespace) -> int:
    options = ScanOptions(
        branch=args.branch,
        since=args.since,
        until=args.until,
        max_commits=args.max_commits,
        keywords=tuple(args.keyword) if args.keyword else DEFAULT_KEYWORDS,
        max_files=args.max_files,
        progress=False if args.no_progress else None,
    )
    try:
        result = scan_repository(args.repo, options)
    except ScanError as exc:
        return _error(str(exc))
    commits = result.commits
    answers: dict[str, Classification] = {}
    if args.classify:
        try:
            report = classify_commits(
                commits,
                ClassifyOptions(
                    model=args.model,
                    base_url=args.base_url,
                    cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                    max_workers=args.workers,
                ),
            )
        except ClassifyError as exc:
            return _error(str(exc))
        print(report.summary(), file=sys.stderr)
        for sha, why in report.failures.items():
            print(f"warning: {sha[:12]}: not classified ({why})", file=sys.stderr)
        answers = report.answers
        if not args.keep_rejected:
            commits = [c for c in commits if c.sha not in answers or answers[c.sha].is_perf]
    repo, slug = repo_identity(result, args.repo_url)
    try:
        written = write_jsonl_atomic(
            args.out,
            build_records(
                commits,
                repo,
                slug,
                args.format,
                perf_command=args.perf_command,
                answers=answers,
                model=args.model if args.classify else None,
            ),
        )
    except OSError as exc:
        return _error(f"cannot write {args.out}: {exc.strerror or exc}", 1)
    print(result.summary(), file=sys.stderr)
    print(f"wrote {written} {args.format} record(s) for {len(commits)} commit(s) to {args.out}")
    return 0


def run_push(args: argparse.Namespace) -> int:
    try:
        count = push(args.file, args.name, token=args.token, private=args.private, split=args.split)
    except ExportError as exc:
        return _error(str(exc))
    print(f"pushed {count} record(s) to https://huggingface.co/datasets/{args.name} (split {args.split})")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    try:
        count, _rows = pull(args.name, split=args.split, out=args.out)
    except ExportError as exc:
        return _error(str(exc))
    where = f" into {args.out}" if args.out else " (in the local Hugging Face cache)"
    print(f"pulled {count} record(s) of {args.name}{where}")
    return 0


def add_dataset_commands(dataset: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``build``, ``push`` and ``pull`` under ``isobench dataset``."""
    build = dataset.add_parser("build", help="scan a repository's history for perf commits and write a dataset")
    build.add_argument("repo", help="path of a local git repository")
    build.add_argument("--out", required=True, metavar="FILE.jsonl")
    build.add_argument("--format", choices=FORMATS, default="canonical", help="record shape (default: canonical)")
    build.add_argument("--branch", default="HEAD", help="revision to scan back from (default: HEAD)")
    build.add_argument("--since", help="only commits after this date (git's --since)")
    build.add_argument("--until", help="only commits before this date (git's --until)")
    build.add_argument("--max-commits", type=int, metavar="N", help="scan at most N commits")
    build.add_argument("--max-files", type=int, default=20, metavar="N", help="skip commits touching more files")
    build.add_argument("--keyword", action="append", metavar="WORD", help="message keyword (repeatable)")
    build.add_argument("--perf-command", help="perf command recorded on every record")
    build.add_argument("--repo-url", help="the repo field of the records (default: origin URL or path)")
    build.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.add_argument("--classify", action="store_true", help="ask an LLM whether each commit is a real perf change")
    build.add_argument("--model", default="gpt-4o-mini")
    build.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL or OpenAI)")
    build.add_argument("--cache-dir", help="classification cache (default: ~/.cache/isobench/classify)")
    build.add_argument("--workers", type=int, default=4, help="concurrent LLM requests")
    build.add_argument("--keep-rejected", action="store_true", help="keep commits the LLM says are not perf")
    build.set_defaults(func=run_build)
    push_cmd = dataset.add_parser("push", help="upload a JSONL dataset to the Hugging Face hub (needs HF_TOKEN)")
    push_cmd.add_argument("file")
    push_cmd.add_argument("name", help="OWNER/NAME")
    push_cmd.add_argument("--token", help="write token (default: HF_TOKEN)")
    push_cmd.add_argument("--split", default="train")
    push_cmd.add_argument("--private", action="store_true")
    push_cmd.set_defaults(func=run_push)
    pull_cmd = dataset.add_parser("pull", help="download a hub dataset (from the local cache when offline)")
    pull_cmd.add_argument("name", help="OWNER/NAME or hf:OWNER/NAME[:split]")
    pull_cmd.add_argument("--split", default=None)
    pull_cmd.add_argument("--out", metavar="FILE.jsonl", help="also write the rows as JSONL")
    pull_cmd.set_defaults(func=run_pull)
