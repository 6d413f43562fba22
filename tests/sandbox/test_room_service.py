"""Room-Service with real python-socketio clients over real sockets (WebSocket and polling).

Each test serves the app under uvicorn on a free loopback port with its own context and
plays Vault's and Concierge's parts by publishing on the bus directly. "Nothing arrived" is
shown with a sentinel: socket.io keeps order per connection, so when a later message has
arrived, an earlier one that was going to arrive would have arrived first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import socketio

from sandbox.accounts import AccountBook
from sandbox.bus import BALANCE_CHANGED, LEVEL_UP, EventBus
from sandbox.context import SandboxContext, SandboxSettings
from sandbox.faults import Faults
from sandbox.health import ALB_503_BODY
from sandbox.room_service import MAX_CHAT_TEXT, create_app
from sandbox.testing import SandboxHandle, VaultSession, secret
from tests.local_server import serving_asgi
from tests.sandbox.in_process import InProcess

TRANSPORTS = [pytest.param(["websocket"], id="websocket"), pytest.param(["polling"], id="polling")]
WAIT = 10.0  # generous deadline for a push that must come


class Listener:
    """A connected socket.io client that queues every server push by event name."""

    def __init__(self, transports: list[str]) -> None:
        self.transports = transports
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.refusal: Any = None
        for event in ("balance:update", "rewards:level_up", "chat:message"):
            self.inbox[event] = asyncio.Queue()
            self.client.on(event, self._collector(event))
        self.client.on("connect_error", self._refused)

    def _collector(self, event: str) -> Any:
        async def collect(data: dict[str, Any]) -> None:
            await self.inbox[event].put(data)

        return collect

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def connect(self, url: str, token: str | None) -> None:
        auth = None if token is None else {"token": token}
        await self.client.connect(url, auth=auth, transports=self.transports, socketio_path="socket.io", wait_timeout=5)

    async def next(self, event: str) -> dict[str, Any]:
        return await asyncio.wait_for(self.inbox[event].get(), WAIT)

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.client.call(event, data, timeout=WAIT)
        return ack

    def nothing_queued(self, event: str) -> bool:
        return self.inbox[event].empty()


class RoomService(InProcess):
    """A served Room-Service, its context, and factories for clients and bus events."""

    def __init__(self, ctx: SandboxContext, url: str, transports: list[str]) -> None:
        super().__init__(ctx)
        self.url = url
        self.transports = transports
        self.listeners: list[Listener] = []

    async def listener(self, username: str) -> Listener:
        listener = Listener(self.transports)
        self.listeners.append(listener)
        await listener.connect(self.url, self.token(username))
        return listener

    def balance_changed(self, username: str, ref_id: str, balance: str = "10.00") -> dict[str, Any]:
        """Play Vault: one balance change; returns the push the owner should get."""
        push = {"currency": "EUR", "balance": balance, "reason": "deposit", "ref_id": ref_id}
        self.ctx.bus.publish(BALANCE_CHANGED, {"user_id": self.user_id(username), **push})
        return push

    def level_up(self, username: str, level: int, name: str) -> None:
        """Play Concierge: one level-up."""
        self.ctx.bus.publish(LEVEL_UP, {"user_id": self.user_id(username), "level": level, "name": name})

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url) as http:
            answer = await http.get("/health")
        body: dict[str, Any] = answer.json()
        return answer.status_code, body

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.client.disconnect()


@pytest.fixture(params=TRANSPORTS)
async def rooms(request: pytest.FixtureRequest) -> AsyncIterator[RoomService]:
    settings = SandboxSettings(bus_lag_seconds=0.0)
    faults = Faults()
    accounts = AccountBook(settings.probe_password, settings.player_password)
    ctx = SandboxContext(settings, faults, EventBus(faults, 0.0), accounts)
    async with serving_asgi(create_app(ctx), lifespan="on") as url:
        service = RoomService(ctx, url, request.param)
        try:
            yield service
        finally:
            await service.close()
    await ctx.bus.close()


# --- connecting ------------------------------------------------------------------------


async def test_a_valid_token_connects(rooms: RoomService) -> None:
    listener = await rooms.listener("probe-eu-01")
    assert listener.client.connected
    assert listener.client.transport() == rooms.transports[0]


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_a_bad_or_missing_token_is_refused(rooms: RoomService, token: str | None) -> None:
    listener = Listener(rooms.transports)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await listener.connect(rooms.url, token)
    assert listener.refusal == {"message": "unauthorized"}
    assert not listener.client.connected


# --- pushes ----------------------------------------------------------------------------


async def test_balance_changes_reach_only_their_owner(rooms: RoomService) -> None:
    owner = await rooms.listener("probe-eu-02")
    second_tab = await rooms.listener("probe-eu-02")
    stranger = await rooms.listener("probe-eu-03")
    push = rooms.balance_changed("probe-eu-02", "dep-1", "25.50")
    assert await owner.next("balance:update") == push
    assert await second_tab.next("balance:update") == push
    sentinel = rooms.balance_changed("probe-eu-03", "dep-2")
    assert await stranger.next("balance:update") == sentinel  # and not dep-1 before it


async def test_level_up_is_pushed_to_its_owner(rooms: RoomService) -> None:
    owner = await rooms.listener("probe-eu-04")
    rooms.level_up("probe-eu-04", 2, "Silver")
    assert await owner.next("rewards:level_up") == {"level": 2, "name": "Silver"}


# --- chat ------------------------------------------------------------------------------


async def test_chat_reaches_the_room_sender_included_and_no_one_else(rooms: RoomService) -> None:
    sender = await rooms.listener("probe-eu-05")
    member = await rooms.listener("player-01")
    outsider = await rooms.listener("player-02")
    for listener in (sender, member):
        assert await listener.call("chat:join", {"room": "lobby"}) == {"ok": True}
    ack = await sender.call("chat:send", {"room": "lobby", "text": "hello", "client_msg_id": "c-1"})
    assert ack["ok"] is True
    assert isinstance(ack["message_id"], str) and ack["message_id"]
    for listener in (sender, member):
        message = await listener.next("chat:message")
        assert message["message_id"] == ack["message_id"]
        assert message["room"] == "lobby"
        assert message["text"] == "hello"
        assert message["client_msg_id"] == "c-1"
        assert message["display_name"] == rooms.ctx.accounts.by_username["probe-eu-05"].display_name
        assert message["sent_at"].endswith("Z")
    assert await outsider.call("chat:join", {"room": "other"}) == {"ok": True}
    own = await outsider.call("chat:send", {"room": "other", "text": "x", "client_msg_id": "c-2"})
    assert (await outsider.next("chat:message"))["message_id"] == own["message_id"]


async def test_chat_send_is_validated(rooms: RoomService) -> None:
    sender = await rooms.listener("probe-eu-06")
    not_joined = await sender.call("chat:send", {"room": "lobby", "text": "hi", "client_msg_id": "1"})
    assert not_joined == {"ok": False, "error": "not_joined"}
    assert await sender.call("chat:join", {"room": "lobby"}) == {"ok": True}
    for text in ["", "x" * (MAX_CHAT_TEXT + 1)]:
        ack = await sender.call("chat:send", {"room": "lobby", "text": text, "client_msg_id": "2"})
        assert ack == {"ok": False, "error": "invalid_message"}
    longest = "x" * MAX_CHAT_TEXT
    ack = await sender.call("chat:send", {"room": "lobby", "text": longest, "client_msg_id": "3"})
    assert ack["ok"] is True
    assert (await sender.next("chat:message"))["text"] == longest


async def test_a_private_user_room_cannot_be_joined_through_chat(rooms: RoomService) -> None:
    spy = await rooms.listener("probe-eu-07")
    victim_room = f"user:{rooms.user_id('probe-eu-08')}"
    assert await spy.call("chat:join", {"room": victim_room}) == {"ok": True}  # a chat room only
    rooms.balance_changed("probe-eu-08", "dep-secret")
    sentinel = rooms.balance_changed("probe-eu-07", "dep-own")
    assert await spy.next("balance:update") == sentinel


# --- health ----------------------------------------------------------------------------


async def test_health_reports_chat_and_kafka(rooms: RoomService) -> None:
    status, body = await rooms.health()
    assert status == 200
    assert body["service"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "chat": "ok",
        "kafka": "ok",
    }
    async with httpx.AsyncClient(base_url=rooms.url) as http:
        liveness = await http.get("/liveness")
    assert (liveness.status_code, liveness.text) == (200, "OK")
    rooms.ctx.faults.switch_on("kafka_down")
    status, body = await rooms.health()
    assert (status, body["checks"]["kafka"]["status"]) == (500, "error")


# --- faults ----------------------------------------------------------------------------


async def test_fault_chat_down(rooms: RoomService) -> None:
    sender = await rooms.listener("probe-eu-09")
    assert await sender.call("chat:join", {"room": "lobby"}) == {"ok": True}
    rooms.ctx.faults.switch_on("chat_down")
    down = {"ok": False, "error": "chat_unavailable"}
    assert await sender.call("chat:join", {"room": "vip"}) == down
    assert await sender.call("chat:send", {"room": "lobby", "text": "lost", "client_msg_id": "1"}) == down
    status, body = await rooms.health()
    assert (status, body["checks"]["chat"]["status"]) == (500, "error")
    push = rooms.balance_changed("probe-eu-09", "dep-while-chat-down")
    assert await sender.next("balance:update") == push  # pushes keep working
    rooms.ctx.faults.switch_off("chat_down")
    assert (await rooms.health())[0] == 200
    ack = await sender.call("chat:send", {"room": "lobby", "text": "back", "client_msg_id": "2"})
    assert ack["ok"] is True
    assert (await sender.next("chat:message"))["text"] == "back"  # "lost" was never broadcast


async def test_fault_balance_push_dropped(rooms: RoomService) -> None:
    owner = await rooms.listener("probe-eu-10")
    rooms.ctx.faults.switch_on("balance_push_dropped")
    rooms.balance_changed("probe-eu-10", "dep-dropped")
    await asyncio.sleep(0.2)  # the consumer takes it while the fault is on
    rooms.ctx.faults.switch_off("balance_push_dropped")
    push = rooms.balance_changed("probe-eu-10", "dep-after")
    assert await owner.next("balance:update") == push


async def test_fault_balance_push_delayed(rooms: RoomService) -> None:
    owner = await rooms.listener("probe-eu-11")
    rooms.ctx.faults.switch_on("balance_push_delayed:1.5")
    started = time.monotonic()
    late = rooms.balance_changed("probe-eu-11", "dep-late")
    await asyncio.sleep(0.2)  # the consumer has taken it under the fault
    rooms.ctx.faults.switch_off("balance_push_delayed")
    prompt = rooms.balance_changed("probe-eu-11", "dep-prompt")
    assert await owner.next("balance:update") == prompt  # overtakes the delayed one
    assert await owner.next("balance:update") == late
    assert time.monotonic() - started >= 1.5


async def test_fault_level_up_dropped(rooms: RoomService) -> None:
    owner = await rooms.listener("probe-eu-12")
    rooms.ctx.faults.switch_on("level_up_dropped")
    rooms.level_up("probe-eu-12", 2, "Silver")
    await asyncio.sleep(0.2)
    rooms.ctx.faults.switch_off("level_up_dropped")
    rooms.level_up("probe-eu-12", 3, "Gold")
    assert await owner.next("rewards:level_up") == {"level": 3, "name": "Gold"}


async def test_fault_socket_rejects_connections_while_health_stays_ok(rooms: RoomService) -> None:
    rooms.ctx.faults.switch_on("socket_rejects_connections")
    refused = Listener(rooms.transports)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(rooms.url, rooms.token("probe-eu-13"))
    assert (await rooms.health())[0] == 200  # the bug health does not see
    rooms.ctx.faults.switch_off("socket_rejects_connections")
    assert (await rooms.listener("probe-eu-13")).client.connected


async def test_fault_room_service_down(rooms: RoomService) -> None:
    connected = await rooms.listener("probe-eu-14")
    rooms.ctx.faults.switch_on("room_service_down")
    async with httpx.AsyncClient(base_url=rooms.url) as http:
        for path in ["/health", "/liveness", "/socket.io/?EIO=4&transport=polling"]:
            answer = await http.get(path)
            assert (answer.status_code, answer.text) == (503, ALB_503_BODY)
    refused = Listener(rooms.transports)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(rooms.url, rooms.token("probe-eu-14"))
    deadline = time.monotonic() + WAIT
    while connected.client.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not connected.client.connected  # the tasks are gone, and their sockets with them
    rooms.ctx.faults.switch_off("room_service_down")
    assert (await rooms.health())[0] == 200
    again = await rooms.listener("probe-eu-14")
    push = rooms.balance_changed("probe-eu-14", "dep-back")
    assert await again.next("balance:update") == push


async def test_draining_for_a_stop_sends_everyone_away(rooms: RoomService) -> None:
    connected = await rooms.listener("probe-eu-15")
    rooms.ctx.shutting_down = True
    status, body = await rooms.health()
    assert (status, body["service"]) == (503, "shutting_down")
    deadline = time.monotonic() + WAIT
    while connected.client.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not connected.client.connected
    late = Listener(rooms.transports)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect(rooms.url, rooms.token("probe-eu-15"))
    assert late.refusal == {"message": "shutting_down"}


async def test_fault_health_flapping(rooms: RoomService) -> None:
    rooms.ctx.faults.switch_on("health_flapping")
    assert [(await rooms.health())[0] for _ in range(4)] == [200, 500, 200, 500]
    rooms.ctx.faults.switch_off("health_flapping")
    assert [(await rooms.health())[0] for _ in range(3)] == [200, 200, 200]


# --- end to end, through the whole sandbox -----------------------------------------------


@pytest.mark.parametrize(
    ("base", "transports"),
    [
        pytest.param("room_service", ["websocket"], id="direct-websocket"),
        pytest.param("cdn", ["polling"], id="cdn-polling"),
    ],
)
async def test_a_bet_in_vault_earns_points_and_pushes_balance_and_level_up(
    clean_sandbox: SandboxHandle, base: str, transports: list[str]
) -> None:
    username = "probe-us-23" if base == "room_service" else "probe-us-22"
    token = clean_sandbox.login(username)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        reset = await http.post(
            clean_sandbox.concierge_url + "/v1/test-accounts/reset",
            headers={**headers, "X-Reset-Secret": secret("reset_secret")},
            json={"volume_usd": "99.00"},
        )
        assert reset.status_code == 200, reset.text
        listener = Listener(transports)
        await listener.connect(clean_sandbox.url(base), token)
        try:
            vault = VaultSession(http, clean_sandbox.vault_url, token)
            deposit = await vault.top_up("USD", "10.00")
            assert deposit["status"] == "completed"
            assert (await listener.next("balance:update"))["ref_id"] == deposit["deposit_id"]
            answer = await vault.bet("USD", "2.00")
            assert answer.status_code == 200, answer.text
            bet = answer.json()
            assert bet["stake_usd"] == "2.00"
            push = await listener.next("balance:update")
            assert push == {
                "currency": "USD",
                "balance": bet["balance_after"],
                "reason": "bet",
                "ref_id": bet["bet_id"],
            }
            assert await listener.next("rewards:level_up") == {"level": 2, "name": "Silver"}
            me = await http.get(clean_sandbox.concierge_url + "/v1/rewards/me", headers=headers)
            assert me.json() == {
                "volume_usd": "101.00",
                "vip_points": "2",
                "leaderboard_points": "20",
                "level": {"level": 2, "name": "Silver"},
                "next_level": {"level": 3, "volume_required_usd": "500", "remaining_usd": "399.00"},
            }
        finally:
            await listener.client.disconnect()
