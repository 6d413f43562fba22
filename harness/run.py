"""One run of one scenario against one target: its steps, its clients and its session.

A scenario sees only this object. ``run.step(name)`` times a step and records how it ended;
the first failing step ends the journey (after-steps go in ``run.on_cleanup``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, NoReturn

from config.contract import Contract
from config.settings import MissingSecret, TargetConfig
from harness.accounts import Session, login_answer_problem
from harness.clients import ServiceClient
from harness.errors import RunSkipped, StepFailure
from harness.metrics import ScenarioMetrics
from harness.results import StepRecord
from harness.runtime import Runtime
from harness.scenario import OptionsT, Scenario
from harness.secrets import redact, register_secret, register_session_secret
from probes.context import ProbeContext
from probes.result import Push, Reason
from probes.socketio import SocketClient, SocketModule, open_socket

__all__ = ["Run", "CLEANUP_GRACE_SECONDS"]

CLEANUP_GRACE_SECONDS = 0.5  # what cleanups get past the run's timeout (a socket's goodbye, a page's close)


class Run(Generic[OptionsT]):
    def __init__(
        self,
        runtime: Runtime,
        scenario: Scenario[OptionsT],
        target_name: str,
        options: OptionsT,
        timeout_seconds: float,
    ) -> None:
        self.runtime = runtime
        self.scenario = scenario
        self.options = options
        self.target_name = target_name
        self.target: TargetConfig = runtime.settings.targets[target_name]
        self.region = runtime.settings.runner.region
        self.contract: Contract = runtime.settings.contract
        self.timeout_seconds = timeout_seconds
        self.probe = ProbeContext(probe_header=self.contract.headers.synthetic_probe)
        self.trace = runtime.tracing.start_run(self.probe, scenario.name, target_name, self.region)
        self.log = logging.getLogger(f"scenario.{scenario.name}")
        self.metrics = ScenarioMetrics(runtime.metrics, scenario.name, target_name)
        self.steps: list[StepRecord] = []
        self.current_step: str | None = None
        self.deadline = time.monotonic() + timeout_seconds
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self._step_starts: list[Callable[[], Awaitable[None]]] = []
        self._artifacts: Path | None = None
        self.keep_artifacts = False  # set by probes that wrote something worth keeping on success

    # -- steps -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        """Time a named step and record how it ended; failures propagate and end the journey."""
        started = time.perf_counter()
        self.current_step = name
        record = StepRecord(name, 0.0, True)
        self.steps.append(record)
        span = self.trace.start_step(record)
        try:
            for starting in self._step_starts:
                await starting()
            yield
        except StepFailure as failure:
            record.success, record.reason, record.message = False, str(failure.reason), redact(failure.message)
            raise
        except asyncio.CancelledError:
            record.success, record.reason, record.message = False, str(Reason.TIMEOUT), "step did not finish in time"
            raise
        except RunSkipped:
            self.steps.remove(record)
            raise
        except Exception as exc:  # a scenario bug: keep the type, never the (possibly secret) text
            record.success, record.reason = False, str(Reason.ERROR)
            record.message = redact(f"{type(exc).__name__}: {exc}")[:200]
            raise
        finally:
            record.duration_seconds = time.perf_counter() - started
            self.current_step = None
            self.trace.end_step(span, record)

    def fail(self, reason: Reason, message: str) -> NoReturn:
        raise StepFailure(reason, message)

    def expect_equal(self, what: str, actual: Any, expected: Any, reason: Reason = Reason.ASSERTION) -> None:
        """Exact equality (money and points are ``Decimal``: never a tolerance)."""
        if actual != expected:
            raise StepFailure(reason, f"{what}: got {actual}, expected {expected}")

    def expect(self, what: str, holds: bool, reason: Reason = Reason.ASSERTION) -> None:
        if not holds:
            raise StepFailure(reason, what)

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def on_cleanup(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run ``cleanup`` when the run ends, passed or not (e.g. disconnect a socket)."""
        self._cleanups.append(cleanup)

    def on_step_start(self, starting: Callable[[], Awaitable[None]]) -> None:
        """Await ``starting`` as each later step begins (the browser takes up the step's ``traceparent``)."""
        self._step_starts.append(starting)

    async def run_cleanups(self) -> None:
        """Run the cleanups, all of them within the run's timeout plus ``CLEANUP_GRACE_SECONDS``
        (a run that timed out still ends within a second of its timeout, whatever the target does)."""
        ends = max(self.deadline, time.monotonic()) + CLEANUP_GRACE_SECONDS
        for cleanup in reversed(self._cleanups):
            try:
                await asyncio.wait_for(cleanup(), timeout=min(10.0, max(0.0, ends - time.monotonic())))
            except (Exception, asyncio.CancelledError):  # cleanup never hides the run's own result
                self.log.debug("cleanup failed", exc_info=True)
        self._cleanups.clear()

    # -- clients -----------------------------------------------------------------------------
    def client(self, service: str) -> ServiceClient:
        return ServiceClient(
            service,
            self.target.service_urls()[service],
            self.runtime.http,
            self.probe,
            timeout_seconds=min(10.0, self.timeout_seconds),
            max_body_bytes=self.max_body_bytes,
            on_phases=self._record_phases,
        )

    def _record_phases(self, phases: Mapping[str, float]) -> None:
        """An HTTP exchange's phases, under the step it ran in (outside a step they time nothing)."""
        if self.current_step is not None:
            self.metrics.http_phases(self.current_step, phases)

    @property
    def max_body_bytes(self) -> int:
        """The cap on every answer this run reads (``runner.max_body_bytes``)."""
        return self.runtime.settings.runner.max_body_bytes

    @property
    def vault(self) -> ServiceClient:
        return self.client("vault")

    @property
    def concierge(self) -> ServiceClient:
        return self.client("concierge")

    @property
    def paths(self) -> Any:
        return self.contract.paths

    # -- accounts and money ------------------------------------------------------------------
    def username(self) -> str:
        accounts = self.target.accounts
        name = accounts.username_for(self.scenario.name, self.region) if accounts else None
        if name is None:
            raise RunSkipped(f"no synthetic account configured for {self.scenario.name} on {self.target_name}")
        return name

    def password(self) -> str:
        assert self.target.accounts is not None
        return self._secret(self.target.accounts.password, "accounts.password")

    def reset_secret(self) -> str:
        if self.target.reset_secret is None:
            raise RunSkipped(f"no reset_secret configured for target {self.target_name}")
        return self._secret(self.target.reset_secret, "reset_secret")

    def _secret(self, ref: Any, place: str) -> str:
        try:
            value: str = self.runtime.settings.secret(ref)
        except MissingSecret as exc:
            raise RunSkipped(f"targets.{self.target_name}.{place}: {exc}") from None
        register_secret(value)
        return value

    async def session(self) -> Session:
        """The scenario's synthetic account, logged in once and reused until the token expires."""
        username = self.username()
        cache = self.runtime.tokens
        async with cache.lock(self.target_name, username):
            session = cache.get(self.target_name, username)
            if session is None:
                session = await self._login(username)
                cache.put(self.target_name, session)
        register_session_secret(session.token)  # in use again: kept among the newest
        return session

    async def _login(self, username: str) -> Session:
        answer = await self.vault.post(
            self.paths.login, {"username": username, "password": self.password()}, expect=("[STATUS] == 200",)
        )
        if isinstance(answer.json, dict) and isinstance(answer.json.get("token"), str):
            register_session_secret(answer.json["token"])
        login, problem = login_answer_problem(answer.json)
        if login is None:
            raise StepFailure(Reason.UNEXPECTED_BODY, f"vault POST {self.paths.login}: {problem}")
        return Session(username, str(login.user_id), login.token, login.display_name)

    async def _relogin(self) -> str:
        username = self.username()
        self.runtime.tokens.forget(self.target_name, username)
        return (await self.session()).token

    async def as_customer(self, service: str = "vault") -> ServiceClient:
        """A client of ``service`` carrying the scenario account's bearer token."""
        session = await self.session()
        return self.client(service).with_token(session.token, self._relogin)

    def spend_stake(self, usd: Decimal) -> None:
        """Take a stake from the target's daily budget, or skip the run when it would not fit."""
        if not self.target.allow_money:
            raise RunSkipped(f"money may not move on target {self.target_name} (allow_money is false)")
        if not self.runtime.budget.try_spend(self.target_name, usd):
            raise RunSkipped(
                f"stake budget of target {self.target_name} exhausted for today "
                f"({self.runtime.budget.remaining(self.target_name)} USD left, {usd} needed)"
            )
        self.runtime.metrics.stake_budget.labels(self.target_name).set(
            float(self.runtime.budget.remaining(self.target_name))
        )

    # -- socket.io ---------------------------------------------------------------------------
    async def socket(self, transport: str = "websocket", token: str | None = None) -> SocketClient:
        """A socket.io client of Room-Service as the scenario's customer, closed when the run ends."""
        if token is None:
            token = (await self.session()).token
        module = SocketModule(
            path=self.paths.socketio,
            transport=transport,
            token=token,
            connect_timeout_seconds=min(5.0, self.remaining_seconds()),
            max_payload_bytes=self.max_body_bytes,
        )
        result, client = await open_socket(self.target.service_urls()["room_service"], module, self.probe)
        if client is None:
            raise StepFailure(result.reason or Reason.CONNECT_ERROR, result.message)
        self.on_cleanup(client.close)
        return client

    async def push(
        self, client: SocketClient, event: str, where: dict[str, Any] | None = None, timeout: float = 5.0
    ) -> Push:
        """Wait for a push; fails the step as ``push_missing`` when it does not come in time."""
        result = await client.wait_for(event, where, timeout=min(timeout, self.remaining_seconds()))
        if not result.success or result.push is None:  # a success always has its push
            raise StepFailure(result.reason or Reason.PUSH_MISSING, result.message)
        return result.push

    async def ack(self, client: SocketClient, event: str, data: Any, timeout: float = 5.0) -> Any:
        """Emit with an ack and return the ack; fails as ``timeout`` when none comes."""
        result = await client.call(event, data, timeout=min(timeout, self.remaining_seconds()))
        if not result.success:
            raise StepFailure(result.reason or Reason.TIMEOUT, result.message)
        return result.ack

    # -- artifacts ---------------------------------------------------------------------------
    @property
    def artifacts_dir(self) -> Path:
        """This run's artifact folder (created on first use): ``<artifacts>/<scenario>/<run id>``."""
        if self._artifacts is None:
            self._artifacts = self.runtime.artifacts_dir / self.scenario.name / self.probe.run_id
            self._artifacts.mkdir(parents=True, exist_ok=True)
        return self._artifacts

    @property
    def has_artifacts(self) -> bool:
        return self._artifacts is not None
