"""The abuse defences hold: every request a cheat or a bug would send is refused, and no money moves.

The account holds less than ``max_stake`` (the contract validates limits before the balance), so
an over-limit stake is still stopped by the balance if the limit gives way: the probe sees the
wrong error code, and no money is lost. Each defence is its own step; one that gives way fails
with reason ``guardrail_breach``, its own critical signal. The last money step withdraws the
whole balance twice at once (only one may complete), so every run starts from a fresh top-up.

A breach is only an acceptance: a 2xx, money moved, or a refusal by a check the contract runs
*after* the one that should have caught the request (it got past that defence). Any other
unexpected answer (a missing route's 404, a refusal with another code) is a contract mismatch,
``http_status`` or ``unexpected_body``, naming the method, path, status and error code.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

from pydantic import Field

from harness import About, Reason, Run, Scenario
from harness.clients import Answer, ServiceClient
from scenarios.kit import (
    CurrencyOption,
    Deadlines,
    Payment,
    StakeFacts,
    VaultAccount,
    decimal,
    idempotency_headers,
    usd_value,
)

__all__ = ["Guardrails"]

BREACH = Reason.GUARDRAIL_BREACH
# The contract's validation order for money-moving requests: a refusal by a later check means
# the request got past the earlier one (e.g. an over-limit stake stopped only by the balance).
VALIDATION_ORDER = {
    "invalid_amount": 0,
    "unsupported_currency": 1,
    "stake_below_limit": 2,
    "stake_above_limit": 2,
    "withdrawal_above_limit": 2,
    "insufficient_funds": 3,
}
# Codes by which the endpoint refused the request itself (for the wrong reason, if not the one
# expected); any other answer (not_found, unauthorized, no JSON) is not this request's refusal.
REFUSAL_CODES = frozenset({*VALIDATION_ORDER, "bet_already_settled", "idempotency_key_reused", "forbidden"})
# Bets a run may place: rollback, replay and concurrent replay, plus one more for each of the
# three idempotency checks should its defence give way. The budget pays for all of them.
BETS_AT_MOST = 6


class GuardrailsOptions(Deadlines, CurrencyOption):
    floor_stakes: int = Field(10, ge=BETS_AT_MOST)  # top up when holding fewer minimum stakes
    top_up_stakes: int = Field(50, ge=BETS_AT_MOST)  # ... to this many (stays below max_stake)
    unsupported_currency: str = "XTS"  # ISO 4217's code for testing: no platform offers it
    rewards_deadline_seconds: float = Field(30.0, gt=0)  # for the account's first points
    leaderboard_limit: int = Field(100, ge=1)


class Guardrails(Scenario[GuardrailsOptions]):
    """Limits, amounts, currencies, rollback, idempotency, double spend, reset secret, leaderboard."""

    about = About("guardrails", tags=("api", "money", "guardrails"), interval="1m", timeout="2m")

    async def journey(self, run: Run[GuardrailsOptions]) -> None:
        code = run.options.journey_currency(run)

        async with run.step("prepare account"):
            account = await VaultAccount.log_in(run)
            vault = account.client
            facts = await account.stake_facts(code)
            currency, stake = facts.currency, facts.min_stake
            balance = await account.balance(code)
            top_up_to = stake * run.options.top_up_stakes
            low = balance < stake * run.options.floor_stakes
            needed = max(top_up_to - balance, currency.min_deposit) if low else Decimal(0)
            run.spend_stake(usd_value(stake * BETS_AT_MOST + needed, facts.rate))
            if needed:
                balance = await account.top_up(currency, top_up_to, top_up_to, run.options.completion)
            run.expect(
                f"the guardrail account holds {balance} {code}, not less than max_stake {facts.max_stake}",
                balance < facts.max_stake,
            )

        checks = Refusals(account, facts, run.options.history_limit)
        unit = currency.unit
        async with run.step("stake above max"):
            await checks.stake(currency.text(facts.max_stake + unit), "stake_above_limit")
        async with run.step("stake below min"):
            if stake > unit:  # a currency whose minimum is its smallest unit has nothing below it
                await checks.stake(currency.text(stake - unit), "stake_below_limit")
        async with run.step("negative stake"):
            await checks.stake("-" + currency.text(stake), "invalid_amount")
        async with run.step("stake with too many decimals"):
            await checks.stake(currency.text(stake) + "1", "invalid_amount")
        async with run.step("unsupported currency"):
            await checks.stake(currency.text(stake), "unsupported_currency", code=run.options.unsupported_currency)
        async with run.step("stake above balance"):
            held = await account.balance(code)
            await checks.stake(currency.text(held + unit), "insufficient_funds")
        async with run.step("withdrawal above balance"):
            held = await account.balance(code)
            await checks.withdrawal(currency.text(held + unit), "insufficient_funds")
        async with run.step("withdrawal above max"):
            await checks.withdrawal(currency.text(currency.max_withdrawal + unit), "withdrawal_above_limit")

        async with run.step("rollback settled bet"):
            bet = await checks.bet(stake, str(uuid.uuid4()))
            bet_id = str(bet.json["bet_id"])
            rollback = run.paths.bet_rollback.format(id=bet_id)
            answer = await vault.post(rollback, headers=idempotency_headers(run), expect=("[STATUS] < 500",))
            request = f"POST {run.paths.bet_rollback}"
            checks.refused("rollback of a settled bet", request, answer, "bet_already_settled", status=409)
            await checks.balance_is(decimal(bet.json["balance_after"], "balance_after"), "a refused rollback")

        key = str(uuid.uuid4())
        async with run.step("idempotent replay"):
            first = await checks.bet(stake, key)
            replay = await checks.bet(stake, key)
            await checks.debited_once(first, [replay])

        async with run.step("concurrent replay"):
            both_key = str(uuid.uuid4())
            one, two = await asyncio.gather(checks.bet(stake, both_key), checks.bet(stake, both_key))
            await checks.debited_once(one, [two])

        async with run.step("idempotency key reuse"):
            before = await account.balance(code)
            answer = await checks.post_bet(stake, key, selection="low", expect=("[STATUS] < 500",))
            request = f"POST {run.paths.bets}"
            checks.refused("the same Idempotency-Key with another bet", request, answer, "idempotency_key_reused")
            await checks.balance_is(before, "a bet refused for a reused key")

        async with run.step("withdrawal race"):
            await checks.withdrawal_race(run.options)

        async with run.step("reset without secret"):
            concierge = await run.as_customer("concierge")
            answer = await concierge.post(run.paths.rewards_reset, {}, expect=("[STATUS] < 500",))
            checks.refused("rewards reset without the secret", f"POST {run.paths.rewards_reset}", answer, None, 403)

        async with run.step("leaderboard hides synthetic"):
            await leaderboard_hides_account(run, concierge, run.options)


class Refusals:
    """The scenario's requests that must be refused, and the checks that nothing moved."""

    def __init__(self, account: VaultAccount, facts: StakeFacts, history_limit: int) -> None:
        self.run = account.run
        self.account = account
        self.vault = account.client
        self.facts = facts
        self.code = facts.currency.code
        self.history_limit = history_limit

    def refused(self, what: str, request: str, answer: Answer, error: str | None, status: int | None = None) -> None:
        """A 4xx (or exactly ``status``) with the ``error`` code (any, if None); a breach only if accepted.

        Accepted means a 2xx, or a refusal by a check that comes later in the contract's order.
        Anything else is a contract mismatch that names the request and what it answered.
        """
        got = answer.json.get("error") if isinstance(answer.json, dict) else None
        said = f"{request} answered {answer.status}" + (f" {got}" if isinstance(got, str) else "")
        if 200 <= answer.status < 300:
            self.run.fail(BREACH, f"{what} was accepted: {said}")
        status_ok = answer.status == status if status is not None else 400 <= answer.status < 500
        if status_ok and (error is None or got == error):
            return
        if _got_past(error, got):
            self.run.fail(BREACH, f"{what} got past the {error} check: {said}")
        expected = f"expected {status or '4xx'}" + (f" {error}" if error else "")
        mismatch = Reason.UNEXPECTED_BODY if status_ok and got in REFUSAL_CODES else Reason.HTTP_STATUS
        self.run.fail(mismatch, f"{what}: {said}, {expected}")

    async def balance_is(self, expected: Decimal, after: str) -> None:
        now = await self.account.balance(self.code)
        self.run.expect_equal(f"{self.code} balance after {after}", now, expected, reason=BREACH)

    async def stake(self, stake: str, error: str, code: str | None = None) -> None:
        """A bet with this stake (and currency) is refused with ``error`` and moves nothing."""
        before = await self.account.balance(self.code)
        body = {"game": "dice", "currency": code or self.code, "stake": stake, "selection": "high"}
        answer = await self.vault.post(
            self.run.paths.bets, body, headers=idempotency_headers(self.run), expect=("[STATUS] < 500",)
        )
        self.refused(f"stake {stake} {body['currency']}", f"POST {self.run.paths.bets}", answer, error)
        await self.balance_is(before, "a refused stake")

    async def withdrawal(self, amount: str, error: str) -> None:
        """A withdrawal of this amount is refused with ``error`` and moves nothing."""
        before = await self.account.balance(self.code)
        answer = await self.post_withdrawal(amount, expect=("[STATUS] < 500",))
        self.refused(f"withdrawal of {amount} {self.code}", f"POST {self.run.paths.withdrawals}", answer, error)
        await self.balance_is(before, "a refused withdrawal")

    async def post_withdrawal(self, amount: str, expect: tuple[str, ...]) -> Answer:
        body = {"currency": self.code, "amount": amount, "method": "sandbox"}
        return await self.vault.post(
            self.run.paths.withdrawals, body, headers=idempotency_headers(self.run), expect=expect
        )

    async def post_bet(
        self, stake: Decimal, key: str, selection: str = "high", expect: tuple[str, ...] = ("[STATUS] == 200",)
    ) -> Answer:
        body = {"game": "dice", "currency": self.code, "stake": self.facts.currency.text(stake), "selection": selection}
        return await self.vault.post(
            self.run.paths.bets, body, headers=idempotency_headers(self.run, key), expect=expect
        )

    async def bet(self, stake: Decimal, key: str) -> Answer:
        """A settled bet of ``stake`` sent with ``key`` (paid for by the run's budget up front)."""
        return await self.post_bet(
            stake,
            key,
            expect=("[STATUS] == 200", "[BODY].status == settled", "has([BODY].bet_id)", "has([BODY].balance_after)"),
        )

    async def debited_once(self, first: Answer, replays: list[Answer]) -> None:
        """Replays answered with the first bet, the balance moved once, one debit in the history."""
        run, code = self.run, self.code
        bet_id = str(first.json["bet_id"])
        for replay in replays:
            run.expect_equal("bet_id of a replayed bet", str(replay.json["bet_id"]), bet_id, reason=BREACH)
        await self.balance_is(decimal(first.json["balance_after"], "balance_after"), "a replayed bet")
        history = await self.account.history(bet_id, self.history_limit)
        debits = [e for e in history if e.get("type") == "bet_debit"]
        run.expect(f"{code} history has no bet_debit for the bet", bool(debits))
        run.expect_equal(f"{code} bet_debit entries of a replayed bet", len(debits), 1, reason=BREACH)

    async def withdrawal_race(self, options: GuardrailsOptions) -> None:
        """Two withdrawals of the whole balance at once: at most one may complete."""
        run, code, currency = self.run, self.code, self.facts.currency
        balance = await self.account.balance(code)
        amount = currency.text(balance)
        answers = await asyncio.gather(*(self.post_withdrawal(amount, ("[STATUS] < 500",)) for _ in range(2)))
        accepted = [a for a in answers if a.status == 200]
        request = f"POST {run.paths.withdrawals}"
        for answer in answers:  # the one refused must be refused for the balance, nothing else
            if answer.status != 200:
                self.refused(f"the second withdrawal of {amount} {code}", request, answer, "insufficient_funds")
        run.expect(f"neither withdrawal of the whole balance ({amount} {code}) was accepted", bool(accepted))
        completed = 0
        for answer in accepted:
            payment = Payment("withdrawal", str(_field(run, answer, "withdrawal_id")), currency, balance)
            completed += await self.account.settle(payment, run.options.completion) == "completed"
        run.expect(f"two withdrawals of the whole balance ({amount} {code}) both completed", completed <= 1, BREACH)
        await self.balance_is(balance - balance * completed, "racing withdrawals")


