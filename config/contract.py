"""The platform contract's names as overridable defaults (``../shared/platform-contract.md``).

A real deployment whose paths, event names, header names or page selectors differ adapts
through the ``contract:`` section of the YAML config, never through code.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Contract", "Paths", "Events", "Headers", "Selectors"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paths(_Section):
    health: str = "/health"
    liveness: str = "/liveness"
    login: str = "/v1/auth/login"
    currencies: str = "/v1/currencies"
    rates: str = "/v1/rates"
    limits: str = "/v1/limits"
    balance: str = "/v1/balance"
    deposits: str = "/v1/deposits"
    deposit: str = "/v1/deposits/{id}"
    withdrawals: str = "/v1/withdrawals"
    withdrawal: str = "/v1/withdrawals/{id}"
    bets: str = "/v1/bets"
    bet: str = "/v1/bets/{id}"
    bet_rollback: str = "/v1/bets/{id}/rollback"
    transactions: str = "/v1/transactions"
    rewards_rules: str = "/v1/rewards/rules"
    rewards_me: str = "/v1/rewards/me"
    leaderboard: str = "/v1/leaderboard"
    rewards_reset: str = "/v1/test-accounts/reset"
    socketio: str = "/socket.io"


class Events(_Section):
    balance_update: str = "balance:update"
    level_up: str = "rewards:level_up"
    chat_message: str = "chat:message"
    chat_join: str = "chat:join"
    chat_send: str = "chat:send"


class Headers(_Section):
    synthetic_probe: str = "X-Synthetic-Probe"
    idempotency_key: str = "Idempotency-Key"
    reset_secret: str = "X-Reset-Secret"


class Selectors(_Section):
    login_username: str = "[data-testid=login-username]"
    login_password: str = "[data-testid=login-password]"
    login_submit: str = "[data-testid=login-submit]"
    balance: str = "[data-testid=balance]"
    deposit_currency: str = "[data-testid=deposit-currency]"
    deposit_amount: str = "[data-testid=deposit-amount]"
    deposit_submit: str = "[data-testid=deposit-submit]"
    bet_stake: str = "[data-testid=bet-stake]"
    bet_currency: str = "[data-testid=bet-currency]"
    bet_submit: str = "[data-testid=bet-submit]"
    bet_result: str = "[data-testid=bet-result]"
    level_badge: str = "[data-testid=level-badge]"
    level_up_toast: str = "[data-testid=level-up-toast]"
    chat_input: str = "[data-testid=chat-input]"
    chat_send: str = "[data-testid=chat-send]"
    chat_messages: str = "[data-testid=chat-messages]"
    connection_status: str = "[data-testid=connection-status]"


class Contract(_Section):
    paths: Paths = Paths()
    events: Events = Events()
    headers: Headers = Headers()
    selectors: Selectors = Selectors()
