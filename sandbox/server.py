"""The launcher: every sandbox service on one asyncio loop in one process, and a graceful stop.

Each service gets its own uvicorn ``Server`` on its own port (as on ECS behind an ALB), plus
the admin API. The launcher binds the sockets itself, so a port in use is one clear error
before anything starts and port 0 picks a free port. Once every server is up it prints one
line per URL and ``sandbox ready``.

On SIGTERM or SIGINT it sets ``ctx.shutting_down`` (so ``/health`` answers 503
``shutting_down`` and a load balancer would stop sending traffic), waits ``drain_seconds``,
then stops the servers, letting requests in flight finish; whatever is still running after
``settings.shutdown_timeout_seconds`` is cut off. The exit code is 0 either way; 1 means a
server failed to start or died on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

import uvicorn
from starlette.types import ASGIApp

from sandbox import admin, vault
from sandbox.accounts import AccountBook
from sandbox.bus import EventBus
from sandbox.context import SandboxContext, SandboxSettings
from sandbox.faults import Faults
from sandbox.traceparents import RecordTraceparents

__all__ = ["DEFAULT_DRAIN_SECONDS", "Service", "build_context", "build_services", "run_sandbox"]

log = logging.getLogger("sandbox.server")

DEFAULT_DRAIN_SECONDS = 0.5
STARTUP_TIMEOUT_SECONDS = 30.0
FORCED_STOP_GRACE_SECONDS = 2.0  # beyond uvicorn's own graceful timeout, before forcing


@dataclass
class Service:
    name: str  # cdn | vault | concierge | room_service | admin
    app: ASGIApp
    port: int


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the launcher (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_context(settings: SandboxSettings, fault_specs: Sequence[str] = ()) -> SandboxContext:
    """The shared context, with ``fault_specs`` (``"name[:param]"``) switched on from the start."""
    faults = Faults()
    for spec in fault_specs:
        faults.switch_on(spec)
    bus = EventBus(faults, lag_seconds=settings.bus_lag_seconds)
    accounts = AccountBook(settings.probe_password, settings.player_password)
    return SandboxContext(settings, faults, bus, accounts)


def _optional_app(module_name: str, ctx: SandboxContext) -> ASGIApp | None:
    """A service written by another engineer, or None (and a log line) while it does not exist."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        log.warning("%s not available yet: skipped", module_name)
        return None
    app: ASGIApp = module.create_app(ctx)
    return app


