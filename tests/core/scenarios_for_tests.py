"""Scenarios that exist only for the runner core's tests (never discovered in production)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness import About, Reason, Run, Scenario


class Sleeper(Scenario):
    """Sleeps longer than its timeout."""

    about = About("sleeper", tags=(), interval="1m", timeout="300ms")

    async def journey(self, run: Run) -> None:
        async with run.step("sleep"):
            await asyncio.sleep(30)


class SlowPass(Scenario):
    """Takes a while, then passes (for overlap and drain tests)."""

    about = About("slow_pass", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("work"):
            await asyncio.sleep(float(getattr(run.options, "seconds", 0.6)))


def raising(name: str, step: str, error: Callable[[], BaseException]) -> type[Scenario]:
    """A scenario called ``name`` whose one step, ``step``, raises ``error()``."""

    class Raises(Scenario):
        about = About(name, tags=(), interval="1m", timeout="30s")

        async def journey(self, run: Run) -> None:
            async with run.step(step):
                raise error()

    return Raises


# A buggy scenario: raises an exception that is not a StepFailure.
Crasher = raising("crasher", "crash", lambda: RuntimeError("boom"))


class Quick(Scenario):
    """Passes at once."""

    about = About("quick", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("nothing"):
            pass


class LeakyLogin(Scenario):
    """Logs in (using the password and receiving a token), then fails on an answer echoing the token."""

    about = About("leaky_login", tags=(), interval="1m", timeout="30s")

    async def journey(self, run: Run) -> None:
        async with run.step("log in"):
            vault = await run.as_customer("vault")
            run.reset_secret()
        async with run.step("read balance"):
            await vault.get(run.paths.balance)
        async with run.step("unreachable"):
            run.fail(Reason.ASSERTION, "never")
