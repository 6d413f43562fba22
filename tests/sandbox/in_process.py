"""A sandbox service built in the test's own process: its context and its accounts' logins."""

from __future__ import annotations

from sandbox.context import SandboxContext

__all__ = ["InProcess"]


class InProcess:
    """Base of a test's served service: logs its accounts in straight through the context."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx

    def token(self, username: str) -> str:
        password = (
            self.ctx.settings.probe_password if username.startswith("probe-") else self.ctx.settings.player_password
        )
        login = self.ctx.accounts.login(username, password)
        assert login is not None
        return login[0]

    def user_id(self, username: str) -> str:
        return self.ctx.accounts.by_username[username].user_id
