"""A customer logs in through the page and sees their true balances, with live updates connected.

The password is typed into the form (registered as a secret first: no log or artifact keeps
it). Each configured currency's shown balance must be Vault's exact decimal string. At the
end, nothing the page did since it opened may have failed (console error, uncaught error, a
4xx/5xx of its own requests, a failed request).
"""

from __future__ import annotations

from pydantic import Field

from harness import About, Reason, Run, Scenario
from scenarios.kit import Spa, SpaOptions, VaultAccount, decimal

__all__ = ["SpaLoginBalance"]


class SpaLoginBalanceOptions(SpaOptions):
    connected_text: str = "connected"  # what connection-status shows once the socket is up
    connect_deadline_seconds: float = Field(15.0, gt=0)


class SpaLoginBalance(Scenario[SpaLoginBalanceOptions]):
    """Log in through the form; every shown balance equals Vault's; live updates connect."""

    about = About("spa_login_balance", tags=("browser", "spa"), interval="2m", timeout="1m")

    async def journey(self, run: Run[SpaLoginBalanceOptions]) -> None:

        async with Spa.opened(run, run.options) as app:
            await app.open_and_log_in()

            for code in run.target.currencies:
                async with run.step(f"balance {code}"):
                    shown = await app.wallet.shown(code)
                    expected = await (await VaultAccount.log_in(run)).balance_text(code)
                    run.metrics.currency_success(code, shown == expected)
                    decimal(shown, f"the {code} balance shown")  # a decimal string, like Vault's
                    run.expect_equal(f"{code} balance shown (Vault's exact string)", shown, expected)

            async with run.step("live updates connected"):
                status = await app.connection_not_showing(
                    run.options.connected_text, run.options.connect_deadline_seconds
                )
                if status is not None:
                    run.fail(
                        Reason.CONNECT_ERROR,
                        f"live updates not connected after {run.options.connect_deadline_seconds:g} s: "
                        f"the page shows {status!r}",
                    )

            async with run.step("no errors"):
                app.page.expect_clean()  # the wallet's, the rewards' and the live connection's requests all went well
