"""A customer places a dice bet and sees the right payout, balance, history and live balance."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from harness import About, Run, Scenario
from scenarios.kit import Bet, BetOptions, VaultAccount, decimal, expect_balance_push, ready_to_bet

__all__ = ["BetSettlement"]

HISTORY_LIMIT = 20  # the bet's entries are among the newest: nothing else moves this account's money


class BetSettlementOptions(BetOptions):
    push_deadline_seconds: float = Field(10.0, gt=0)


class BetSettlement(Scenario[BetSettlementOptions]):
    """A dice bet settles exactly: payout, balance, history entries and the live balance push."""

    about = About("bet_settlement", tags=("api", "money", "socketio", "smoke"), interval="20s", timeout="1m")

    async def journey(self, run: Run[BetSettlementOptions]) -> None:
        code = run.options.journey_currency(run)

        async with run.step("log in"):
            vault = await VaultAccount.log_in(run)

        vault, facts, stake = await ready_to_bet(run, run.options, code, vault)

        async with run.step("read balance"):
            before = await vault.balance(code)

        async with run.step("connect socket"):
            socket = await run.socket()

        async with run.step("place bet"):
            bet = await vault.bet(facts, stake)

        async with run.step("check settlement"):
            expected_payout = stake * bet.multiplier if bet.outcome == "win" else Decimal(0)
            run.expect_equal(f"{code} payout of a {bet.outcome}", bet.payout, expected_payout)
            run.expect_equal(
                f"{code} balance_after (before {before}, stake {stake})", bet.balance_after, before - stake + bet.payout
            )
            run.expect_equal(f"{code} balance after the bet", await vault.balance(code), bet.balance_after)

        async with run.step("check history"):
            await check_history(vault, bet, before)

        async with run.step("balance push"):
            timeout = run.options.push_deadline_seconds
            await expect_balance_push(run, socket, bet.bet_id, code, "bet", bet.balance_after, timeout, bet.accepted_at)


async def check_history(vault: VaultAccount, bet: Bet, before: Decimal) -> None:
    """The bet's entries (by ``ref_id``): a debit of -stake, a credit of +payout on a win, and nothing
    else; together they account for the balance change exactly."""
    run, code = vault.run, bet.currency
    mine = await vault.history(bet.bet_id, HISTORY_LIMIT)
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
