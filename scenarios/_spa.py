"""What the browser journeys share: opening the app, logging in, reading and awaiting balances.

Every selector comes from ``run.contract.selectors`` (CSS); the balance of currency ``C`` is
the ``balance`` element with ``data-currency="C"``, whose text is Vault's decimal string.
"""

from __future__ import annotations

import json
import time

from pydantic import BaseModel, ConfigDict, Field

from harness import Reason, Run, StepFailure
from probes.browser_session import BrowserPage
from scenarios._money import decimal

RENDER_GRACE_SECONDS = 1.0  # a page shows a push it received within this, or it shows it wrong
_SLICE_SECONDS = 0.25

__all__ = [
    "SpaOptions",
    "open_app",
    "log_in",
    "balance_selector",
    "shown_balance",
    "await_balance",
    "vault_balance_text",
    "page_alerts",
    "requested_since",
]


class SpaOptions(BaseModel):
    """Options every browser journey has; deadlines suit the real platform."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = "/"  # where the app starts, on the CDN
    ui_timeout_seconds: float = Field(15.0, gt=0)  # an element or page load, at most
    alert_selector: str = "[role=alert]"  # where the page tells its customer something went wrong


def balance_selector(run: Run, code: str) -> str:
    return f'{run.contract.selectors.balance}[data-currency="{code}"]'


async def page_alerts(page: BrowserPage, options: SpaOptions) -> str:
    """What the page shows as alerts now, for a failure message ('' when nothing)."""
    shown = [text for text in await page.visible_texts(options.alert_selector) if text]
    return f"; the page says: {' | '.join(shown)[:160]}" if shown else ""


def requested_since(page: BrowserPage, since: float, most: int = 6) -> str:
    """What the page requested of its own origin since ``since``: methods and paths, no query strings."""
    seen = dict.fromkeys(f"{s.method} {s.path[:80]} ({s.status})" for s in page.watch.responses if s.at >= since)
    if not seen:
        return "the page requested nothing of its origin"
    shown = list(seen)[:most]
    more = f" and {len(seen) - most} more" if len(seen) > most else ""
    return f"the page requested: {', '.join(shown)}{more}"


async def open_app(run: Run, page: BrowserPage, options: SpaOptions) -> None:
    """Step "open the app": the page loads cleanly and offers its login form."""
    selectors = run.contract.selectors
    async with run.step("open the app"):
        await page.goto(options.path)
        page.expect_clean()
        await page.wait_visible(selectors.login_username, "the login form")
        page.expect_clean()


async def log_in(run: Run, page: BrowserPage, options: SpaOptions) -> None:
    """Step "log in": the customer types username and password; the wallet appears."""
    selectors = run.contract.selectors
    async with run.step("log in"):
        await page.fill(selectors.login_username, run.username(), "the username field")
        await page.fill_secret(selectors.login_password, run.password(), "the password field")
        await page.click(selectors.login_submit, "the sign-in button")
        first = balance_selector(run, run.target.currencies[0])
        try:
            await page.wait_visible(first, "the wallet after signing in")
        except StepFailure as failure:
            alerts = await page_alerts(page, options) if failure.reason is Reason.TIMEOUT else ""
            if alerts:
                raise StepFailure(Reason.PAGE_ERROR, f"no wallet after signing in{alerts}") from None
            raise


async def shown_balance(run: Run, page: BrowserPage, code: str) -> str:
    return await page.text(balance_selector(run, code), f"the {code} balance")


async def vault_balance_text(run: Run, code: str) -> str:
    """Vault's balance of ``code`` as its exact decimal string (what the page must show)."""
    vault = await run.as_customer("vault")
    answer = await vault.get(run.paths.balance, expect=("[STATUS] == 200", "has([BODY].balances)"))
    raw = answer.json["balances"]
    if not isinstance(raw, dict) or code not in raw:
        raise StepFailure(Reason.UNEXPECTED_BODY, f"Vault's balance has no {code}")
    decimal(raw[code], f"Vault's {code} balance")  # a decimal string, or the step fails
    return str(raw[code])


async def await_balance(
    run: Run, page: BrowserPage, code: str, expected: str, deadline_seconds: float, since: float, why: str
) -> float:
    """Wait until the page shows ``expected`` as the ``code`` balance; seconds since ``since``.

    When it does not: ``assertion`` as soon as a ``balance:update`` carrying ``expected`` reached
    the page and the page still shows something else a moment later (it shows it wrong), else
    ``push_missing`` at the deadline (no push came).
    """
    selector, event = balance_selector(run, code), run.contract.events.balance_update
    deadline = since + deadline_seconds
    while True:
        slice_seconds = max(0.05, min(_SLICE_SECONDS, deadline - time.perf_counter()))
        if await page.wait_text(selector, expected, slice_seconds, probe_alive=False) is not None:
            return time.perf_counter() - since
        pushed = [
            p for p in page.watch.pushes_of(event, since) if isinstance(p.data, dict) and p.data.get("currency") == code
        ]
        carrying = [p for p in pushed if p.data.get("balance") == expected]
        now = time.perf_counter()
        if carrying and now - carrying[0].at >= RENDER_GRACE_SECONDS:
            shown = await shown_balance(run, page, code)
            raise StepFailure(
                Reason.ASSERTION,
                f"page shows {code} {shown} after the {why}, but the {event} push it received says {expected}",
            )
        if now >= deadline:
            break
    await page.ensure_alive(f"waiting for the {code} balance")
    shown = await shown_balance(run, page, code)
    others = [p.data for p in pushed]
    seen = f" (it got {len(others)} other {code} {event}: {json.dumps(others)[:120]})" if others else ""
    raise StepFailure(
        Reason.PUSH_MISSING,
        f"no {event} to {code} {expected} reached the page within "
        f"{deadline_seconds:g} s of the {why}; it shows {code} {shown}{seen}",
    )
