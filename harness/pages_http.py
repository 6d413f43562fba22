"""The pages and their JSON API over HTTP: read-only, optionally behind a token, no CDN.

    /                    status: journeys by owner team, a strip of the last runs per scenario
    /runs                run list (scenario or journey, target, outcome, reason, since, until)
    /runs/<run_id>       one run: waterfall, failure, screenshot, console log, downloads
    /api/status          the status page as JSON
    /api/runs            ?scenario=&journey=&target=&outcome=&reason=&since=&until=&limit=
    /api/runs/<run_id>   one run as JSON
    /artifacts/<scenario>/<run_id>/<file>   a run's artifact, only from the artifacts directory

Every answer is computed from the history on a worker thread (SQLite reads block).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from config.settings import PagesSettings, Settings
from harness.history import RunHistory, RunQuery
from harness.pages import ARTIFACT_FILES, JOURNEYS, artifact_links, render, run_view, status_view
from harness.results import Outcome
from harness.secrets import register_secret
from probes.result import Reason

__all__ = ["Pages", "safe_artifact"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_LIMIT = 1000
STATIC = Path(__file__).resolve().parent / "templates" / "static"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_TYPES = {".png": "image/png", ".log": "text/plain; charset=utf-8"}


class BadQuery(ValueError):
    """A query parameter the API cannot read: answered 400 with one line naming it."""


def safe_artifact(root: Path, relative: str) -> Path | None:
    """``<root>/<scenario>/<run_id>/<file>`` when it is a regular file of a run folder, else None.

    Refused: ``..`` or ``.`` segments, absolute or backslash paths, any other depth (the history
    database sits in the root), any symlink on the way, and anything that resolves outside.
    """
    parts = relative.split("/")
    if (
        len(parts) != 3
        or "\\" in relative
        or any(p in ("", ".", "..") for p in parts)
        or parts[2] not in ARTIFACT_FILES
    ):
        return None
    base = root.resolve()
    path = base
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    if not path.is_file() or not path.resolve().is_relative_to(base):
        return None
    return path


def _time(name: str, value: str | None) -> float | None:
    """Unix seconds or an ISO 8601 time (UTC unless it says otherwise)."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{name}: not a time (unix seconds or ISO 8601): {value[:40]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


RUN_FILTERS = ("scenario", "journey", "target", "outcome", "reason", "since", "until", "limit")


def run_query(params: Any, default_limit: int = 100) -> RunQuery:
    """The run list's filters; a name it does not know is refused, never silently ignored."""
    unknown = sorted(set(params) - set(RUN_FILTERS))
    if unknown:
        raise BadQuery(f"{unknown[0][:30]}: not a filter (filters: {', '.join(RUN_FILTERS)})")
    limit_text = params.get("limit") or str(default_limit)
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise BadQuery(f"limit: must be a whole number from 1 to {MAX_LIMIT}, got {limit_text[:20]!r}")
    outcome = params.get("outcome") or None
    if outcome is not None and outcome not in set(Outcome):
        raise BadQuery(f"outcome: one of {', '.join(Outcome)}, got {outcome[:20]!r}")
    journey: str = params.get("journey") or ""
    scenarios = next((j.scenarios for j in JOURNEYS if j.name == journey), None) if journey else ()
    if scenarios is None:
        raise BadQuery(f"journey: one of {', '.join(j.name for j in JOURNEYS)}, got {journey[:30]!r}")
    return RunQuery(
        scenario=params.get("scenario") or None,
        scenarios=scenarios,
        target=params.get("target") or None,
        outcome=outcome,
        reason=params.get("reason") or None,
        since=_time("since", params.get("since")),
        until=_time("until", params.get("until")),
        limit=int(limit_text),
    )


def _local(unix: float | None) -> str:
    """A datetime-local input's value (UTC) for a filter form."""
    return "" if unix is None else datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M")


