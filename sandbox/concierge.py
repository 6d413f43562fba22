"""Concierge: the rewards service (volume, VIP and leaderboard points, levels).

It learns of bets only from the ``BETS_SETTLED`` topic, as the real one learns from MSK, so
its figures are eventually consistent with Vault's; crossing a level publishes ``LEVEL_UP``
for Room-Service to push. It keeps its own SQLite file (microservices own their data).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.accounts import Account
from sandbox.api_errors import ApiError, install_error_handlers
from sandbox.bus import BETS_SETTLED, LEVEL_UP, BusDown
from sandbox.context import SandboxContext, SandboxSettings
from sandbox.health import AlbDownMiddleware, health_response, liveness_response
from sandbox.metrics import RequestMetricsMiddleware, metrics_response
from sandbox.rewards_store import (
    CENT,
    LEADERBOARD_POINTS_PER_USD,
    LEVELLING_VOLUME,
    LEVELS,
    VIP_POINTS_PER_USD,
    Level,
    RewardsStore,
    Standing,
    next_level_after,
)

__all__ = ["create_app", "concierge_db_path", "standing_json", "RULES_JSON"]

log = logging.getLogger("sandbox.concierge")

SERVICE = "concierge"
DEFAULT_LEADERBOARD_LIMIT = 10
MAX_LEADERBOARD_LIMIT = 100
REPUBLISH_INTERVAL_SECONDS = 0.1
DOWN_POLL_SECONDS = 0.05


def concierge_db_path(settings: SandboxSettings) -> Path | None:
    """Concierge's SQLite file beside Vault's (``ledger.sqlite`` -> ``ledger.concierge.sqlite``).

    None when the sandbox runs on temporary files (``db_path`` empty): the app makes its own.
    """
    if not settings.db_path:
        return None
    vault_file = Path(settings.db_path)
    return vault_file.with_name(f"{vault_file.stem}.concierge{vault_file.suffix or '.sqlite'}")


def _level_json(level: Level) -> dict[str, Any]:
    return {"level": level.level, "name": level.name}


def standing_json(standing: Standing) -> dict[str, Any]:
    """``GET /v1/rewards/me``: decimal strings for money, whole points as strings."""
    level = standing.level
    upcoming = next_level_after(level)
    next_level: dict[str, Any] | None = None
    if upcoming is not None:
        remaining = max(upcoming.volume_required_usd - standing.volume_usd, Decimal("0"))
        next_level = {
            "level": upcoming.level,
            "volume_required_usd": str(upcoming.volume_required_usd),
            "remaining_usd": str(remaining.quantize(CENT)),
        }
    return {
        "volume_usd": str(standing.volume_usd.quantize(CENT)),
        "vip_points": str(standing.vip_points),
        "leaderboard_points": str(standing.leaderboard_points),
        "level": _level_json(level),
        "next_level": next_level,
    }


RULES_JSON: dict[str, Any] = {
    "vip_points_per_usd": str(VIP_POINTS_PER_USD),
    "leaderboard_points_per_usd": str(LEADERBOARD_POINTS_PER_USD),
    "levels": [
        {"level": lv.level, "name": lv.name, "volume_required_usd": str(lv.volume_required_usd)} for lv in LEVELS
    ],
}


def parse_reset_volume(body: object) -> Decimal:
    """The optional ``{"volume_usd": "95.00"}``: a decimal string below level 2's threshold."""
    if body is None:
        return Decimal("0.00")
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    raw = body.get("volume_usd", "0")
    if not isinstance(raw, str):
        raise ApiError(422, "invalid_amount", "volume_usd must be a decimal string")
    try:
        volume = Decimal(raw)
    except InvalidOperation:
        raise ApiError(422, "invalid_amount", "volume_usd is not a decimal number") from None
    exponent = volume.as_tuple().exponent
    if not volume.is_finite() or volume < 0 or (isinstance(exponent, int) and exponent < -2):
        raise ApiError(422, "invalid_amount", "volume_usd must be >= 0 with at most 2 decimals")
    if volume >= LEVELLING_VOLUME:
        raise ApiError(422, "invalid_amount", f"volume_usd must stay below level 2 ({LEVELLING_VOLUME} USD)")
    return volume


