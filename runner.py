#!/usr/bin/env python3
"""Mystery Guest: synthetic journeys against the casino platform.

    python runner.py serve        --config FILE [--listen HOST:PORT]     scheduled runner (the container)
    python runner.py run          --config FILE [--scenario N]... [--tag T]...   once: CI gate / triage
    python runner.py list         [--config FILE] [--shard I/N]          scenarios, tags, intervals
    python runner.py check-config FILE                                   validate a config
    python runner.py schema                                              the config's JSON Schema
    python runner.py sandbox      [...]                                  the built-in stand-in platform

Exit codes: 0 passed, 1 a run failed (or nothing ran), 2 usage or config error. A usage or
config error is one line per problem on stderr, naming the flag, the ``MG_*`` variable or
the place in the YAML; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from config.loader import DEFAULT_CONFIG, ConfigError, load_settings
from config.settings import Settings, check_region, parse_listen
from harness.logs import LOG_FORMATS
from harness.shards import WHOLE, Shard, ShardError

if TYPE_CHECKING:
    from harness.discovery import ScenarioPlan
    from harness.scenario import Scenario

USAGE_ERROR = 2
MAX_ERROR_LINES = 20
MAX_LINE_CHARS = 300

_EPILOGS = {
    "run": """exit codes:
  0  every run passed (a flaky pass counts as passed, and is reported as flaky)
  1  a run failed, timed out or was aborted, services stayed unhealthy, or nothing ran
  2  usage or config error

example (a post-deploy gate):
  python runner.py run --config config/prod.yaml --tag smoke --wait-healthy 120 --retries 1 \\
      --retry-delay 5 --junit reports/synthetic.xml --report reports/synthetic.json \\
      --summary "$GITHUB_STEP_SUMMARY" --artifacts reports/artifacts""",
    "serve": """exit codes:
  0  stopped by SIGTERM or SIGINT after draining in-flight runs
  2  usage or config error, or nothing to schedule
SIGHUP reloads the config (maintenance windows, targets' settings) without a restart.

example:
  python runner.py serve --config config/prod.yaml --listen 0.0.0.0:9150
  python runner.py serve --config config/prod.yaml --shard 2/4   # the second of four replicas""",
    "list": """exit codes:
  0  listed
  2  usage error

example:
  python runner.py list
  python runner.py list --config config/prod.yaml --shard 2/4   # the schedules replica 2 of 4 runs""",
    "check-config": """exit codes:
  0  the config is valid (one summary line)
  2  it is not: one line per problem, named by its place (targets.prod.vault_url: not a URL)

example:
  python runner.py check-config config/prod.yaml""",
    "schema": """exit codes:
  0  printed

example:
  python runner.py schema > config/schema.json""",
}


class UsageError(Exception):
    """A bad flag, variable or config: its lines go to stderr and the exit code is 2."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = list(lines)


class OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage block before the error; a usage error here is one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _bounded(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 15] + f"... (+{len(text) - limit + 15} chars)"


def _print_errors(lines: Sequence[str]) -> int:
    shown = [_bounded(line) for line in lines[:MAX_ERROR_LINES]]
    if len(lines) > MAX_ERROR_LINES:
        shown.append(f"... and {len(lines) - MAX_ERROR_LINES} more errors")
    for line in shown:
        print(line, file=sys.stderr)
    return USAGE_ERROR


# -- flag types: argparse turns their ArgumentTypeError into "argument --flag: ..." -----------
def _at_least_zero(kind: type[int] | type[float], unit: str) -> Callable[[str], float]:
    """An argparse type: a finite ``kind`` (seconds, a count) of 0 or more."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be {unit} >= 0, got {text[:40]!r}")
        return value

    return parse


_seconds = _at_least_zero(float, "a number of seconds")
_count = _at_least_zero(int, "a whole number")