class Pages:
    """Handlers of one runner's pages; ``add_routes`` puts them on an aiohttp application."""

    def __init__(
        self,
        settings: Settings,
        history: RunHistory,
        artifacts_root: Path,
        scheduled: Callable[[], list[tuple[str, str]]],
    ) -> None:
        self.config: PagesSettings = settings.runner.pages
        self.region = settings.runner.region
        self.history = history
        self.root = artifacts_root
        self.scheduled = scheduled
        self._credentials = self._expected_credentials(settings)

    def _expected_credentials(self, settings: Settings) -> list[str]:
        """The ``Authorization`` header values that open the pages (none: open)."""
        accepted = []
        if self.config.bearer_token is not None:
            token = settings.secret(self.config.bearer_token)
            register_secret(token)
            accepted.append(f"Bearer {token}")
        if self.config.basic_auth is not None:
            password = settings.secret(self.config.basic_auth.password)
            register_secret(password)
            pair = f"{self.config.basic_auth.username}:{password}".encode()
            accepted.append("Basic " + base64.b64encode(pair).decode())
        return accepted

    def add_routes(self, app: web.Application) -> None:
        for path, handler in (
            ("/", self.status_page),
            ("/runs", self.runs_page),
            ("/runs/{run_id}", self.run_page),
            ("/api/status", self.api_status),
            ("/api/runs", self.api_runs),
            ("/api/runs/{run_id}", self.api_run),
            ("/artifacts/{path:.*}", self.artifact),
            ("/static/refresh.js", self.refresh_script),
        ):
            app.router.add_get(path, self._guarded(handler))

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._credentials:
                given = request.headers.get("Authorization", "")
                if not any(hmac.compare_digest(given.encode(), c.encode()) for c in self._credentials):
                    challenge = {"WWW-Authenticate": 'Basic realm="mystery-guest"'} if self.config.basic_auth else {}
                    return web.Response(status=401, text="authorization needed\n", headers=challenge | _HEADERS)
            try:
                response = await handler(request)
            except BadQuery as exc:
                response = web.json_response({"error": str(exc)}, status=400)
            response.headers.update({k: v for k, v in _HEADERS.items() if k not in response.headers})
            return response

        return guarded

    def _html(self, template: str, base: str, **context: Any) -> str:
        return render(template, base=base, region=self.region, static=False, **context)

    # -- pages -----------------------------------------------------------------------------
    async def status_page(self, request: web.Request) -> web.Response:
        view = await asyncio.to_thread(status_view, self.history, self.scheduled())
        html = self._html("status.html", "", view=view, refresh_seconds=self.config.refresh_seconds)
        return web.Response(text=html, content_type="text/html")

    async def runs_page(self, request: web.Request) -> web.Response:
        query = run_query(request.query)
        runs = await asyncio.to_thread(self.history.runs, query)
        pairs = await asyncio.to_thread(self.history.pairs)
        html = self._html(
            "runs.html",
            "",
            runs=runs,
            query=query,
            scenarios=sorted({s for s, _ in [*pairs, *self.scheduled()]}),
            journeys=JOURNEYS,
            journey=request.query.get("journey", ""),
            targets=sorted({t for _, t in [*pairs, *self.scheduled()]}),
            outcomes=list(Outcome),
            reasons=[*Reason, "aborted"],
            since=_local(query.since),
            until=_local(query.until),
        )
        return web.Response(text=html, content_type="text/html")

    async def run_page(self, request: web.Request) -> web.Response:
        view = await asyncio.to_thread(self._run_view, request.match_info["run_id"], "../")
        if view is None:
            raise web.HTTPNotFound(text="no such run in the history\n")
        html = self._html("run.html", "../", view=view)
        return web.Response(text=html, content_type="text/html")

    def _run_view(self, run_id: str, base: str) -> Any:
        result = self.history.run(run_id)
        if result is None:
            return None
        return run_view(result, artifact_links(result, self.root, base), self.config.trace_url_template)

    # -- API -------------------------------------------------------------------------------
    async def api_status(self, request: web.Request) -> web.Response:
        view = await asyncio.to_thread(status_view, self.history, self.scheduled())
        return web.json_response(view.to_dict())

    async def api_runs(self, request: web.Request) -> web.Response:
        runs = await asyncio.to_thread(self.history.runs, run_query(request.query))
        return web.json_response({"runs": [r.to_dict() for r in runs]})

    async def api_run(self, request: web.Request) -> web.Response:
        view = await asyncio.to_thread(self._run_view, request.match_info["run_id"], "../../")
        if view is None:
            return web.json_response({"error": "no such run in the history"}, status=404)
        return web.json_response(
            {**view.result.to_dict(), "artifacts": view.artifacts, "trace_url": view.trace_url}, dumps=_dumps
        )

    # -- files -----------------------------------------------------------------------------
    async def artifact(self, request: web.Request) -> web.StreamResponse:
        path = await asyncio.to_thread(safe_artifact, self.root, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound(text="not found\n")
        kind = _TYPES.get(path.suffix, "application/octet-stream")
        headers = {"Content-Type": kind}
        if path.suffix not in _TYPES:
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        return web.FileResponse(path, headers=headers)

    async def refresh_script(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "refresh.js", headers={"Content-Type": "text/javascript"})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
