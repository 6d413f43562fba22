"""Vault, the payments gateway and ledger, as the platform contract describes it.

This module is the HTTP surface only: authentication, request parsing, idempotency and the
contract's answers. The rules live in ``vault_rules``, bets in ``dice``, deposits and
withdrawals in ``payments``, storage in ``ledger``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.accounts import Account
from sandbox.api_errors import ApiError, error_response, install_error_handlers
from sandbox.context import SandboxContext
from sandbox.dice import Dice
from sandbox.faults import Faults
from sandbox.health import health_response, liveness_response, utc_timestamp
from sandbox.idempotency import Answer, Idempotency
from sandbox.ledger import DatabaseUnavailable, Ledger
from sandbox.metrics import RequestMetricsMiddleware, metrics_response, note_account
from sandbox.money import CURRENCIES, ORDINARY_OPENING_BALANCES, RATES, format_amount, plain
from sandbox.payments import Payments

__all__ = ["create_app", "Vault"]

log = logging.getLogger("sandbox.vault")

RATES_REFRESH_SECONDS = 10
STALE_RATES_AGE = timedelta(hours=6)
DEFAULT_HISTORY_LIMIT = 50
MAX_HISTORY_LIMIT = 1000


class Vault:
    """Vault's state: the ledger, the dice's random source, payments and idempotency."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        path = ctx.settings.db_path
        if not path:
            self._tempdir = tempfile.TemporaryDirectory(prefix="sandbox-vault-")
            path = str(Path(self._tempdir.name) / "ledger.sqlite3")
        opening = [(a.user_id, {} if a.synthetic else ORDINARY_OPENING_BALANCES) for a in ctx.accounts.by_id.values()]
        self.ledger = Ledger(path, ctx.faults, opening)
        self.dice = Dice(ctx, self.ledger, random.Random(ctx.settings.seed))
        self.payments = Payments(ctx, self.ledger)
        self.idempotency = Idempotency(self.ledger, ctx.faults)

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        try:
            self.payments.resume_pending()
        except DatabaseUnavailable:
            log.warning("database down at start: pending payments not resumed")
        try:
            yield
        finally:
            await self.payments.close()
            self.ledger.close()
            if self._tempdir is not None:
                self._tempdir.cleanup()

    def account(self, request: Request) -> Account:
        account = self.ctx.accounts.account_for_authorization(request.headers.get("authorization"))
        if account is None:
            raise ApiError(401, "unauthorized", "a valid bearer token is required")
        return account

    async def idempotent(
        self,
        request: Request,
        account: Account,
        endpoint: str,
        body: object,
        action: Callable[[], Awaitable[Answer]],
    ) -> Response:
        key = request.headers.get("idempotency-key")
        answer = await self.idempotency.run(account.user_id, endpoint, key, body, action)
        if answer.replayed:
            self.ctx.metrics.vault.idempotency_replay(account)
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
        return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


