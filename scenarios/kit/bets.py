"""The steps around a bet: before it, the stake from Vault's limits and enough money for a few;
for a rewards journey, the bet and the USD value Concierge must credit for it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness import Run
from scenarios.kit.options import BetOptions
from scenarios.kit.vault import Bet, StakeFacts, VaultAccount

__all__ = ["place_rewarded_bet", "ready_to_bet"]


async def ready_to_bet(
    run: Run[Any], options: BetOptions, code: str, vault: VaultAccount | None = None
) -> tuple[VaultAccount, StakeFacts, Decimal]:
    """Steps "read limits and rates" (logging in to Vault, unless ``vault`` is) and "top up C":
    the account, the currency's facts and the stake, with ``floor_stakes`` of it at least."""
    async with run.step("read limits and rates"):
        vault = vault or await VaultAccount.log_in(run)
        facts = await vault.stake_facts(code)
        stake = facts.stake_for(options.stake_usd)
    async with run.step(f"top up {code}"):
        floor, to = stake * options.floor_stakes, stake * options.top_up_stakes
        await vault.top_up(facts.currency, floor, to, options.top_up_wait)
    return vault, facts, stake


async def place_rewarded_bet(
    run: Run[Any], vault: VaultAccount, facts: StakeFacts, stake: Decimal
) -> tuple[Bet, Decimal]:
    """Steps "place bet" and "check stake_usd": the bet, and its ``stake_usd`` as the contract
    computes it (what Concierge's volume and points must grow by)."""
    async with run.step("place bet"):
        bet = await vault.bet(facts, stake)
    async with run.step("check stake_usd"):
        return bet, await vault.expect_stake_usd(facts, bet)