def _region(text: str) -> str:
    try:
        return check_region(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _listen(text: str) -> str:
    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _shard_flag(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(f"{text[:20]!r}: {exc}") from None


def _shard(args: argparse.Namespace) -> Shard:
    """This replica's share: ``--shard``, else ``MG_SHARD``, else the whole region."""
    if args.shard is not None:
        shard: Shard = args.shard
        return shard
    text = os.environ.get("MG_SHARD")
    if text is None:
        return WHOLE
    try:
        return Shard.parse(text)
    except ShardError as exc:
        raise UsageError(f"MG_SHARD={text[:20]!r}: {exc}") from None


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text[:80]!r}")
    return text


# -- loading -------------------------------------------------------------------------------
def _catalogue() -> dict[str, type[Scenario]]:
    from harness.discovery import discover

    return discover()


def _load(path: Path, region: str | None = None, *, check_secrets: bool = True) -> Settings:
    found = _catalogue()
    tags = {tag for scenario in found.values() for tag in scenario.tags}
    settings = load_settings(path, scenario_names=found, scenario_tags=tags, check_secrets=check_secrets)
    if region:
        runner = settings.runner.model_copy(update={"region": region})
        settings = settings.model_copy(update={"runner": runner})
    return settings


def _plans(args: argparse.Namespace, settings: Settings, shard: Shard = WHOLE) -> list[ScenarioPlan]:
    """The selection, or a ``UsageError`` naming the flag or config place that breaks it."""
    from harness.discovery import SelectionError, plan

    found = _catalogue()
    known_tags = sorted({tag for scenario in found.values() for tag in scenario.tags})
    for tag in getattr(args, "tag", None) or []:
        if tag not in known_tags:
            raise UsageError(f"--tag {tag[:60]}: unknown tag; known: {', '.join(known_tags)}")
    try:
        plans = plan(
            settings,
            found,
            names=getattr(args, "scenario", None),
            tags=getattr(args, "tag", None),
            targets=getattr(args, "target", None),
            shard=shard,
        )
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    missing = _accountless(settings, plans)
    if missing:
        raise UsageError(*missing)
    return plans


def _accountless(settings: Settings, plans: list[ScenarioPlan]) -> list[str]:
    """Scheduled journeys that log in but whose target names no account for them (one line per target)."""
    names: dict[str, list[str]] = {}
    for p in plans:
        target = settings.targets[p.target]
        if not p.scenario.needs_account(p.options) or (p.scenario.moves_money and not target.allow_money):
            continue
        accounts = target.accounts
        if accounts is None or accounts.username_for(p.name, settings.runner.region) is None:
            names.setdefault(p.target, []).append(p.name)
    return [
        f"targets.{target}.accounts: no account for scheduled scenario(s) {', '.join(sorted(set(listed)))}"
        " (set accounts.default or accounts.by_scenario, or deselect them)"
        for target, listed in names.items()
    ]


def _skipped_runs_warnings(plans: list[ScenarioPlan]) -> list[str]:
    seen = set()
    lines = []
    for p in plans:
        if p.timeout_seconds > p.interval_seconds and p.name not in seen:
            seen.add(p.name)
            lines.append(
                f"warning: scenarios.overrides.{p.name}: timeout_seconds {p.timeout_seconds:g} is above "
                f"interval_seconds {p.interval_seconds:g}: in serve mode a run still going when the next "
                "comes due makes that one skipped"
            )
    return lines


def _listen_problem(listen: str) -> str | None:
    """Try the address as the server will (every address it resolves to): a bad one fails here."""
    host, port = parse_listen(listen)
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:  # a name with an empty label fails in the IDNA codec
        return f"cannot resolve {host[:60]!r}: {getattr(exc, 'strerror', None) or exc}"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return f"cannot listen on {address[0]} port {port}: {exc.strerror}"
    return None


def _check_outputs(args: argparse.Namespace) -> None:
    """Report, JUnit and artifacts paths are opened before the runs, not found unwritable after them."""
    from harness.oneshot import output_problem

    outputs = [
        ("--junit", getattr(args, "junit", None), False),
        ("--report", getattr(args, "report", None), False),
        ("--summary", getattr(args, "summary", None), False),
        ("--artifacts", args.artifacts, True),
        ("--html", getattr(args, "html", None), True),
    ]
    problems = [(flag, path, output_problem(Path(path), directory)) for flag, path, directory in outputs if path]
    if any(problem for _, _, problem in problems):
        raise UsageError(*(f"{flag} {path}: {problem}" for flag, path, problem in problems if problem))


# -- commands ------------------------------------------------------------------------------
def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(Path(args.file))
    plans = _plans(argparse.Namespace(), settings)
    for line in _skipped_runs_warnings(plans):
        print(_bounded(line), file=sys.stderr)
    names = list(settings.targets)
    shown = ", ".join(names[:5]) + (f", ... and {len(names) - 5} more" if len(names) > 5 else "")
    print(
        _bounded(
            f"{args.file}: ok: {len(names)} target(s) ({shown}), {len(plans)} scheduled runs, "
            f"region {settings.runner.region}"
        )
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from config.schema import render_schema

    sys.stdout.write(render_schema())
    return 0


def cmd_list_shard(settings: Settings, shard: Shard) -> int:
    """The schedules (scenario x target) one replica runs."""
    everything = _plans(argparse.Namespace(), settings)
    mine = _plans(argparse.Namespace(), settings, shard)
    rows = [("SCENARIO", "TARGET", "INTERVAL", "TAGS")]
    rows += [(p.name, p.target, f"{p.interval_seconds:g}s", ",".join(p.scenario.tags)) for p in mine]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    print(f"shard {shard.label} of region {settings.runner.region}: {len(mine)} of {len(everything)} schedules")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Every scenario with the interval and timeout the config gives it ('*': overridden there);
    with a shard (``--shard`` or ``MG_SHARD``), the schedules that replica runs."""
    shard = _shard(args)
    settings = _load(Path(args.config), check_secrets=False)
    if args.shard is not None or "MG_SHARD" in os.environ:
        return cmd_list_shard(settings, shard)
    selected = {p.name: p for p in _plans(argparse.Namespace(), settings)}
    rows = [("SCENARIO", "TAGS", "INTERVAL", "TIMEOUT", "MONEY", "SCHEDULED", "CHECKS")]
    for name, scenario in sorted(_catalogue().items()):
        override = settings.scenarios.overrides.get(name)
        interval = (override.interval_seconds if override else None) or scenario.interval_seconds
        timeout = (override.timeout_seconds if override else None) or scenario.timeout_seconds
        rows.append(
            (
                name,
                ",".join(scenario.tags),
                f"{interval:g}s" + ("*" if override and override.interval_seconds else ""),
                f"{timeout:g}s" + ("*" if override and override.timeout_seconds else ""),
                "yes" if scenario.moves_money else "no",
                "yes" if name in selected else "no",
                scenario.summary(),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:6], widths, strict=True)) + "  " + row[6])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.logs import setup_logging
    from harness.oneshot import exit_code, push_metrics, run_once, wait_healthy
    from harness.reports import render_table, write_json, write_junit
    from harness.runtime import Runtime
    from harness.summary import write_summary

    settings = _load(Path(args.config), args.region)
    plans = _plans(args, settings)
    _check_outputs(args)
    setup_logging("DEBUG" if args.verbose else settings.runner.log_level, log_format=args.log_format)
    runtime = Runtime(settings, verbose=args.verbose, artifacts_dir=Path(args.artifacts) if args.artifacts else None)
    targets = sorted({p.target for p in plans}) or list(settings.targets)
    if args.wait_healthy is not None:
        started = time.monotonic()
        failing = asyncio.run(wait_healthy(runtime, targets, args.wait_healthy))
        if failing:
            waited = time.monotonic() - started
            print(
                f"error: services not healthy after {waited:.1f} s (--wait-healthy {args.wait_healthy:g}): "
                + "; ".join(failing),
                file=sys.stderr,
            )
            return 1
    results = asyncio.run(run_once(runtime, plans, retries=args.retries, retry_delay=args.retry_delay))
    print(render_table(results))
    for flag, path, write in (
        ("--junit", args.junit, write_junit),
        ("--report", args.report, write_json),
        ("--summary", args.summary, write_summary),
    ):
        if path:
            try:
                write(results, Path(path))
            except OSError as exc:
                print(f"error: {flag} {path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
                return 1
    if args.html:
        from harness.html_report import write_html_report

        try:
            pages = settings.runner.pages
            write_html_report(results, Path(args.html), settings.runner.region, pages.trace_url_template)
        except OSError as exc:
            print(f"error: --html {args.html}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 1
    if args.push_gateway:
        try:
            push_metrics(runtime, args.push_gateway, targets)
        except OSError as exc:
            print(f"error: --push-gateway {args.push_gateway}: {exc}", file=sys.stderr)
            return 1
    if not results:
        print("nothing selected" + ("" if args.allow_empty else " (use --allow-empty to accept)"), file=sys.stderr)
    return exit_code(results, args.allow_empty)


def cmd_serve(args: argparse.Namespace) -> int:
    import harness.exact_timing
    from harness.budget import LedgerError
    from harness.logs import setup_logging
    from harness.runtime import Runtime
    from harness.scheduler import Service

    shard = _shard(args)
    settings = _load(Path(args.config), args.region)
    plans = _plans(args, settings, shard)
    if not plans and (shard == WHOLE or not _plans(args, settings)):
        raise UsageError("error: nothing to schedule: the selection is empty")
    flag = "--listen" if args.listen else "runner.listen (or MG_LISTEN)"
    listen = args.listen or settings.runner.listen
    problem = _listen_problem(listen)
    if problem:
        raise UsageError(f"{flag} {listen}: {problem}")
    _check_outputs(args)
    if not plans:  # a replica whose siblings own every schedule still reports, or ShardUnwatched fires
        print(
            f"warning: shard {shard.label} owns none of the selected schedules; serving /metrics only", file=sys.stderr
        )
    setup_logging(settings.runner.log_level, log_format=args.log_format)
    artifacts = Path(args.artifacts) if args.artifacts else settings.runner.artifacts_dir
    try:  # the ledger keeps today's stake spending across restarts
        runtime = Runtime(
            settings, artifacts_dir=artifacts, shard=shard, budget_ledger=artifacts / f"stake-budget-{shard.slug}.json"
        )
    except LedgerError as exc:
        raise UsageError(f"error: {exc}") from None

    def reload() -> tuple[Settings, list[ScenarioPlan]]:  # SIGHUP: the same file, flags, shard and checks
        fresh = _load(Path(args.config), args.region)
        return fresh, _plans(args, fresh, shard)

    service = Service(
        runtime,
        plans,
        listen,
        settings.runner.shutdown_grace_seconds,
        max_start_offset_seconds=args.max_start_offset,
        reload=reload,
    )
    harness.exact_timing.settle_for_timing()  # looked up on each call: the bench's "before" replaces it
    return asyncio.run(service.serve())


def cmd_sandbox(rest: list[str]) -> int:
    try:
        from sandbox.cli import main as sandbox_main
    except ImportError as exc:
        raise UsageError(f"error: the sandbox needs the 'sandbox' extra (pip install -e '.[sandbox]'): {exc}") from None
    return sandbox_main(rest)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="runner.py", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_EPILOGS[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    check = command("check-config", "validate a config file")
    check.add_argument("file")

    command("schema", "print the config's JSON Schema (for editors and check-jsonschema)")

    listing = command("list", "list scenarios with tags and intervals")
    listing.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config whose overrides to show")
    listing.add_argument(
        "--shard", type=_shard_flag, metavar="I/N", help="the schedules replica I of N runs (MG_SHARD)"
    )

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config (default: the sandbox's)")
        p.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
        p.add_argument("--tag", action="append", help="only scenarios with this tag (repeatable)")
        p.add_argument("--target", action="append", help="only this target (repeatable)")
        p.add_argument("--region", type=_region, help="this runner's region (overrides config and MG_REGION)")
        p.add_argument("--artifacts", help="where failure artifacts go (default: runner.artifacts_dir)")
        p.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            default="auto",
            help="log lines as JSON or readable text (default auto: text on a terminal, JSON elsewhere)",
        )

    run = command("run", "run the selection once (CI gate, triage)")
    selection(run)
    run.add_argument("--junit", help="write JUnit XML here")
    run.add_argument("--report", help="write a JSON report here")
    run.add_argument("--retries", type=_count, default=0, help="retry a failed run N times (reported as flaky)")
    run.add_argument(
        "--retry-delay",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait before the first retry, doubling for each next one (default 0)",
    )
    run.add_argument(
        "--summary",
        metavar="PATH",
        help='append a Markdown summary here (e.g. "$GITHUB_STEP_SUMMARY"); links from the CI variables',
    )
    run.add_argument(
        "--html",
        metavar="DIR",
        help="write the runs' pages here as a static report (index.html, artifacts copied alongside)",
    )
    run.add_argument("--allow-empty", action="store_true", help="exit 0 when nothing ran")
    run.add_argument("--wait-healthy", type=_seconds, metavar="SECONDS", help="first wait for every /health")
    run.add_argument("--push-gateway", type=_http_url, metavar="URL", help="push this run's metrics to a Pushgateway")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logs; keep every browser run's trace")

    serve = command("serve", "run scenarios on their intervals and export /metrics")
    selection(serve)
    serve.add_argument(
        "--listen",
        type=_listen,
        help="HOST:PORT for /metrics, /healthz, /readyz and the pages (default 127.0.0.1:9150)",
    )
    serve.add_argument(
        "--max-start-offset",
        type=_seconds,
        default=60.0,
        help="spread first runs over up to this many seconds (default 60)",
    )
    serve.add_argument(
        "--shard", type=_shard_flag, metavar="I/N", help="run only replica I of N's share of the schedules (MG_SHARD)"
    )

    sub.add_parser(
        "sandbox", help="start the built-in sandbox platform (see: runner.py sandbox --help)", add_help=False
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "check-config": cmd_check_config,
        "schema": cmd_schema,
        "list": cmd_list,
        "run": cmd_run,
        "serve": cmd_serve,
    }
    try:
        if argv and argv[0] == "sandbox":
            return cmd_sandbox(argv[1:])
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help
            return int(exc.code or 0) if exc.code in (0, None) else USAGE_ERROR
        return commands[args.command](args)
    except ConfigError as exc:
        return _print_errors(exc.errors)
    except UsageError as exc:
        return _print_errors(exc.lines)


if __name__ == "__main__":
    sys.exit(main())
