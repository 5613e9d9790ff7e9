"""The command line: `python -m core usage|providers|parse|match|letter|demo-db`.

For scripting and analysts. Results go to stdout (JSON with --json, or for parse); progress bars and the one-line
errors go to stderr, so `python -m core parse cv.pdf > cv.json` stays clean. Exit codes: 0 ok, 1 bad input or a
failed AI call, 2 bad command line (argparse's convention), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.base import CVCopilotError, InputError, TaskType

#: Demo prices (USD per 1K tokens: input, output) for fake rows; close to the providers' list prices, not authoritative.
DEMO_PRICES: dict[str, tuple[float, float]] = {
    "openai": (0.0025, 0.01),
    "gemini": (0.0001, 0.0004),
    "groq": (0.00005, 0.00008),
    "grok": (0.0003, 0.0005),
    "custom": (0.0, 0.0),
    "local": (0.0, 0.0),
}
_DEMO_TASK_WEIGHTS: dict[str, float] = {
    "cv_parsing": 0.2,
    "cv_tailoring": 0.15,
    "cover_letter": 0.15,
    "email_drafting": 0.05,
    "fast_summary": 0.15,
    "job_analysis": 0.1,
    "job_matching": 0.2,
}
_DEMO_TOKENS: dict[str, tuple[int, int]] = {  # mean (input, output) tokens per task
    "cv_parsing": (1800, 700),
    "cv_tailoring": (2600, 1200),
    "cover_letter": (2200, 600),
    "email_drafting": (600, 250),
    "fast_summary": (1500, 150),
    "job_analysis": (1200, 400),
    "job_matching": (3000, 300),
}
_DEMO_LATENCY_MS: dict[str, float] = {
    "openai": 2400,
    "gemini": 1300,
    "groq": 450,
    "grok": 1600,
    "custom": 3000,
    "local": 40,
}
_DEMO_ERRORS = ("rate_limited", "timeout", "server", "auth", "bad_response", "quota_exhausted")


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


# --- helpers ----------------------------------------------------------------------------------------------------


def _hours(value: str) -> float | None:
    """argparse type for --hours: a positive number, or 'all'."""
    if value.strip().lower() in ("all", "none"):
        return None
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {value!r} (use e.g. 24, 0.5 or 'all')") from None
    if not math.isfinite(hours) or hours <= 0:
        raise argparse.ArgumentTypeError(f"hours must be a finite number > 0, got {value!r}")
    return int(hours) if hours.is_integer() else hours


def _positive_int(value: str) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {number}")
    return number


def check_files(*paths: str) -> None:
    """Fail before any slow work when an input file is missing (a typo should not cost an AI call)."""
    for path in paths:
        file = Path(path)
        if not file.exists():
            raise CLIError(f"file not found: {path}")
        if not file.is_file():
            raise CLIError(f"not a file: {path}")


def read_document(path: str) -> str:
    """Text of a CV or job file (PDF, DOCX, TXT, MD); CLIError with the reason when it cannot be read."""
    check_files(path)
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    from core.documents import extract_text

    try:
        text = extract_text(data, file.name)
    except InputError as exc:
        raise CLIError(f"{path}: {exc}") from None
    if not text.strip():
        raise CLIError(f"{path}: no text found in the file")
    return text


def _progress(iterable: Sequence[Any], desc: str, unit: str = "file") -> Any:
    """A tqdm bar on stderr, shown only when there is more than one item and stderr is a terminal-ish stream."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=unit, file=sys.stderr, disable=len(iterable) < 2, leave=False)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _run(coro: Any) -> Any:
    from core.aio import run_sync

    return run_sync(coro)


# --- commands -----------------------------------------------------------------------------------------------------


