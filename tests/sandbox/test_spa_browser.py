"""The SPA in a real Chromium, through the CDN of the whole sandbox (the session ``sandbox``).

One journey as a customer makes it: log in, deposit, bet, chat, level up; the balance must
change from the socket.io pushes alone (no reload, no second balance read) and the page must
log no console error. Then the three CDN faults, each seen the way a browser sees it.
Each test logs in with its own synthetic account so that it shares no balance with others.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    async_playwright,
    expect,
)

from sandbox.cdn import DEFAULT_DIST
from sandbox.testing import SandboxHandle, secret

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/lib/chromium/chromium"
SCREENSHOT = Path("/tmp/mystery-guest-spa-logged-in.png")
WAIT_MS = 15_000
CENT = Decimal("0.01")

JOURNEY_ACCOUNT = "probe-us-24"
STALE_BALANCE_ACCOUNT = "probe-us-23"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not (DEFAULT_DIST / "index.html").exists():
        pytest.fail(f"the SPA is not built ({DEFAULT_DIST} is missing): run scripts/build-spa.sh")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            await chromium.close()


class PageWatch:
    """Everything a page logged that a customer would suffer from: errors and failed loads."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", self._response)
        page.on("request", lambda r: self.requests.append(f"{r.method} {r.url}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.startswith(f"{method} ") and r.endswith(path))


@contextlib.asynccontextmanager
async def spa_page(
    browser: Browser, sandbox: SandboxHandle, fault: str | None = None
) -> AsyncIterator[tuple[Page, PageWatch]]:
    """A fresh page of the SPA and its watch, with ``fault`` on for as long as it is open."""
    if fault:
        sandbox.fault_on(fault)
    context = await browser.new_context(base_url=sandbox.cdn_url)
    try:
        page = await context.new_page()
        yield page, PageWatch(page)
    finally:
        await context.close()
        if fault:
            sandbox.fault_off(fault)


async def log_in(page: Page, username: str) -> None:
    await page.goto("/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(secret("probe_password"))
    await page.get_by_test_id("login-submit").click()
    await expect(page.locator("[data-testid=balance][data-currency=USD]")).to_be_visible(timeout=WAIT_MS)


async def vault_api(sandbox: SandboxHandle, page: Page) -> httpx.AsyncClient:
    """A client for Vault through the CDN, with the page's own token."""
    token = await page.evaluate("sessionStorage.getItem('mg_token')")
    assert isinstance(token, str) and token
    return httpx.AsyncClient(
        base_url=f"{sandbox.cdn_url}/api/vault",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


async def api_balance(vault: httpx.AsyncClient, currency: str) -> str:
    """Vault's balance as its exact decimal string (what the page must show)."""
    response = await vault.get("/v1/balance")
    response.raise_for_status()
    balance = response.json()["balances"][currency]
    assert isinstance(balance, str)
    return balance


async def deposit_in_page(page: Page, currency: str, amount: str) -> None:
    await page.get_by_test_id("deposit-currency").select_option(currency)
    await page.get_by_test_id("deposit-amount").fill(amount)
    await page.get_by_test_id("deposit-submit").click()
    await expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "completed", timeout=WAIT_MS)


async def test_customer_journey_updates_from_pushes_without_errors(
    clean_sandbox: SandboxHandle, browser: Browser
) -> None:
    # Put the account just below Silver (100 USD) so that the bet below levels it up.
    async with httpx.AsyncClient(base_url=clean_sandbox.cdn_url, timeout=10) as http:
        token = clean_sandbox.login(JOURNEY_ACCOUNT)
        reset = await http.post(
            "/api/concierge/v1/test-accounts/reset",
            json={"volume_usd": "99.50"},
            headers={"Authorization": f"Bearer {token}", "X-Reset-Secret": secret("reset_secret")},
        )
        assert reset.status_code == 200, reset.text

    context = await browser.new_context(base_url=clean_sandbox.cdn_url)
    page = await context.new_page()
    watch = PageWatch(page)
    await log_in(page, JOURNEY_ACCOUNT)
    usd = page.locator("[data-testid=balance][data-currency=USD]")
    btc = page.locator("[data-testid=balance][data-currency=BTC]")
    badge = page.get_by_test_id("level-badge")
    status = page.get_by_test_id("connection-status")
    await expect(badge).to_have_attribute("data-level", "1", timeout=WAIT_MS)
    await expect(status).to_have_text("connected", timeout=WAIT_MS)
    await expect(status).to_have_attribute("data-transport", "websocket", timeout=WAIT_MS)

    async with await vault_api(clean_sandbox, page) as vault:
        before = await api_balance(vault, "USD")
        await expect(usd).to_have_text(before)
        await expect(btc).to_have_text(await api_balance(vault, "BTC"))
        await page.evaluate("window.__sameDocument = true")  # gone if the page reloads

        await deposit_in_page(page, "USD", "25.00")
        funded = str((Decimal(before) + Decimal("25.00")).quantize(CENT))
        await expect(usd).to_have_text(funded, timeout=WAIT_MS)
        assert await api_balance(vault, "USD") == funded

        await page.get_by_test_id("bet-stake").fill("1.00")
        await page.get_by_test_id("bet-submit").click()
        result = page.get_by_test_id("bet-result")
        await expect(result).to_be_visible(timeout=WAIT_MS)
        bet_id = await result.get_attribute("data-bet-id")
        bet = (await vault.get(f"/v1/bets/{bet_id}")).json()
        await expect(result).to_have_attribute("data-outcome", bet["outcome"])
        await expect(result).to_contain_text(bet["payout"])
        await expect(usd).to_have_text(bet["balance_after"], timeout=WAIT_MS)
        assert await api_balance(vault, "USD") == bet["balance_after"]

    toast = page.get_by_test_id("level-up-toast")
    await expect(toast).to_contain_text("Silver", timeout=WAIT_MS)
    await expect(badge).to_have_text("Silver")
    await expect(badge).to_have_attribute("data-level", "2")

    text = f"hello from the browser test {time.time_ns()}"
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()
    message = page.get_by_test_id("chat-messages").locator("[data-message-id]", has_text=text)
    await expect(message).to_have_count(1, timeout=WAIT_MS)
    assert await message.get_attribute("data-message-id")
    assert await message.get_attribute("data-client-msg-id")

    assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"
    assert watch.count("GET", "/api/vault/v1/balance") == 1, watch.requests
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # A reload stays logged in (token in sessionStorage); a client route gets index.html.
    await page.goto("/account")
    await expect(page.get_by_test_id("account-page")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_test_id("login-username")).to_have_count(0)
    await expect(page.get_by_test_id("transactions")).to_contain_text("bet_debit")

    assert watch.console_errors == []
    assert watch.page_errors == []
    assert watch.failed == []
    await context.close()


async def test_spa_js_error_breaks_the_page(clean_sandbox: SandboxHandle, browser: Browser) -> None:
    async with spa_page(browser, clean_sandbox, fault="spa_js_error") as (page, watch):
        await page.goto("/", wait_until="load")
        await expect(page.locator("#root")).to_be_empty()
        assert await page.get_by_test_id("login-username").count() == 0
        assert any("reading 'build'" in error for error in watch.page_errors), watch.page_errors

    async with spa_page(browser, clean_sandbox) as (page, _):
        await page.goto("/")
        await expect(page.get_by_test_id("login-username")).to_be_visible(timeout=WAIT_MS)


async def test_asset_missing_leaves_a_blank_page(clean_sandbox: SandboxHandle, browser: Browser) -> None:
    async with spa_page(browser, clean_sandbox, fault="asset_missing") as (page, watch):
        await page.goto("/", wait_until="load")
        assert await page.get_by_test_id("login-username").count() == 0
        assert any(f.startswith("403 ") and "/assets/" in f for f in watch.failed), watch.failed
        assert watch.console_errors


async def test_spa_wrong_balance_shows_the_balance_one_push_late(
    clean_sandbox: SandboxHandle, browser: Browser
) -> None:
    async with spa_page(browser, clean_sandbox, fault="spa_wrong_balance") as (page, _):
        await log_in(page, STALE_BALANCE_ACCOUNT)
        usd = page.locator("[data-testid=balance][data-currency=USD]")
        await expect(page.get_by_test_id("connection-status")).to_have_text("connected", timeout=WAIT_MS)
        async with await vault_api(clean_sandbox, page) as vault:
            before = await api_balance(vault, "USD")
            await expect(usd).to_have_text(before)
            await deposit_in_page(page, "USD", "10.00")
            await deposit_in_page(page, "USD", "5.00")
            # The second push shows the first deposit's balance: one push late.
            after_first = str((Decimal(before) + Decimal("10.00")).quantize(CENT))
            await expect(usd).to_have_text(after_first, timeout=WAIT_MS)
            after_both = str((Decimal(before) + Decimal("15.00")).quantize(CENT))
            assert await api_balance(vault, "USD") == after_both


async def test_connection_status_shows_a_refused_socket(clean_sandbox: SandboxHandle, browser: Browser) -> None:
    async with spa_page(browser, clean_sandbox, fault="socket_rejects_connections") as (page, _):
        await log_in(page, STALE_BALANCE_ACCOUNT)
        status = page.get_by_test_id("connection-status")
        await expect(status).to_have_text("disconnected", timeout=WAIT_MS)