def build_services(ctx: SandboxContext) -> list[Service]:
    """Every service that exists, in port order; the CDN only if all three backends exist."""
    settings = ctx.settings
    vault_app = vault.create_app(ctx)
    concierge_app = _optional_app("sandbox.concierge", ctx)
    room_app = _optional_app("sandbox.room_service", ctx)
    services: list[Service] = []
    if concierge_app is not None and room_app is not None:
        try:
            cdn = importlib.import_module("sandbox.cdn")
        except ModuleNotFoundError as exc:
            if exc.name != "sandbox.cdn":
                raise
            log.warning("sandbox.cdn not available yet: skipped")
        else:
            cdn_app = cdn.create_app(ctx, vault_app, concierge_app, room_app)
            services.append(Service("cdn", cdn_app, settings.cdn_port))
    else:
        log.warning("cdn skipped: it needs concierge and room_service")
    services.append(Service("vault", vault_app, settings.vault_port))
    if concierge_app is not None:
        services.append(Service("concierge", concierge_app, settings.concierge_port))
    if room_app is not None:
        services.append(Service("room_service", room_app, settings.room_service_port))
    services = [Service(s.name, RecordTraceparents(s.app, s.name, ctx.traceparents), s.port) for s in services]
    services.append(Service("admin", admin.create_app(ctx), settings.admin_port))
    return services


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket whose accepted connections get ``TCP_NODELAY``.

    asyncio sets ``TCP_NODELAY`` only on sockets whose protocol says TCP, and
    ``socket.create_server`` leaves it 0: uvicorn writes an answer's headers and body apart,
    so without it the body waits for the client's delayed ACK (~40 ms) from the second
    request of a kept-alive connection on.
    """
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    server = socket.create_server((host, port), family=family, backlog=2048)
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=server.detach())


def _record_port(settings: SandboxSettings, name: str, port: int) -> None:
    """After binding port 0, the settings say which port was really taken."""
    if name in ("cdn", "vault", "concierge", "room_service", "admin"):
        setattr(settings, f"{name}_port", port)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def run_sandbox(
    settings: SandboxSettings,
    fault_specs: Sequence[str] = (),
    *,
    drain_seconds: float = DEFAULT_DRAIN_SECONDS,
    access_log: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the sandbox until SIGTERM/SIGINT; returns the process exit code."""
    out = out or sys.stdout
    ctx = build_context(settings, fault_specs)
    services = build_services(ctx)
    sockets: list[socket.socket] = []
    for service in services:
        try:
            sock = _listen(settings.host, service.port)
        except OSError as exc:
            log.error("%s cannot listen on %s:%s: %s", service.name, settings.host, service.port, exc)
            for opened in sockets:
                opened.close()
            return 1
        sockets.append(sock)
        _record_port(settings, service.name, sock.getsockname()[1])

    servers = [
        _Server(
            uvicorn.Config(
                service.app,
                log_config=None,
                access_log=access_log,
                lifespan="on",
                timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_timeout_seconds)),
            )
        )
        for service in services
    ]
    tasks = [
        asyncio.create_task(_serve(server, sock), name=service.name)
        for server, sock, service in zip(servers, sockets, services, strict=True)
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal, stop, servers, signum)
    try:
        if not await _wait_started(servers, tasks):
            log.error("a server failed to start")
            await _stop(ctx, servers, tasks, 0.0)
            return 1
        for service, sock in zip(services, sockets, strict=True):
            print(f"{service.name:<13}{_url(settings.host, sock.getsockname()[1])}", file=out)
        print("sandbox ready", file=out, flush=True)
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        crashed = stopper not in done
        stopper.cancel()
        if crashed:
            log.error("a server stopped on its own: shutting the sandbox down")
        else:
            log.info("signal received: draining for %.1f s", drain_seconds)
        await _stop(ctx, servers, tasks, 0.0 if crashed else drain_seconds)
        return 1 if crashed else 0
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


class ServerFailed(RuntimeError):
    """A uvicorn server gave up (it calls ``sys.exit`` when an app's startup fails)."""


async def _serve(server: _Server, sock: socket.socket) -> None:
    # A SystemExit inside a task would escape the event loop and kill every other service.
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        raise ServerFailed(f"server exited with code {exc.code}") from None


def _on_signal(stop: asyncio.Event, servers: Sequence[_Server], signum: int) -> None:
    if stop.is_set():  # a second signal: stop waiting for anything
        log.warning("second signal %s: forcing exit", signal.Signals(signum).name)
        for server in servers:
            server.force_exit = True
    stop.set()


async def _wait_started(servers: Sequence[_Server], tasks: Sequence[asyncio.Task[None]]) -> bool:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_SECONDS
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks) or asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _stop(
    ctx: SandboxContext,
    servers: Sequence[_Server],
    tasks: Sequence[asyncio.Task[None]],
    drain_seconds: float,
) -> None:
    ctx.shutting_down = True
    if drain_seconds > 0:
        await asyncio.sleep(drain_seconds)
    for server in servers:
        server.should_exit = True
    # uvicorn cancels requests still running after its graceful timeout, then shuts the app
    # down; forcing is only the backstop for an app whose shutdown itself hangs.
    timeout = max(1, math.ceil(ctx.settings.shutdown_timeout_seconds)) + FORCED_STOP_GRACE_SECONDS
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    if pending:
        log.warning("still busy after %.1f s: forcing the servers to stop", timeout)
        for server in servers:
            server.force_exit = True
        _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s server ended with %r", task.get_name(), task.exception())
    await ctx.bus.close()
    log.info("sandbox stopped")