class Rewards:
    """The consumer side: applies settled bets and announces level-ups."""

    def __init__(self, ctx: SandboxContext, store: RewardsStore) -> None:
        self.ctx = ctx
        self.store = store

    async def on_bet_settled(self, event: dict[str, Any]) -> None:
        # A service that is down consumes nothing; the topic keeps the events until it is back.
        while self.ctx.faults.is_on("concierge_down"):
            await asyncio.sleep(DOWN_POLL_SECONDS)
        user_id = str(event["user_id"])
        stake_usd = Decimal(str(event["stake_usd"]))
        shortfall = 1 if self.ctx.faults.is_on("rewards_wrong_points") else 0
        rounding = ROUND_HALF_UP if self.ctx.faults.is_on("rewards_points_rounded") else ROUND_FLOOR
        applied = await asyncio.to_thread(
            self.store.apply_bet, user_id, str(event["bet_id"]), stake_usd, shortfall, rounding
        )
        if applied.levelled_up:
            level = applied.standing.level
            await self._publish(LEVEL_UP, {"user_id": user_id, **_level_json(level)})

    async def _publish(self, topic: str, event: dict[str, Any]) -> None:
        """Publish, retrying while the broker is down (the consumer stalls meanwhile)."""
        while True:
            try:
                self.ctx.bus.publish(topic, event)
                return
            except BusDown:
                await asyncio.sleep(REPUBLISH_INTERVAL_SECONDS)


def create_app(ctx: SandboxContext, db_path: Path | None = None) -> FastAPI:
    """The Concierge app; ``db_path`` defaults to :func:`concierge_db_path` or a temp file."""
    temp_dir: tempfile.TemporaryDirectory[str] | None = None
    path = db_path or concierge_db_path(ctx.settings)
    if path is None:
        temp_dir = tempfile.TemporaryDirectory(prefix="concierge-")
        path = Path(temp_dir.name) / "concierge.sqlite"
    store = RewardsStore(path)
    rewards = Rewards(ctx, store)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.bus.subscribe(BETS_SETTLED, rewards.on_bet_settled)
        try:
            yield
        finally:
            store.close()
            if temp_dir is not None:
                temp_dir.cleanup()

    app = FastAPI(title="Concierge (sandbox)", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.rewards_store = store
    install_error_handlers(app)
    # Added first, so it runs inside the ALB: a 503 from the load balancer never reaches the service.
    app.add_middleware(RequestMetricsMiddleware, metrics=ctx.metrics.concierge, accounts=ctx.accounts)
    app.add_middleware(AlbDownMiddleware, ctx=ctx, fault="concierge_down")

    def caller(request: Request) -> Account:
        account = ctx.accounts.account_for_authorization(request.headers.get("authorization"))
        if account is None:
            raise ApiError(401, "unauthorized", "a valid bearer token is required")
        return account

    @app.get("/health")
    async def health() -> Response:
        database = await asyncio.to_thread(store.check)
        return health_response(SERVICE, ctx, {"database": database, "kafka": ctx.bus.check()})

    @app.get("/liveness")
    async def liveness() -> Response:
        return liveness_response()

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response(ctx.metrics.concierge)

    @app.get("/v1/rewards/rules")
    async def rules() -> dict[str, Any]:
        return RULES_JSON

    @app.get("/v1/rewards/me")
    async def me(request: Request) -> dict[str, Any]:
        account = caller(request)
        return standing_json(await asyncio.to_thread(store.standing, account.user_id))

    @app.get("/v1/leaderboard")
    async def leaderboard(request: Request) -> list[dict[str, Any]]:
        limit = _leaderboard_limit(request.query_params.get("limit"))
        show_synthetic = ctx.faults.is_on("leaderboard_shows_synthetic")
        rows: list[dict[str, Any]] = []
        for standing in await asyncio.to_thread(store.top):
            account = ctx.accounts.by_id.get(standing.user_id)
            if account is None or (account.synthetic and not show_synthetic):
                continue
            rows.append(
                {
                    "rank": len(rows) + 1,
                    "display_name": account.display_name,
                    "points": str(standing.leaderboard_points),
                }
            )
            if len(rows) == limit:
                break
        return rows

    @app.post("/v1/test-accounts/reset")
    async def reset(request: Request) -> dict[str, Any]:
        account = caller(request)
        given = request.headers.get("x-reset-secret", "")
        if not account.synthetic or not secrets.compare_digest(given.encode(), ctx.settings.reset_secret.encode()):
            raise ApiError(403, "forbidden", "the reset is for synthetic accounts with the secret")
        raw = await request.body()
        body: object = None
        if raw.strip():
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(422, "invalid_request", "the body is not JSON") from None
        volume = parse_reset_volume(body)
        log.info("rewards reset for %s to %s USD", account.username, volume)
        return standing_json(await asyncio.to_thread(store.reset, account.user_id, volume))

    return app


def _leaderboard_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LEADERBOARD_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LEADERBOARD_LIMIT:
        raise ApiError(422, "invalid_request", f"limit must be 1..{MAX_LEADERBOARD_LIMIT}")
    return int(raw)
