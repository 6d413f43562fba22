"""A customer opens the casino: the page loads through the CDN, cleanly, and offers its login form.

What the CDN must do for that: answer ``/`` with an ``index.html`` that is not cached for
long (a release must reach customers at once), and every hashed bundle under ``/assets/``
with 200 and a long-lived ``immutable`` cache header. The page must log no console error,
throw nothing and lose no request.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from harness import About, Reason, Run, Scenario
from probes.browser_watch import Seen
from scenarios.kit import Spa, SpaOptions

__all__ = ["SpaLoad"]

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age=(\d+)")


def max_age(cache_control: str) -> int | None:
    ages = [int(m) for m in _MAX_AGE.findall(cache_control.lower())]
    return max(ages) if ages else None


def long_lived_immutable(cache_control: str, min_seconds: int) -> bool:
    age = max_age(cache_control)
    return "immutable" in cache_control.lower() and age is not None and age >= min_seconds


def cached_briefly(cache_control: str, max_seconds: int) -> bool:
    lowered = cache_control.lower()
    if any(word in lowered for word in ("no-cache", "no-store", "must-revalidate")) and "immutable" not in lowered:
        return True
    age = max_age(lowered)
    return age is not None and age <= max_seconds and "immutable" not in lowered


class SpaLoadOptions(SpaOptions):
    assets_prefix: str = "/assets/"
    asset_min_max_age_seconds: int = Field(30 * 24 * 3600, ge=1)  # "long-lived": 30 days at least
    index_max_age_seconds: int = Field(300, ge=0)  # index.html: revalidated, or 5 minutes at most


class SpaLoad(Scenario[SpaLoadOptions]):
    """The app loads through the CDN with no error, cached right, and shows its login form."""

    about = About("spa_load", tags=("browser", "spa", "cdn", "smoke"), interval="2m", timeout="45s")

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        return False  # it checks the login form is offered, and logs in as nobody

    async def journey(self, run: Run[SpaLoadOptions]) -> None:
        selectors = run.contract.selectors

        async with Spa.opened(run, run.options) as app:
            page = app.page
            async with run.step("open the app"):
                await page.goto(run.options.path)

            async with run.step("assets"):
                own = page.watch.responses
                self._check_index(run, own, run.options)
                self._check_assets(run, own, run.options)

            async with run.step("no errors"):
                page.expect_clean()

            async with run.step("login form"):
                for selector, what in (
                    (selectors.login_username, "the username field"),
                    (selectors.login_password, "the password field"),
                    (selectors.login_submit, "the sign-in button"),
                ):
                    await page.wait_visible(selector, what)
                page.expect_clean()  # nothing went wrong while the app rendered

    @staticmethod
    def _check_index(run: Run[SpaLoadOptions], own: list[Seen], options: SpaLoadOptions) -> None:
        document = next((s for s in own if s.method == "GET" and s.path == options.path), None)
        if document is None:
            run.fail(Reason.ASSERTION, f"no answer for GET {options.path} seen")
        cache = document.headers.get("cache-control", "")
        run.expect(
            f"GET {options.path} (index.html) must not be cached for long: Cache-Control {cache or 'absent'!r}",
            cached_briefly(cache, options.index_max_age_seconds),
        )

    @staticmethod
    def _check_assets(run: Run[SpaLoadOptions], own: list[Seen], options: SpaLoadOptions) -> None:
        assets = [s for s in own if s.path.startswith(options.assets_prefix)]
        run.expect(f"the page loaded nothing under {options.assets_prefix}", bool(assets))
        for seen in assets:
            if seen.status != 200:
                run.fail(Reason.HTTP_STATUS, f"{seen.method} {seen.path} answered {seen.status}")
        for seen in assets:
            cache = seen.headers.get("cache-control", "")
            run.expect(
                f"{seen.path} needs a long-lived immutable Cache-Control, got {cache or 'none'!r}",
                long_lived_immutable(cache, options.asset_min_max_age_seconds),
            )
