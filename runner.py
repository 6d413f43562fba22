#!/usr/bin/env python3
"""Mystery Guest: synthetic journeys against the casino platform.

    python runner.py serve        --config FILE [--listen HOST:PORT]     scheduled runner (the container)
    python runner.py run          --config FILE [--scenario N]... [--tag T]...   once: CI gate / triage
    python runner.py list         [--config FILE]                        scenarios, tags, intervals
    python runner.py check-config FILE                                   validate a config
    python runner.py schema                                              the config's JSON Schema
    python runner.py sandbox      [...]                                  the built-in stand-in platform

Exit codes: 0 passed, 1 a run failed (or nothing ran), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from config.loader import DEFAULT_CONFIG, ConfigError, load_settings
from config.settings import Settings

USAGE_ERROR = 2


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _load(path: Path, region: str | None = None) -> Settings:
    from harness.discovery import discover

    settings = load_settings(path, scenario_names=discover())
    if region:
        runner = settings.runner.model_copy(update={"region": region})
        settings = settings.model_copy(update={"runner": runner})
    return settings


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        settings = _load(Path(args.file))
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return USAGE_ERROR
    from harness.discovery import SelectionError, discover, plan

    try:
        plans = plan(settings, discover())
    except SelectionError as exc:
        print(exc, file=sys.stderr)
        return USAGE_ERROR
    targets = ", ".join(settings.targets)
    print(
        f"{args.file}: ok: {len(settings.targets)} target(s) ({targets}), {len(plans)} scheduled runs, "
        f"region {settings.runner.region}"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from config.schema import render_schema

    sys.stdout.write(render_schema())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness.discovery import discover

    found = discover()
    rows = [("SCENARIO", "TAGS", "INTERVAL", "TIMEOUT", "MONEY", "CHECKS")]
    for name, scenario in sorted(found.items()):
        rows.append(
            (
                name,
                ",".join(scenario.tags),
                f"{scenario.interval_seconds:g}s",
                f"{scenario.timeout_seconds:g}s",
                "yes" if scenario.moves_money else "no",
                scenario.summary(),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    return 0


def _plans(args: argparse.Namespace, settings: Settings) -> list:  # type: ignore[type-arg]
    from harness.discovery import discover, plan

    return plan(settings, discover(), names=args.scenario, tags=args.tag, targets=args.target)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.discovery import SelectionError
    from harness.logs import setup_logging
    from harness.oneshot import exit_code, push_metrics, run_once, wait_healthy
    from harness.reports import render_table, write_json, write_junit
    from harness.runtime import Runtime

    if args.retries < 0:
        return _fail("--retries must be 0 or more")
    try:
        settings = _load(Path(args.config), args.region)
        plans = _plans(args, settings)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return USAGE_ERROR
    except SelectionError as exc:
        return _fail(str(exc))
    setup_logging("DEBUG" if args.verbose else settings.runner.log_level)
    runtime = Runtime(settings, verbose=args.verbose, artifacts_dir=Path(args.artifacts) if args.artifacts else None)
    targets = sorted({p.target for p in plans}) or list(settings.targets)
    if args.wait_healthy is not None:
        failing = asyncio.run(wait_healthy(runtime, targets, args.wait_healthy))
        if failing:
            print(f"error: services not healthy after {args.wait_healthy:g} s: " + "; ".join(failing), file=sys.stderr)
            return 1
    results = asyncio.run(run_once(runtime, plans, retries=args.retries))
    print(render_table(results))
    if args.junit:
        write_junit(results, Path(args.junit))
    if args.report:
        write_json(results, Path(args.report))
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
    from harness.discovery import SelectionError
    from harness.logs import setup_logging
    from harness.runtime import Runtime
    from harness.scheduler import Service

    try:
        settings = _load(Path(args.config), args.region)
        plans = _plans(args, settings)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return USAGE_ERROR
    except SelectionError as exc:
        return _fail(str(exc))
    if not plans:
        return _fail("nothing to schedule: the selection is empty")
    setup_logging(settings.runner.log_level)
    runtime = Runtime(settings, artifacts_dir=Path(args.artifacts) if args.artifacts else None)
    listen = args.listen or settings.runner.listen
    service = Service(
        runtime, plans, listen, settings.runner.shutdown_grace_seconds, max_start_offset_seconds=args.max_start_offset
    )
    return asyncio.run(service.serve())


def cmd_sandbox(args: argparse.Namespace, rest: list[str]) -> int:
    try:
        from sandbox.cli import main as sandbox_main
    except ImportError as exc:
        return _fail(f"the sandbox needs the 'sandbox' extra (pip install -e '.[sandbox]'): {exc}")
    return sandbox_main(rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check-config", help="validate a config file")
    check.add_argument("file")

    sub.add_parser("schema", help="print the config's JSON Schema (for editors and check-jsonschema)")

    listing = sub.add_parser("list", help="list scenarios with tags and intervals")
    listing.add_argument("--config", default=str(DEFAULT_CONFIG))

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config (default: the sandbox's)")
        p.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
        p.add_argument("--tag", action="append", help="only scenarios with this tag (repeatable)")
        p.add_argument("--target", action="append", help="only this target (repeatable)")
        p.add_argument("--region", help="this runner's region (overrides config and MG_REGION)")
        p.add_argument("--artifacts", help="where failure artifacts go (default: runner.artifacts_dir)")

    run = sub.add_parser("run", help="run the selection once (CI gate, triage)")
    selection(run)
    run.add_argument("--junit", help="write JUnit XML here")
    run.add_argument("--report", help="write a JSON report here")
    run.add_argument("--retries", type=int, default=0, help="retry a failed run N times (reported as flaky)")
    run.add_argument("--allow-empty", action="store_true", help="exit 0 when nothing ran")
    run.add_argument("--wait-healthy", type=float, metavar="SECONDS", help="first wait for every /health")
    run.add_argument("--push-gateway", metavar="URL", help="push this run's metrics to a Pushgateway")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logs; keep traces of passing runs")

    serve = sub.add_parser("serve", help="run scenarios on their intervals and export /metrics")
    selection(serve)
    serve.add_argument("--listen", help="HOST:PORT for /metrics, /healthz, /readyz (default 127.0.0.1:9150)")
    serve.add_argument(
        "--max-start-offset",
        type=float,
        default=60.0,
        help="spread first runs over up to this many seconds (default 60)",
    )

    sub.add_parser(
        "sandbox", help="start the built-in sandbox platform (see: runner.py sandbox --help)", add_help=False
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        return cmd_sandbox(argparse.Namespace(), argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else USAGE_ERROR
    commands = {
        "check-config": cmd_check_config,
        "schema": cmd_schema,
        "list": cmd_list,
        "run": cmd_run,
        "serve": cmd_serve,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