def cmd_usage(args: argparse.Namespace) -> int:
    from core.usage_tracker import get_usage_tracker

    filters = {k: v for k, v in (("provider", args.provider), ("task_type", args.task), ("user_id", args.user)) if v}
    stats = get_usage_tracker().get_usage_stats(hours=args.hours, **filters)
    if args.json:
        _print_json(stats)
        return 0
    from core.charts import format_usd, headline_metrics

    head = headline_metrics(stats)
    window = "all time" if args.hours is None else f"last {args.hours} h"
    print(f"Usage, {window}" + (f" ({', '.join(f'{k}={v}' for k, v in filters.items())})" if filters else ""))
    print(
        f"  requests  {head['total_requests']:,} ({head['successful_requests']:,} ok, "
        f"{head['failed_requests']:,} failed)"
    )
    print(
        f"  tokens    {head['total_tokens']:,} ({head['total_input_tokens']:,} in, {head['total_output_tokens']:,} out)"
    )
    print(f"  cost      {format_usd(head['cost_usd'])} (avg {format_usd(head['avg_cost_per_call'])} per call)")
    print(f"  all time  {format_usd(head['total_cost_all_time'])}")
    for title, key in (("By provider", "cost_by_provider"), ("By task", "cost_by_task")):
        costs = stats.get(key) or {}
        if costs:
            print(f"{title}:")
            for name, cost in sorted(costs.items(), key=lambda kv: -kv[1]):
                print(f"  {name:<16}{format_usd(cost)}")
    return 0


def _provider_rows() -> list[dict[str, Any]]:
    """The router's view of providers, or (before any router exists) the settings' view."""
    try:
        from core.router import get_model_router

        return list(get_model_router().provider_status())
    except ImportError:
        from core.config import get_settings

        return [
            {
                "name": p.name,
                "configured": p.configured,
                "model": p.model,
                "base_url": p.base_url,
                "key_hint": p.api_key.masked() if p.api_key else "",
            }
            for p in get_settings().providers.values()
        ]


def cmd_providers(args: argparse.Namespace) -> int:
    rows = _provider_rows()
    if args.json:
        _print_json(rows)
        return 0
    table = []
    for row in rows:
        price = ""
        if row.get("input_per_1k") is not None:
            price = f"{row['input_per_1k']:.5f} / {row.get('output_per_1k', 0):.5f}"
            price += " (est.)" if row.get("price_estimated") else ""
        table.append(
            [
                row.get("name", ""),
                "yes" if row.get("configured") else "no",
                row.get("model", ""),
                row.get("key_hint") or "-",
                row.get("base_url") or "-",
                price or "-",
                "cooling down" if row.get("cooling_down") else "",
            ]
        )
    print(_table(table, ["provider", "configured", "model", "key", "base URL", "USD/1K in / out", "state"]))
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    text = read_document(args.cv_file)
    from core.ai_service import get_ai_service

    cv = _run(get_ai_service().parse_cv(text, user_id=args.user))
    _print_json(cv)
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    check_files(args.cv_file, *args.job_files)
    cv_text = read_document(args.cv_file)
    jobs = [read_document(path) for path in _progress(args.job_files, "reading jobs")]
    from core.ai_service import get_ai_service

    service = get_ai_service()
    cv = _run(service.parse_cv(cv_text, user_id=args.user))
    results: list[dict[str, Any]] = []
    for path, job in zip(_progress(args.job_files, "matching"), jobs, strict=True):
        matched = _run(service.match_jobs(cv, [job], cv_text=cv_text, user_id=args.user))
        for item in matched:
            row = dict(item) if isinstance(item, dict) else {"result": item}
            row.pop("index", None)  # each job is matched on its own; the file name identifies it
            results.append({"job_file": path, **row})
    results.sort(key=lambda r: -_score_of(r))
    if args.json:
        _print_json(results)
        return 0
    table = [[r["job_file"], _score_text(r), str(r.get("title", ""))[:60]] for r in results]
    print(_table(table, ["job file", "score", "title"]))
    return 0


def _score_of(result: dict[str, Any]) -> float:
    for key in ("score", "match_score", "overall", "overall_score"):
        value = result.get(key)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def _score_text(result: dict[str, Any]) -> str:
    score = _score_of(result)
    return f"{score:g}"


