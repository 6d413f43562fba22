"""The journeys' toolkit: one typed object per service a journey talks to.

- ``VaultAccount``: currencies, limits and rates as facts, balances, the sandbox top-up,
  payments, dice bets and the history by reference (``vault``).
- ``ConciergeView``: reward rules, the account's standing, a reset below a level (``concierge``).
- ``expect_push`` / ``expect_balance_push``: Room-Service pushes awaited with a deadline (``pushes``).
- ``Spa`` with ``Wallet``, ``Dice``, ``DepositForm``, ``ChatPanel``, ``RewardsBadge``: the SPA
  in a browser page (``spa``).
- Options bases (``Options``, ``CurrencyOption``, ``BetOptions``, ``LevelCrossing``,
  ``PaymentOptions``, ``SpaOptions``) the steps every bet needs (``ready_to_bet``) and a rewards
  journey's bet (``place_rewarded_bet``).

A scenario imports from here and from ``harness``; never from another scenario.
"""

from __future__ import annotations

from scenarios.kit.bets import place_rewarded_bet, ready_to_bet
from scenarios.kit.concierge import ConciergeView, Level, RewardRules, Standing, expect_earned, points_for
from scenarios.kit.money import Currency, decimal, idempotency_headers, stake_usd, usd_value
from scenarios.kit.options import (
    ROUNDING_STAKE_USD,
    BetOptions,
    CurrencyOption,
    Deadlines,
    LevelCrossing,
    Options,
    PaymentOptions,
    amount_for,
)
from scenarios.kit.payments import check_history_entry, check_push, each_currency, move_in_each_currency, usd_total
from scenarios.kit.pushes import Push, expect_balance_push, expect_push
from scenarios.kit.spa import ChatPanel, DepositForm, Dice, RewardsBadge, Spa, SpaOptions, Wallet
from scenarios.kit.vault import Bet, Kind, Payment, StakeFacts, VaultAccount, Wait

__all__ = [
    "ROUNDING_STAKE_USD",
    "Bet",
    "BetOptions",
    "ChatPanel",
    "ConciergeView",
    "Currency",
    "CurrencyOption",
    "Deadlines",
    "DepositForm",
    "Dice",
    "Kind",
    "Level",
    "LevelCrossing",
    "Options",
    "Payment",
    "PaymentOptions",
    "Push",
    "RewardRules",
    "RewardsBadge",
    "Spa",
    "SpaOptions",
    "StakeFacts",
    "Standing",
    "VaultAccount",
    "Wait",
    "Wallet",
    "amount_for",
    "check_history_entry",
    "check_push",
    "decimal",
    "each_currency",
    "expect_balance_push",
    "expect_earned",
    "expect_push",
    "idempotency_headers",
    "move_in_each_currency",
    "place_rewarded_bet",
    "points_for",
    "ready_to_bet",
    "stake_usd",
    "usd_total",
    "usd_value",
]
