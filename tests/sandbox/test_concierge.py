"""Concierge against real HTTP: the rewards formula, levels, leaderboard, reset hook and faults.

Each test serves the app under uvicorn on a free loopback port with its own context and
plays Vault's part by publishing ``BETS_SETTLED`` on the bus directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import httpx
import pytest

from sandbox.accounts import AccountBook
from sandbox.bus import BETS_SETTLED, LEVEL_UP, BusDown, EventBus
from sandbox.concierge import create_app
from sandbox.context import SandboxContext, SandboxSettings
from sandbox.health import ALB_503_BODY
from sandbox.rewards_store import RewardsStore
from tests.local_server import serving_asgi
from tests.sandbox.in_process import InProcess

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool]) -> T:
    """Poll until ``until(value)`` holds; the deadline is generous (eventual consistency)."""
    deadline = time.monotonic() + 10
    while True:
        value = await probe()
        if until(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


class Concierge(InProcess):
    """A served Concierge, its context and a client, with the helpers the tests share."""

    def __init__(self, ctx: SandboxContext, http: httpx.AsyncClient, store: RewardsStore) -> None:
        super().__init__(ctx)
        self.http = http
        self.store = store
        self._bets = 0

    def settle(self, username: str, stake_usd: str, bet_id: str | None = None) -> str:
        """Play Vault: announce one settled bet."""
        self._bets += 1
        bet_id = bet_id or f"bet-{self._bets}"
        account = self.ctx.accounts.by_username[username]
        self.ctx.bus.publish(
            BETS_SETTLED,
            {
                "user_id": account.user_id,
                "bet_id": bet_id,
                "currency": "USD",
                "stake": stake_usd,
                "stake_usd": stake_usd,
                "synthetic": account.synthetic,
            },
        )
        return bet_id

    async def me(self, token: str) -> dict[str, Any]:
        answer = await self.http.get("/v1/rewards/me", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def me_when(self, token: str, volume_usd: str) -> dict[str, Any]:
        """``/v1/rewards/me`` once the volume has reached ``volume_usd``."""
        body = await eventually(lambda: self.me(token), lambda b: b["volume_usd"] == volume_usd)
        assert body["volume_usd"] == volume_usd
        return body

    async def reset(self, token: str, volume_usd: str | None = None) -> httpx.Response:
        return await self.http.post(
            "/v1/test-accounts/reset",
            headers={**bearer(token), "X-Reset-Secret": self.ctx.settings.reset_secret},
            json=None if volume_usd is None else {"volume_usd": volume_usd},
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_context() -> SandboxContext:
    from sandbox.faults import Faults

    settings = SandboxSettings(bus_lag_seconds=0.0)
    faults = Faults()
    accounts = AccountBook(settings.probe_password, settings.player_password)
    return SandboxContext(settings, faults, EventBus(faults, 0.0), accounts)


@pytest.fixture
async def concierge() -> AsyncIterator[Concierge]:
    ctx = make_context()
    app = create_app(ctx)
    async with serving_asgi(app, lifespan="on") as url, httpx.AsyncClient(base_url=url) as http:
        yield Concierge(ctx, http, app.state.rewards_store)
    await ctx.bus.close()


def level_ups(ctx: SandboxContext) -> list[dict[str, Any]]:
    """Collect every LEVEL_UP Concierge publishes (call inside the loop)."""
    seen: list[dict[str, Any]] = []

    async def collect(event: dict[str, Any]) -> None:
        seen.append(event)

    ctx.bus.subscribe(LEVEL_UP, collect)
    return seen


# --- reading ---------------------------------------------------------------------------


async def test_rules_are_the_shared_numbers(concierge: Concierge) -> None:
    answer = await concierge.http.get("/v1/rewards/rules")
    assert answer.status_code == 200
    assert answer.json() == {
        "vip_points_per_usd": "1",
        "leaderboard_points_per_usd": "10",
        "levels": [
            {"level": 1, "name": "Bronze", "volume_required_usd": "0"},
            {"level": 2, "name": "Silver", "volume_required_usd": "100"},
            {"level": 3, "name": "Gold", "volume_required_usd": "500"},
            {"level": 4, "name": "Platinum", "volume_required_usd": "2000"},
            {"level": 5, "name": "Diamond", "volume_required_usd": "10000"},
        ],
    }


async def test_a_new_account_starts_at_bronze(concierge: Concierge) -> None:
    body = await concierge.me(concierge.token("probe-eu-01"))
    assert body == {
        "volume_usd": "0.00",
        "vip_points": "0",
        "leaderboard_points": "0",
        "level": {"level": 1, "name": "Bronze"},
        "next_level": {"level": 2, "volume_required_usd": "100", "remaining_usd": "100.00"},
    }


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_me_needs_a_valid_bearer_token(concierge: Concierge, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await concierge.http.get("/v1/rewards/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"


async def test_unknown_paths_answer_in_the_contract_error_format(concierge: Concierge) -> None:
    answer = await concierge.http.get("/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


# --- the formula -----------------------------------------------------------------------


async def test_each_bet_earns_whole_points_by_the_contract_formula(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-02")
    stakes = ["12.34", "0.19", "0.10", "9.99", "1.00"]
    for stake in stakes:
        concierge.settle("probe-eu-02", stake)
    volume = sum((Decimal(s) for s in stakes), Decimal("0"))
    body = await concierge.me_when(token, f"{volume:.2f}")

    def floor(value: Decimal) -> int:
        return int(value.to_integral_value(rounding=ROUND_FLOOR))

    # Per bet, not on the total: 12 + 0 + 0 + 9 + 1 VIP, 123 + 1 + 1 + 99 + 10 leaderboard.
    assert body["vip_points"] == str(sum(floor(Decimal(s)) for s in stakes)) == "22"
    assert body["leaderboard_points"] == str(sum(floor(Decimal(s) * 10) for s in stakes)) == "234"
    assert body["volume_usd"] == "23.62"
    assert body["next_level"]["remaining_usd"] == "76.38"


async def test_a_redelivered_bet_counts_once(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-03")
    concierge.settle("probe-eu-03", "5.00", bet_id="same-bet")
    concierge.settle("probe-eu-03", "5.00", bet_id="same-bet")
    concierge.settle("probe-eu-03", "1.00", bet_id="marker")
    body = await concierge.me_when(token, "6.00")
    assert (body["vip_points"], body["leaderboard_points"]) == ("6", "60")


# --- levels ----------------------------------------------------------------------------


async def test_crossing_a_threshold_moves_the_level_and_publishes_level_up(
    concierge: Concierge,
) -> None:
    published = level_ups(concierge.ctx)
    token = concierge.token("probe-eu-04")
    assert (await concierge.reset(token, "95.00")).status_code == 200
    concierge.settle("probe-eu-04", "4.99")
    body = await concierge.me_when(token, "99.99")
    assert body["level"] == {"level": 1, "name": "Bronze"}
    assert body["next_level"]["remaining_usd"] == "0.01"
    concierge.settle("probe-eu-04", "0.01")
    body = await concierge.me_when(token, "100.00")
    assert body["level"] == {"level": 2, "name": "Silver"}
    assert body["next_level"] == {"level": 3, "volume_required_usd": "500", "remaining_usd": "400.00"}
    await eventually(lambda: asyncio.sleep(0, published), bool)
    assert published == [{"user_id": concierge.user_id("probe-eu-04"), "level": 2, "name": "Silver"}]


async def test_a_jump_over_several_levels_publishes_one_level_up(concierge: Concierge) -> None:
    published = level_ups(concierge.ctx)
    token = concierge.token("probe-eu-05")
    concierge.settle("probe-eu-05", "600.00")
    concierge.settle("probe-eu-05", "1.00")  # no new level: no second event
    body = await concierge.me_when(token, "601.00")
    assert body["level"] == {"level": 3, "name": "Gold"}
    assert published == [{"user_id": concierge.user_id("probe-eu-05"), "level": 3, "name": "Gold"}]


async def test_the_top_level_has_no_next_level(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-06")
    concierge.settle("probe-eu-06", "10000.00")
    body = await concierge.me_when(token, "10000.00")
    assert body["level"] == {"level": 5, "name": "Diamond"}
    assert body["next_level"] is None


# --- leaderboard -----------------------------------------------------------------------


async def leaderboard(concierge: Concierge, query: str = "") -> list[dict[str, Any]]:
    answer = await concierge.http.get(f"/v1/leaderboard{query}")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


async def test_leaderboard_ranks_ordinary_accounts_and_hides_synthetic_ones(
    concierge: Concierge,
) -> None:
    concierge.settle("player-02", "1.00")
    concierge.settle("player-01", "5.00")
    concierge.settle("probe-us-01", "100.00")
    await concierge.me_when(concierge.token("probe-us-01"), "100.00")
    await concierge.me_when(concierge.token("player-01"), "5.00")
    names = concierge.ctx.accounts.by_username
    expected = [
        {"rank": 1, "display_name": names["player-01"].display_name, "points": "50"},
        {"rank": 2, "display_name": names["player-02"].display_name, "points": "10"},
    ]
    assert await leaderboard(concierge) == expected  # player-03..05 have 0 points: omitted
    assert await leaderboard(concierge, "?limit=1") == expected[:1]
    bad = await concierge.http.get("/v1/leaderboard?limit=zero")
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_request")


async def test_fault_leaderboard_shows_synthetic(concierge: Concierge) -> None:
    concierge.settle("player-01", "5.00")
    concierge.settle("probe-us-02", "100.00")
    await concierge.me_when(concierge.token("probe-us-02"), "100.00")
    probe_name = concierge.ctx.accounts.by_username["probe-us-02"].display_name
    concierge.ctx.faults.switch_on("leaderboard_shows_synthetic")
    rows = await leaderboard(concierge)
    assert rows[0] == {"rank": 1, "display_name": probe_name, "points": "1000"}
    concierge.ctx.faults.switch_off("leaderboard_shows_synthetic")
    assert probe_name not in [row["display_name"] for row in await leaderboard(concierge)]


# --- the reset hook --------------------------------------------------------------------


async def test_reset_puts_a_synthetic_account_at_level_1_with_the_volume(
    concierge: Concierge,
) -> None:
    token = concierge.token("probe-eu-07")
    concierge.settle("probe-eu-07", "250.00")
    await concierge.me_when(token, "250.00")
    answer = await concierge.reset(token, "95.00")
    assert answer.status_code == 200
    expected = {
        "volume_usd": "95.00",
        "vip_points": "0",
        "leaderboard_points": "0",
        "level": {"level": 1, "name": "Bronze"},
        "next_level": {"level": 2, "volume_required_usd": "100", "remaining_usd": "5.00"},
    }
    assert answer.json() == expected
    assert await concierge.me(token) == expected
    no_body = await concierge.reset(token)
    assert no_body.status_code == 200
    assert no_body.json()["volume_usd"] == "0.00"


async def test_reset_is_forbidden_without_the_secret_or_for_ordinary_accounts(
    concierge: Concierge,
) -> None:
    probe, player = concierge.token("probe-eu-08"), concierge.token("player-04")
    secret = concierge.ctx.settings.reset_secret
    cases = [
        (player, {"X-Reset-Secret": secret}),  # right secret, but a real customer
        (probe, {}),  # no secret
        (probe, {"X-Reset-Secret": "wrong" + secret}),
        (probe, {"X-Reset-Secret": ""}),
    ]
    for token, extra in cases:
        answer = await concierge.http.post("/v1/test-accounts/reset", headers={**bearer(token), **extra})
        assert answer.status_code == 403
        assert answer.json()["error"] == "forbidden"
    anonymous = await concierge.http.post("/v1/test-accounts/reset", headers={"X-Reset-Secret": secret})
    assert anonymous.status_code == 401


@pytest.mark.parametrize("volume", ["100.00", "100", "250.00", "-1.00", "1.234", "abc", "NaN"])
async def test_reset_refuses_a_volume_that_is_not_below_level_2(concierge: Concierge, volume: str) -> None:
    answer = await concierge.reset(concierge.token("probe-eu-09"), volume)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_amount"


async def test_reset_refuses_a_float_volume(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-09")
    answer = await concierge.http.post(
        "/v1/test-accounts/reset",
        headers={**bearer(token), "X-Reset-Secret": concierge.ctx.settings.reset_secret},
        json={"volume_usd": 95.5},
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_amount")


# --- health and faults -----------------------------------------------------------------


async def health(concierge: Concierge) -> tuple[int, dict[str, Any]]:
    answer = await concierge.http.get("/health")
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


async def test_health_reports_database_and_kafka(concierge: Concierge) -> None:
    status, body = await health(concierge)
    assert status == 200
    assert body["service"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "kafka": "ok",
    }
    liveness = await concierge.http.get("/liveness")
    assert (liveness.status_code, liveness.text) == (200, "OK")
    concierge.ctx.shutting_down = True
    status, body = await health(concierge)
    assert (status, body["service"]) == (503, "shutting_down")


async def test_health_sees_a_broken_database(concierge: Concierge) -> None:
    concierge.store.close()
    status, body = await health(concierge)
    assert status == 500
    assert body["checks"]["database"]["status"] == "error"


async def test_fault_kafka_down(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-10")
    concierge.ctx.faults.switch_on("kafka_down")
    status, body = await health(concierge)
    assert status == 500
    assert body["checks"]["kafka"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    with pytest.raises(BusDown):
        concierge.settle("probe-eu-10", "3.00")
    concierge.ctx.faults.switch_off("kafka_down")
    assert (await health(concierge))[0] == 200
    concierge.settle("probe-eu-10", "3.00")
    assert (await concierge.me_when(token, "3.00"))["vip_points"] == "3"


async def test_fault_kafka_down_holds_a_level_up_until_the_broker_is_back(
    concierge: Concierge,
) -> None:
    published = level_ups(concierge.ctx)
    concierge.ctx.faults.switch_on("rewards_lag:0.5")
    concierge.settle("probe-eu-11", "150.00")
    await asyncio.sleep(0.1)  # the consumer has taken the bet and waits out the lag
    concierge.ctx.faults.switch_on("kafka_down")  # the bet lands, but its level-up cannot go
    await eventually(
        lambda: asyncio.to_thread(concierge.store.standing, concierge.user_id("probe-eu-11")),
        lambda standing: standing.volume_usd == Decimal("150.00"),
    )
    await asyncio.sleep(0.3)
    assert published == []
    concierge.ctx.faults.switch_off("kafka_down")
    await eventually(lambda: asyncio.sleep(0, published), bool)
    assert published == [{"user_id": concierge.user_id("probe-eu-11"), "level": 2, "name": "Silver"}]


async def test_fault_rewards_wrong_points(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-12")
    concierge.ctx.faults.switch_on("rewards_wrong_points")
    concierge.settle("probe-eu-12", "5.00")
    body = await concierge.me_when(token, "5.00")
    assert (body["vip_points"], body["leaderboard_points"]) == ("4", "49")
    concierge.ctx.faults.switch_off("rewards_wrong_points")
    concierge.settle("probe-eu-12", "5.00")
    body = await concierge.me_when(token, "10.00")
    assert (body["vip_points"], body["leaderboard_points"]) == ("9", "99")


async def test_fault_rewards_points_rounded_rounds_half_up_instead_of_down(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-13")
    concierge.ctx.faults.switch_on("rewards_points_rounded")
    concierge.settle("probe-eu-13", "1.57")  # 1.57 VIP and 15.7 leaderboard points: half-up gives 2 and 16
    body = await concierge.me_when(token, "1.57")
    assert (body["vip_points"], body["leaderboard_points"]) == ("2", "16")
    concierge.ctx.faults.switch_off("rewards_points_rounded")
    concierge.settle("probe-eu-13", "1.57")  # the contract's floor: 1 and 15
    body = await concierge.me_when(token, "3.14")
    assert (body["vip_points"], body["leaderboard_points"]) == ("3", "31")


async def test_fault_rewards_lag_delays_rewards_by_at_least_the_lag(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-13")
    concierge.ctx.faults.switch_on("rewards_lag:1.5")
    started = time.monotonic()
    concierge.settle("probe-eu-13", "2.00")
    await concierge.me_when(token, "2.00")
    assert time.monotonic() - started >= 1.5
    concierge.ctx.faults.switch_off("rewards_lag")
    concierge.settle("probe-eu-13", "1.00")
    await concierge.me_when(token, "3.00")


async def test_fault_concierge_down(concierge: Concierge) -> None:
    token = concierge.token("probe-eu-14")
    concierge.ctx.faults.switch_on("concierge_down")
    for path in ["/health", "/liveness", "/v1/rewards/rules", "/v1/rewards/me"]:
        answer = await concierge.http.get(path, headers=bearer(token))
        assert answer.status_code == 503
        assert answer.text == ALB_503_BODY
        assert answer.headers["content-type"].startswith("text/html")
    concierge.settle("probe-eu-14", "7.00")  # waits on the topic while the service is down
    await asyncio.sleep(0.3)
    standing = await asyncio.to_thread(concierge.store.standing, concierge.user_id("probe-eu-14"))
    assert standing.volume_usd == 0
    concierge.ctx.faults.switch_off("concierge_down")
    assert (await health(concierge))[0] == 200
    assert (await concierge.me_when(token, "7.00"))["leaderboard_points"] == "70"


async def test_fault_health_flapping(concierge: Concierge) -> None:
    concierge.ctx.faults.switch_on("health_flapping")
    statuses = [(await health(concierge))[0] for _ in range(4)]
    assert statuses == [200, 500, 200, 500]
    concierge.ctx.faults.switch_off("health_flapping")
    assert [(await health(concierge))[0] for _ in range(3)] == [200, 200, 200]
