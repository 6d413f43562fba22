"""The journey's customer at Vault: currency facts, balances, top-ups, payments, bets, history.

One ``VaultAccount`` per run (``await VaultAccount.log_in(run)``). Every read checks the shape
of the answer and fails the step as ``unexpected_body`` when it is wrong; every money move
carries an ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from harness import Reason, StepFailure
from scenarios.kit.customer import CustomerOf
from scenarios.kit.money import Currency, decimal, idempotency_headers, stake_usd, usd_value

__all__ = ["Bet", "Kind", "Payment", "StakeFacts", "VaultAccount", "Wait"]

Kind = Literal["deposit", "withdrawal"]


@dataclass(frozen=True)
class Wait:
    """How long a payment may stay ``pending``, and how often it is read meanwhile."""

    deadline_seconds: float
    interval_seconds: float = 0.1


@dataclass(frozen=True)
class StakeFacts:
    """What a bet in one currency needs: the currency, its stake limits and its rate."""

    currency: Currency
    min_stake: Decimal
    max_stake: Decimal
    rate: Decimal

    def stake_for(self, stake_usd: Decimal | None) -> Decimal:
        """A stake worth at least ``stake_usd`` (None: the minimum stake), within the limits."""
        if stake_usd is None:
            return self.min_stake
        stake = (stake_usd * self.rate).quantize(self.currency.unit, rounding=ROUND_CEILING)
        return min(max(stake, self.min_stake), self.max_stake)


@dataclass(frozen=True)
class Bet:
    """A settled bet as Vault answered it; ``accepted_at`` is when the answer arrived (perf_counter)."""

    bet_id: str
    currency: str
    stake: Decimal
    outcome: str
    multiplier: Decimal
    payout: Decimal
    balance_after: Decimal
    stake_usd: Decimal
    accepted_at: float


@dataclass(frozen=True)
class Payment:
    kind: Kind
    payment_id: str
    currency: Currency
    amount: Decimal


def _limit(answer: Any, field: str, code: str) -> Decimal:
    table = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(table, dict) or code not in table:
        raise StepFailure(Reason.UNEXPECTED_BODY, f"limits: no {field} for {code}")
    return decimal(table[code], f"{field} {code}")


class VaultAccount(CustomerOf):
    """The synthetic customer's wallet at Vault, through the run's logged-in client."""

    # pragma: no mutate start
    # (Calls to Vault, proven by the sandbox journeys and the detection matrix, not by the fast
    # tests `make mutate` runs; docs/mutation.md.)
    service = "vault"

    # -- facts ----------------------------------------------------------------------------------
    async def currencies(self) -> dict[str, Currency]:
        answer = await self.client.get(self.run.paths.currencies)
        if not isinstance(answer.json, list):
            raise StepFailure(Reason.UNEXPECTED_BODY, "currencies: expected a JSON list")
        found = {}
        for entry in answer.json:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("code"), str)
                or not isinstance(entry.get("decimals"), int)
            ):
                raise StepFailure(Reason.UNEXPECTED_BODY, "currencies: entry without code or decimals")
            code = entry["code"]
            found[code] = Currency(
                code,
                entry["decimals"],
                decimal(entry.get("min_deposit"), f"{code}.min_deposit"),
                decimal(entry.get("max_withdrawal"), f"{code}.max_withdrawal"),
            )
        return found

    async def currency(self, code: str) -> Currency:
        """The facts of ``code``; a currency Vault does not list fails the step."""
        known = await self.currencies()
        if code not in known:
            self.run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
        return known[code]

    async def rates(self) -> dict[str, Decimal]:
        answer = await self.client.get(self.run.paths.rates, expect=("[STATUS] == 200", "has([BODY].rates)"))
        raw = answer.json["rates"]
        if not isinstance(raw, dict):
            raise StepFailure(Reason.UNEXPECTED_BODY, "rates: rates is not a mapping")
        found = {code: decimal(value, f"rate {code}") for code, value in raw.items()}
        found.setdefault(str(answer.json.get("base", "USD")), Decimal(1))
        return found

    async def rate(self, code: str) -> Decimal:
        """The rate of ``code``; none, or one not above zero, fails the step."""
        rate = (await self.rates()).get(code)
        if rate is None or rate <= 0:
            self.run.fail(Reason.ASSERTION, f"Vault has no usable rate for {code}")
        return rate

    async def stake_facts(self, code: str) -> StakeFacts:
        """Currency facts, stake limits and the rate of ``code``."""
        currency = await self.currency(code)
        limits = (await self.client.get(self.run.paths.limits)).json
        rate = await self.rate(code)
        return StakeFacts(currency, _limit(limits, "min_stake", code), _limit(limits, "max_stake", code), rate)

    # -- balances ---------------------------------------------------------------------------------
    async def balances(self) -> dict[str, Decimal]:
        answer = await self.client.get(self.run.paths.balance, expect=("[STATUS] == 200", "has([BODY].balances)"))
        raw = answer.json["balances"]
        if not isinstance(raw, dict):
            raise StepFailure(Reason.UNEXPECTED_BODY, "balance: balances is not a mapping")
        return {code: decimal(value, f"balance {code}") for code, value in raw.items()}

    async def balance(self, code: str) -> Decimal:
        return (await self.balances()).get(code, Decimal(0))

    async def balance_text(self, code: str) -> str:
        """The balance of ``code`` as Vault's exact decimal string (what a page must show)."""
        answer = await self.client.get(self.run.paths.balance, expect=("[STATUS] == 200", "has([BODY].balances)"))
        raw = answer.json["balances"]
        if not isinstance(raw, dict) or code not in raw:
            raise StepFailure(Reason.UNEXPECTED_BODY, f"Vault's balance has no {code}")
        decimal(raw[code], f"Vault's {code} balance")  # a decimal string, or the step fails
        return str(raw[code])

    # -- payments ---------------------------------------------------------------------------------
    async def open_payment(self, kind: Kind, currency: Currency, amount: Decimal) -> Payment:
        """POST a sandbox deposit or withdrawal; the answer must carry its id."""
        path = self.run.paths.deposits if kind == "deposit" else self.run.paths.withdrawals
        id_field = f"{kind}_id"
        body = {"currency": currency.code, "amount": currency.text(amount), "method": "sandbox"}
        answer = await self.client.post(
            path,
            body,
            headers=idempotency_headers(self.run),
            expect=("[STATUS] == 200", f"has([BODY].{id_field})", "has([BODY].status)"),
        )
        return Payment(kind, str(answer.json[id_field]), currency, amount)

    async def settle(self, payment: Payment, wait: Wait) -> str:
        """Poll the payment until it leaves ``pending`` (``timeout`` past the deadline); its final status."""
        template = self.run.paths.deposit if payment.kind == "deposit" else self.run.paths.withdrawal
        path = template.format(id=payment.payment_id)
        deadline = time.monotonic() + wait.deadline_seconds
        while True:
            answer = await self.client.get(path, expect=("[STATUS] == 200", "has([BODY].status)"))
            status = str(answer.json["status"])
            if status != "pending":
                return status
            if time.monotonic() >= deadline:
                what = f"{payment.kind} {payment.currency.code}"
                raise StepFailure(Reason.TIMEOUT, f"{what} still pending after {wait.deadline_seconds:g} s")
            await asyncio.sleep(wait.interval_seconds)

    async def complete(self, payment: Payment, wait: Wait) -> None:
        """The payment must end ``completed``; any other final status fails the step."""
        status = await self.settle(payment, wait)
        what = f"{payment.kind} {payment.currency.code}"
        self.run.expect(f"{what} ended {status[:20]!r}, expected 'completed'", status == "completed")

    async def top_up(self, currency: Currency, floor: Decimal, to: Decimal, wait: Wait) -> Decimal:
        """Below ``floor``, deposit up to ``to`` (at least the minimum deposit) with the sandbox
        method and wait for it to complete; the balance either way."""
        balance = await self.balance(currency.code)
        if balance >= floor:
            return balance
        payment = await self.open_payment("deposit", currency, max(to - balance, currency.min_deposit))
        await self.complete(payment, wait)
        return await self.balance(currency.code)

    # -- bets and history -------------------------------------------------------------------------
    async def bet(self, facts: StakeFacts, stake: Decimal) -> Bet:
        """Take the stake from the budget, bet it on dice (with an ``Idempotency-Key``) and read the settled bet."""
        code = facts.currency.code
        self.run.spend_stake(usd_value(stake, facts.rate))
        answer = await self.client.post(
            self.run.paths.bets,
            {"game": "dice", "currency": code, "stake": facts.currency.text(stake), "selection": "high"},
            headers=idempotency_headers(self.run),
            expect=("[STATUS] == 200", "[BODY].status == settled", "has([BODY].bet_id)"),
        )
        accepted_at = time.perf_counter()
        outcome = answer.field("outcome")
        if outcome not in ("win", "loss"):
            self.run.fail(Reason.UNEXPECTED_BODY, f"bet {code}: outcome {str(outcome)[:20]!r} is neither win nor loss")
        return Bet(
            bet_id=str(answer.field("bet_id")),
            currency=code,
            stake=stake,
            outcome=outcome,
            multiplier=decimal(answer.field("multiplier"), f"bet {code} multiplier"),
            payout=decimal(answer.field("payout"), f"bet {code} payout"),
            balance_after=decimal(answer.field("balance_after"), f"bet {code} balance_after"),
            stake_usd=decimal(answer.field("stake_usd"), f"bet {code} stake_usd"),
            accepted_at=accepted_at,
        )

    # pragma: no mutate end
    async def expect_stake_usd(self, facts: StakeFacts, bet: Bet) -> Decimal:
        """The bet's ``stake_usd`` is the contract's ``round_half_even(stake / rate, 2)``; returns it."""
        rate = facts.rate
        if bet.stake_usd != stake_usd(bet.stake, rate):  # the rate may have moved just before the bet
            rate = (await self.rates()).get(bet.currency, rate)
        expected = stake_usd(bet.stake, rate)
        self.run.expect_equal(f"stake_usd of a {bet.stake} {bet.currency} bet at rate {rate}", bet.stake_usd, expected)
        return expected

    # pragma: no mutate start
    async def history(self, ref_id: str, limit: int) -> list[dict[str, Any]]:
        """The entries of the newest ``limit`` in the history whose ``ref_id`` is ``ref_id``."""
        answer = await self.client.get(f"{self.run.paths.transactions}?limit={limit}")
        if not isinstance(answer.json, list):
            self.run.fail(Reason.UNEXPECTED_BODY, "transactions: expected a JSON list")
        return [e for e in answer.json if isinstance(e, dict) and e.get("ref_id") == ref_id]

    # pragma: no mutate end