def cmd_letter(args: argparse.Namespace) -> int:
    if not args.company.strip():
        raise CLIError("--company must not be empty")
    check_files(args.cv_file, args.job_file)
    cv_text = read_document(args.cv_file)
    job = read_document(args.job_file)
    from core.ai_service import get_ai_service

    service = get_ai_service()
    cv = _run(service.parse_cv(cv_text, user_id=args.user))
    letter = _run(service.generate_cover_letter(cv, job, args.company.strip(), user_id=args.user))
    if args.output:
        Path(args.output).write_text(letter, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(letter)
    return 0


def demo_rows(
    rows: int,
    *,
    days: float = 90.0,
    users: int = 40,
    seed: int = 7,
    now: float | None = None,
    recent_share: float = 0.1,
) -> Iterator[dict[str, Any]]:
    """Plausible fake usage rows for demos and benchmarks: `recent_share` in the last 24 h, the rest over `days`.

    Most calls go to the task's default provider; some fall back to cheaper ones or the free local engine, a few
    are cache hits or failures, so every chart and the savings section have something to show.
    """
    import numpy as np

    from core.config import DEFAULT_MODELS, DEFAULT_TASK_ROUTING

    rng = np.random.default_rng(seed)
    now = time.time() if now is None else now
    tasks = list(_DEMO_TASK_WEIGHTS)
    task_idx = rng.choice(len(tasks), size=rows, p=np.array(list(_DEMO_TASK_WEIGHTS.values())))
    # Recent hours are busier: ages follow an exponential-ish mix so 1 h and 24 h windows are not empty.
    ages = np.where(rng.random(rows) < recent_share, rng.random(rows) * 86_400, rng.random(rows) * days * 86_400)
    ts = np.sort(now - ages)
    user_names = [f"user-{i:03d}" for i in range(1, users + 1)] + ["anonymous"]
    user_weights = 1.0 / np.arange(1, len(user_names) + 1)
    user_idx = rng.choice(len(user_names), size=rows, p=user_weights / user_weights.sum())
    route = rng.random(rows)
    fallback = ["groq", "gemini", "local"]
    fallback_idx = rng.integers(0, len(fallback), size=rows)
    success = rng.random(rows) >= 0.03
    cached = (rng.random(rows) < 0.08) & success
    error_idx = rng.integers(0, len(_DEMO_ERRORS), size=rows)
    in_noise = rng.lognormal(0.0, 0.35, size=rows)
    out_noise = rng.lognormal(0.0, 0.45, size=rows)
    lat_noise = rng.lognormal(0.0, 0.5, size=rows)
    for i in range(rows):
        task = tasks[task_idx[i]]
        default = str(DEFAULT_TASK_ROUTING[TaskType(task)])
        provider = default if route[i] < 0.8 else fallback[fallback_idx[i]]
        mean_in, mean_out = _DEMO_TOKENS[task]
        tokens_in = int(mean_in * in_noise[i])
        tokens_out = int(mean_out * out_noise[i]) if success[i] else 0
        p_in, p_out = DEMO_PRICES[provider]
        b_in, b_out = DEMO_PRICES[default]
        full = tokens_in / 1000 * p_in + tokens_out / 1000 * p_out
        baseline = tokens_in / 1000 * b_in + tokens_out / 1000 * b_out
        ok = bool(success[i])
        hit = bool(cached[i])
        yield {
            "ts": float(ts[i]),
            "user_id": user_names[user_idx[i]],
            "task_type": task,
            "provider": provider,
            "model": DEFAULT_MODELS[provider],
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "cost_usd": 0.0 if (hit or not ok) else round(full, 8),
            "baseline_cost_usd": round(baseline, 8),
            "saved_cost_usd": round(full, 8) if hit else 0.0,
            "latency_ms": 2.0 if hit else round(_DEMO_LATENCY_MS[provider] * lat_noise[i], 1),
            "success": ok,
            "error_kind": None if ok else _DEMO_ERRORS[error_idx[i]],
            "cached": hit,
            "fallback_chain": [default, provider] if provider != default else [provider],
            "tokens_estimated": provider == "local",
            "price_estimated": False,
            "challenger": False,
        }


def cmd_demo_db(args: argparse.Namespace) -> int:
    from itertools import islice

    from tqdm import tqdm

    from core.config import get_settings, is_db_url
    from core.usage_tracker import UsageTracker

    settings = get_settings()
    target: str | Path = (args.db if is_db_url(args.db) else Path(args.db)) if args.db else settings.db_path
    if not args.db and settings.db_url:
        target = str(settings.db_url)
    tracker = UsageTracker(target, local_path=settings.db_path)
    if args.replace:
        tracker.clear()
    source = demo_rows(args.rows, days=args.days, users=args.users, seed=args.seed)
    written = 0
    with tqdm(total=args.rows, desc="writing demo rows", unit="row", file=sys.stderr, unit_scale=True) as bar:
        while chunk := list(islice(source, 50_000)):
            written += tracker.record_many(chunk)
            bar.update(len(chunk))
    tracker.close()
    print(f"wrote {written:,} demo rows to {tracker.location}")
    return 0


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """Copy the SQLite usage DB into PostgreSQL (idempotent: run it again after more calls, it copies the rest)."""
    from core.config import ConfigError, check_db_url, get_settings, is_db_url

    if not is_db_url(args.to):
        raise CLIError("--to must be a postgresql:// URL (postgresql://user:pass@host/db)")
    try:
        url = check_db_url(args.to, "--to")
    except ConfigError as exc:
        raise CLIError(str(exc).replace("CV_COPILOT_DB (from --to)", "--to")) from None
    settings = get_settings()
    source = Path(args.source).expanduser() if args.source else settings.db_path
    from core.tracker.pg_migrate import copy_usage

    print(copy_usage(source, url, local_path=settings.db_path))
    return 0


# --- entry point --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="CV Copilot from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    usage = sub.add_parser("usage", help="usage statistics (the seed's JSON with --json)")
    usage.add_argument("--hours", type=_hours, default=24, help="window in hours, or 'all' (default 24)")
    usage.add_argument("--json", action="store_true", help="print the seed's JSON")
    usage.add_argument("--provider", action="append", help="only this provider (repeatable)")
    usage.add_argument("--task", action="append", help="only this task type (repeatable)")
    usage.add_argument("--user", action="append", help="only this user (repeatable)")
    usage.set_defaults(func=cmd_usage)

    providers = sub.add_parser("providers", help="providers: configured or not, model, key hint, price")
    providers.add_argument("--json", action="store_true")
    providers.set_defaults(func=cmd_providers)

    def with_user(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--user", default="cli", help="user id recorded with the calls (default 'cli')")
        return p

    parse = with_user(sub.add_parser("parse", help="parse a CV (PDF, DOCX, TXT) into JSON"))
    parse.add_argument("cv_file")
    parse.set_defaults(func=cmd_parse)

    match = with_user(sub.add_parser("match", help="score a CV against one or more job descriptions"))
    match.add_argument("cv_file")
    match.add_argument("job_files", nargs="+", metavar="job_file")
    match.add_argument("--json", action="store_true")
    match.set_defaults(func=cmd_match)

    letter = with_user(sub.add_parser("letter", help="write a cover letter for a job"))
    letter.add_argument("cv_file")
    letter.add_argument("job_file")
    letter.add_argument("--company", required=True, help="company name used in the letter")
    letter.add_argument("--output", "-o", help="write the letter to this file instead of stdout")
    letter.set_defaults(func=cmd_letter)

    demo = sub.add_parser("demo-db", help="fill a usage DB with fake rows (for demos and benchmarks)")
    demo.add_argument("--rows", type=_positive_int, default=10_000)
    demo.add_argument("--days", type=float, default=90.0, help="spread rows over the last DAYS (default 90)")
    demo.add_argument("--users", type=_positive_int, default=40)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--db", help="database file or postgresql:// URL (default: CV_COPILOT_DB or data/usage.db)")
    demo.add_argument("--replace", action="store_true", help="delete existing rows first")
    demo.set_defaults(func=cmd_demo_db)

    migrate = sub.add_parser(
        "migrate-db", help="copy the SQLite usage DB into PostgreSQL (safe to run again: copies what is new)"
    )
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user:pass@host/db")
    migrate.add_argument("--from", dest="source", metavar="FILE", help="SQLite file (default: CV_COPILOT_DB)")
    migrate.set_defaults(func=cmd_migrate_db)

    hashing = sub.add_parser(
        "hash-password", help="print a hash of the Settings page password, for [security] in the config file"
    )
    hashing.set_defaults(func=cmd_hash_password)
    return parser


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Ask for the password twice (never echoed, never an argument that would land in the shell history)."""
    import getpass

    from core.config import hash_password

    first = getpass.getpass("Settings password: ")
    if not first:
        raise CLIError("the password is empty")
    if getpass.getpass("Again: ") != first:
        raise CLIError("the passwords do not match")
    print("# Under [security] in cv_copilot.toml (the Settings page asks for it when served on a network):")
    print(f'settings_password_hash = "{hash_password(first)}"')
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except CVCopilotError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
    except ValueError as exc:  # a broken settings file, a bad value in the config
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