class SlowApiMiddleware:
    """``slow_api:<ms>``: every request waits that long before it is answered."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            delay_ms = self.faults.number("slow_api")
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
        await self.app(scope, receive, send)


async def json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid_request", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body


def history_limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_HISTORY_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY_LIMIT:
        raise ApiError(422, "invalid_request", f"limit must be 1-{MAX_HISTORY_LIMIT}")
    return int(raw)


def rates_updated_at(faults: Faults) -> str:
    """Rates are refreshed every 10 s (so never older than that), or hours old when stale."""
    now = datetime.now(UTC)
    refreshed = now.replace(second=now.second - now.second % RATES_REFRESH_SECONDS, microsecond=0)
    if faults.is_on("rates_stale"):
        refreshed -= STALE_RATES_AGE
    return utc_timestamp(refreshed)


def create_app(ctx: SandboxContext) -> FastAPI:
    vault = Vault(ctx)
    app = FastAPI(
        title="Vault (sandbox)",
        lifespan=vault.lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)

    async def database_unavailable(_: Request, exc: Exception) -> Response:
        return error_response(500, "database_unavailable", str(exc))

    app.add_exception_handler(DatabaseUnavailable, database_unavailable)
    app.add_middleware(SlowApiMiddleware, faults=ctx.faults)
    app.add_middleware(RequestMetricsMiddleware, metrics=ctx.metrics.vault, accounts=ctx.accounts)
    app.state.vault = vault

    @app.get("/health")
    async def health() -> Response:
        checks = {"database": vault.ledger.check(), "kafka": ctx.bus.check()}
        return health_response("vault", ctx, checks)

    @app.get("/liveness")
    async def liveness() -> Response:
        return liveness_response()

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response(ctx.metrics.vault)

    @app.post("/v1/auth/login")
    async def login(request: Request) -> Response:
        body = await json_object(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(422, "invalid_request", "username and password are required")
        found = ctx.accounts.login(username, password)
        if found is None:
            raise ApiError(401, "unauthorized", "wrong username or password")
        token, account = found
        note_account(request, account)
        return JSONResponse({"token": token, "user_id": account.user_id, "display_name": account.display_name})

    @app.get("/v1/currencies")
    async def currencies() -> Response:
        return JSONResponse([currency.public() for currency in CURRENCIES.values()])

    @app.get("/v1/rates")
    async def rates() -> Response:
        return JSONResponse(
            {
                "base": "USD",
                "rates": {code: plain(rate) for code, rate in RATES.items()},
                "updated_at": rates_updated_at(ctx.faults),
            }
        )

    @app.get("/v1/limits")
    async def limits() -> Response:
        def per_currency(field: str) -> dict[str, str]:
            return {c.code: format_amount(getattr(c, field), c) for c in CURRENCIES.values()}

        fields = ("min_stake", "max_stake", "min_deposit", "max_withdrawal")
        return JSONResponse({field: per_currency(field) for field in fields})

    @app.get("/v1/balance")
    async def balance(request: Request) -> Response:
        account = vault.account(request)
        balances = vault.ledger.balances(account.user_id)
        shown = {code: format_amount(amount, CURRENCIES[code]) for code, amount in balances.items()}
        return JSONResponse({"balances": shown})

    @app.get("/v1/transactions")
    async def transactions(request: Request) -> Response:
        account = vault.account(request)
        entries = vault.ledger.transactions(account.user_id, history_limit(request))
        return JSONResponse([entry.public() for entry in entries])

    @app.post("/v1/deposits")
    async def deposit(request: Request) -> Response:
        account = vault.account(request)
        body = await json_object(request)

        async def action() -> Answer:
            return Answer(200, vault.payments.deposit(account, body).public())

        return await vault.idempotent(request, account, "POST /v1/deposits", body, action)

    @app.get("/v1/deposits/{deposit_id}")
    async def deposit_status(deposit_id: str, request: Request) -> Response:
        account = vault.account(request)
        return JSONResponse(vault.payments.payment(account, "deposit", deposit_id).public())

    @app.post("/v1/withdrawals")
    async def withdrawal(request: Request) -> Response:
        account = vault.account(request)
        body = await json_object(request)

        async def action() -> Answer:
            return Answer(200, (await vault.payments.withdraw(account, body)).public())

        return await vault.idempotent(request, account, "POST /v1/withdrawals", body, action)

    @app.get("/v1/withdrawals/{withdrawal_id}")
    async def withdrawal_status(withdrawal_id: str, request: Request) -> Response:
        account = vault.account(request)
        return JSONResponse(vault.payments.payment(account, "withdrawal", withdrawal_id).public())

    @app.post("/v1/bets")
    async def bet(request: Request) -> Response:
        account = vault.account(request)
        body = await json_object(request)

        async def action() -> Answer:
            return Answer(200, vault.dice.place(account, body).public())

        return await vault.idempotent(request, account, "POST /v1/bets", body, action)

    @app.get("/v1/bets/{bet_id}")
    async def bet_lookup(bet_id: str, request: Request) -> Response:
        account = vault.account(request)
        found = vault.ledger.bet(bet_id)
        if found is None or found.user_id != account.user_id:
            raise ApiError(404, "not_found", "no such bet")
        return JSONResponse(found.public())

    @app.post("/v1/bets/{bet_id}/rollback")
    async def rollback(bet_id: str, request: Request) -> Response:
        account = vault.account(request)
        body = await json_object(request, allow_empty=True)

        async def action() -> Answer:
            return Answer(200, vault.dice.roll_back(account, bet_id).public())

        endpoint = f"POST /v1/bets/{bet_id}/rollback"
        return await vault.idempotent(request, account, endpoint, body, action)

    return app
