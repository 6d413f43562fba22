"""A customer logs in through the page and sees their true balances, with live updates connected.

The password is typed into the form (registered as a secret first: no log or artifact keeps
it). Each configured currency's shown balance must be Vault's exact decimal string. At the
end, nothing the page did since it opened may have failed (console error, uncaught error, a
4xx/5xx of its own requests, a failed request).
"""

from __future__ import annotations

from pydantic import Field

from harness import Reason, Run, Scenario
from probes.browser_session import browser_page
from scenarios._money import decimal
from scenarios._spa import SpaOptions, log_in, open_app, shown_balance, vault_balance_text

__all__ = ["SpaLoginBalance"]


class SpaLoginBalance(Scenario):
    """Log in through the form; every shown balance equals Vault's; live updates connect."""

    name = "spa_login_balance"
    tags = ("browser", "spa")
    interval_seconds = 120.0
    timeout_seconds = 60.0

    class Options(SpaOptions):
        connected_text: str = "connected"  # what connection-status shows once the socket is up
        connect_deadline_seconds: float = Field(15.0, gt=0)

    async def journey(self, run: Run) -> None:
        options: SpaLoginBalance.Options = run.options  # type: ignore[assignment]
        selectors = run.contract.selectors

        async with browser_page(run, options.ui_timeout_seconds) as page:
            await open_app(run, page, options)
            await log_in(run, page, options)

            for code in run.target.currencies:
                async with run.step(f"balance {code}"):
                    shown = await shown_balance(run, page, code)
                    expected = await vault_balance_text(run, code)
                    run.metrics.currency_success(code, shown == expected)
                    decimal(shown, f"the {code} balance shown")  # a decimal string, like Vault's
                    run.expect_equal(f"{code} balance shown (Vault's exact string)", shown, expected)

            async with run.step("live updates connected"):
                connected = await page.wait_text(
                    selectors.connection_status, options.connected_text, options.connect_deadline_seconds
                )
                if connected is None:
                    status = await page.text(selectors.connection_status, "the connection status")
                    run.fail(
                        Reason.CONNECT_ERROR,
                        f"live updates not connected after {options.connect_deadline_seconds:g} s: "
                        f"the page shows {status!r}",
                    )

            async with run.step("no errors"):
                page.expect_clean()  # the wallet's, the rewards' and the live connection's requests all went well