def _got_past(expected: str | None, got: Any) -> bool:
    """Was the request refused by a check the contract runs after the ``expected`` one?"""
    if expected not in VALIDATION_ORDER or got not in VALIDATION_ORDER:
        return False
    return bool(VALIDATION_ORDER[got] > VALIDATION_ORDER[expected])


def _field(run: Run[GuardrailsOptions], answer: Answer, name: str) -> Any:
    if not isinstance(answer.json, dict) or name not in answer.json:
        run.fail(Reason.UNEXPECTED_BODY, f"answer has no field {name!r}")
    return answer.json[name]


async def leaderboard_hides_account(
    run: Run[GuardrailsOptions], concierge: ServiceClient, options: GuardrailsOptions
) -> None:
    """Once the account has leaderboard points, no leaderboard entry may be the account."""
    session = await run.session()
    deadline = time.monotonic() + run.options.rewards_deadline_seconds
    while True:
        me = await concierge.get(run.paths.rewards_me, expect=("[STATUS] == 200", "has([BODY].leaderboard_points)"))
        if decimal(str(me.json["leaderboard_points"]), "leaderboard_points") > 0:
            break
        if time.monotonic() >= deadline:
            run.log.warning("leaderboard not checked: the account has no leaderboard points yet")
            return
        await asyncio.sleep(run.options.poll_interval_seconds)
    board = await concierge.get(f"{run.paths.leaderboard}?limit={run.options.leaderboard_limit}")
    if not isinstance(board.json, list):
        run.fail(Reason.UNEXPECTED_BODY, "leaderboard: expected a JSON list")
    names = {session.username, session.display_name} - {None}
    shown = [e for e in board.json if isinstance(e, dict) and e.get("display_name") in names]
    run.expect(
        f"the leaderboard shows the synthetic account {session.display_name or session.username}"
        f" (rank {shown[0].get('rank') if shown else '-'})",
        not shown,
        BREACH,
    )
