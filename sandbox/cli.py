"""``runner.py sandbox`` (or ``python -m sandbox``): start the stand-in platform from the shell."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import socket
import sqlite3
import sys
from typing import NoReturn

from sandbox.context import PROFILES, SandboxSettings
from sandbox.faults import Faults, UnknownFault
from sandbox.server import DEFAULT_DRAIN_SECONDS, run_sandbox

__all__ = ["build_parser", "main", "settings_from"]

PROG = "runner.py sandbox"


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (argparse would print its whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (0-65535): {text[:40]!r}")
    return int(text)


def _seconds(text: str) -> float:
    if not re.fullmatch(r"\d+(\.\d*)?", text):  # no sign, no nan or inf
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text[:40]!r}")
    return float(text)


def build_parser() -> argparse.ArgumentParser:
    defaults = SandboxSettings()
    parser = _OneLineParser(
        prog=PROG,
        description="Run the built-in stand-in casino platform (Vault, Concierge, Room-Service, "
        "the SPA behind a CDN) with fault injection, all in one process.",
    )
    parser.add_argument("--host", default=defaults.host, help="listen address")
    for name in ("cdn", "vault", "concierge", "room_service", "admin"):
        flag = name.replace("_", "-")
        parser.add_argument(
            f"--{flag}-port",
            type=_port,
            default=getattr(defaults, f"{name}_port"),
            metavar="PORT",
            help=f"port of {name} (0: any free port; the URL is printed)",
        )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--seed", type=int, default=None, help="make dice outcomes reproducible")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:PARAM]",
        help="switch a fault on from the start (repeatable), e.g. deposit_fails:EUR",
    )
    parser.add_argument("--db", metavar="PATH", default="", help="Vault's SQLite file")
    parser.add_argument(
        "--drain-seconds",
        type=_seconds,
        default=DEFAULT_DRAIN_SECONDS,
        help="on SIGTERM, how long /health says shutting_down before the servers stop",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=defaults.shutdown_timeout_seconds,
        metavar="SECONDS",
        help="after the drain, how long requests in flight may take before they are cut off",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    return parser


def _flag_problem(args: argparse.Namespace) -> str | None:
    """What argparse cannot see: a host that does not resolve, a ledger file that cannot be opened."""
    for spec in args.fault:
        try:
            Faults.parse(spec)
        except UnknownFault as exc:
            return f"--fault {spec}: {exc}"
    try:
        socket.getaddrinfo(args.host, None)
    except (OSError, UnicodeError):
        return f"--host {args.host[:60]}: not an address or a name that resolves"
    if args.db:
        try:
            sqlite3.connect(args.db).close()  # creates the file the sandbox is about to create anyway
        except sqlite3.Error as exc:
            return f"--db {args.db}: {exc}"
    return None


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    settings = SandboxSettings()
    for name, value in PROFILES[args.profile].items():
        setattr(settings, name, value)
    settings.host = args.host
    settings.cdn_port = args.cdn_port
    settings.vault_port = args.vault_port
    settings.concierge_port = args.concierge_port
    settings.room_service_port = args.room_service_port
    settings.admin_port = args.admin_port
    settings.seed = args.seed
    settings.db_path = args.db
    settings.shutdown_timeout_seconds = args.shutdown_timeout
    return settings


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already explained
        return exc.code if isinstance(exc.code, int) else 2
    problem = _flag_problem(args)
    if problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = settings_from(args)
    return asyncio.run(run_sandbox(settings, args.fault, drain_seconds=args.drain_seconds, access_log=args.access_log))
