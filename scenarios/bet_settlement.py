"""A customer places a dice bet and sees the right payout, balance, history and live balance.

The bet helpers here (``stake_facts``, ``stake_for``, ``place_dice_bet``) are shared with the
rewards and level-up journeys, which also need a settled bet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness import Reason, Run, RunSkipped, Scenario, StepFailure
from harness.clients import ServiceClient
from scenarios._money import (
    Currency,
    balances,
    currencies,
    decimal,
    ensure_funds,
    idempotency_headers,
    rates,
    usd_value,
)

__all__ = ["BetSettlement", "Bet", "StakeFacts", "stake_facts", "stake_for", "place_dice_bet", "journey_currency"]

HISTORY_LIMIT = 20  # the bet's entries are among the newest: nothing else moves this account's money


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
class StakeFacts:
    """What a bet in one currency needs: the currency, its stake limits and its rate."""

    currency: Currency
    min_stake: Decimal
    max_stake: Decimal
    rate: Decimal


def journey_currency(run: Run, configured: str | None) -> str:
    """The option's currency, or the target's first; it must be one the target lists."""
    code = configured or run.target.currencies[0]
    if code not in run.target.currencies:
        raise RunSkipped(f"options.currency {code} is not one of target {run.target_name}'s currencies")
    return code


def _limit(answer: Any, field: str, code: str) -> Decimal:
    table = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(table, dict) or code not in table:
        raise StepFailure(Reason.UNEXPECTED_BODY, f"limits: no {field} for {code}")
    return decimal(table[code], f"{field} {code}")


async def stake_facts(run: Run, vault: ServiceClient, code: str) -> StakeFacts:
    """Currency facts, stake limits and the rate of ``code``, read from Vault."""
    known = await currencies(run, vault)
    if code not in known:
        run.fail(Reason.ASSERTION, f"Vault does not list currency {code}")
    limits = (await vault.get(run.paths.limits)).json
    rate = (await rates(run, vault)).get(code)
    if rate is None or rate <= 0:
        run.fail(Reason.ASSERTION, f"Vault has no usable rate for {code}")
    return StakeFacts(known[code], _limit(limits, "min_stake", code), _limit(limits, "max_stake", code), rate)


def stake_for(facts: StakeFacts, stake_usd: Decimal | None) -> Decimal:
    """A stake worth at least ``stake_usd`` (None: the minimum stake), within the limits."""
    if stake_usd is None:
        return facts.min_stake
    stake = (stake_usd * facts.rate).quantize(facts.currency.unit, rounding=ROUND_CEILING)
    return min(max(stake, facts.min_stake), facts.max_stake)


async def place_dice_bet(run: Run, vault: ServiceClient, facts: StakeFacts, stake: Decimal) -> Bet:
    """Take the stake from the budget, bet it (with an ``Idempotency-Key``) and read the settled bet."""
    code = facts.currency.code
    run.spend_stake(usd_value(stake, facts.rate))
    answer = await vault.post(
        run.paths.bets,
        {"game": "dice", "currency": code, "stake": facts.currency.text(stake), "selection": "high"},
        headers=idempotency_headers(run),
        expect=("[STATUS] == 200", "[BODY].status == settled", "has([BODY].bet_id)"),
    )
    accepted_at = time.perf_counter()
    outcome = answer.field("outcome")
    if outcome not in ("win", "loss"):
        run.fail(Reason.UNEXPECTED_BODY, f"bet {code}: outcome {str(outcome)[:20]!r} is neither win nor loss")
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


class BetSettlement(Scenario):
    """A dice bet settles exactly: payout, balance, history entries and the live balance push."""

    name = "bet_settlement"
    tags = ("api", "money", "socketio", "smoke")
    interval_seconds = 120.0
    timeout_seconds = 60.0
    moves_money = True

    class Options(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        currency: str | None = None  # default: the target's first currency
        stake_usd: Decimal | None = Field(None, gt=0)  # default: the currency's minimum stake
        floor_stakes: int = Field(3, ge=1)  # top up when the balance is below this many stakes
        top_up_stakes: int = Field(50, ge=1)  # ... to this many stakes (at least the minimum deposit)
        deposit_deadline_seconds: float = Field(30.0, gt=0)
        push_deadline_seconds: float = Field(10.0, gt=0)

    async def journey(self, run: Run) -> None:
        options: BetSettlement.Options = run.options  # type: ignore[assignment]
        code = journey_currency(run, options.currency)
        events = run.contract.events

        async with run.step("log in"):
            vault = await run.as_customer("vault")

        async with run.step("read limits and rates"):
            facts = await stake_facts(run, vault, code)
            stake = stake_for(facts, options.stake_usd)

        async with run.step(f"top up {code}"):
            await ensure_funds(
                run,
                vault,
                facts.currency,
                stake * options.floor_stakes,
                stake * options.top_up_stakes,
                options.deposit_deadline_seconds,
            )

        async with run.step("read balance"):
            before = (await balances(run, vault)).get(code, Decimal(0))

        async with run.step("connect socket"):
            socket = await run.socket()

        async with run.step("place bet"):
            bet = await place_dice_bet(run, vault, facts, stake)

        async with run.step("check settlement"):
            expected_payout = stake * bet.multiplier if bet.outcome == "win" else Decimal(0)
            run.expect_equal(f"{code} payout of a {bet.outcome}", bet.payout, expected_payout)
            run.expect_equal(
                f"{code} balance_after (before {before}, stake {stake})", bet.balance_after, before - stake + bet.payout
            )
            now = (await balances(run, vault)).get(code, Decimal(0))
            run.expect_equal(f"{code} balance after the bet", now, bet.balance_after)

        async with run.step("check history"):
            await check_history(run, vault, bet, before)

        async with run.step("balance push"):
            push = await run.push(
                socket, events.balance_update, where={"ref_id": bet.bet_id}, timeout=options.push_deadline_seconds
            )
            run.metrics.push_latency(events.balance_update, max(0.0, push.details["arrived_at"] - bet.accepted_at))
            payload = push.details["payload"]
            run.expect_equal(f"{events.balance_update} currency", payload.get("currency"), code)
            run.expect_equal(f"{events.balance_update} reason", payload.get("reason"), "bet")
            run.expect_equal(
                f"{code} balance pushed", decimal(payload.get("balance"), f"pushed {code} balance"), bet.balance_after
            )


async def check_history(run: Run, vault: ServiceClient, bet: Bet, before: Decimal) -> None:
    """The bet's entries (by ``ref_id``): a debit of -stake, a credit of +payout on a win, and nothing
    else; together they account for the balance change exactly."""
    code = bet.currency
    answer = await vault.get(f"{run.paths.transactions}?limit={HISTORY_LIMIT}")
    if not isinstance(answer.json, list):
        run.fail(Reason.UNEXPECTED_BODY, "transactions: expected a JSON list")
    mine = [e for e in answer.json if isinstance(e, dict) and e.get("ref_id") == bet.bet_id]
    kinds = sorted(str(e.get("type")) for e in mine)
    expected_kinds = ["bet_credit", "bet_debit"] if bet.outcome == "win" else ["bet_debit"]
    run.expect_equal(f"{code} history entries of the bet", kinds, expected_kinds)
    for entry in mine:
        run.expect_equal(f"{entry['type']} currency", entry.get("currency"), code)
        amount = decimal(entry.get("amount"), f"{entry['type']} amount")
        wanted = -bet.stake if entry["type"] == "bet_debit" else bet.payout
        run.expect_equal(f"{code} {entry['type']} amount", amount, wanted)
    total = sum((decimal(e.get("amount"), "amount") for e in mine), Decimal(0))
    run.expect_equal(f"{code} sum of the bet's history entries", total, bet.balance_after - before)
