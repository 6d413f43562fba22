"""``runner.py serve`` with one more scenario, ``bench_http_delay``, that times the delay server.

    python -m bench.http_serve serve --config C --listen 127.0.0.1:0 ...   # runner.py's own arguments
    python -m bench.http_serve --as-before serve ...   # serve mode with Python's own settings

The scenario takes the path scenarios take: a ``ServiceClient`` on the runtime's shared client,
its phases exported as a run exports them. Each run probes every delay of its options once
and appends what the probe measured to ``options.record`` (one JSON line per probe: ``delay_ms``,
``seconds``) once a browser is up, until ``probes_per_delay`` are recorded; later runs do nothing, so the benchmark
can then drive blackbox_exporter under the same browser load without our probes beside it.
The scenario exists only in this process: discovery is widened here, and the rest is
``runner.main`` as shipped, unless ``--as-before`` leaves out what keeps timings exact
(``harness.exact_timing``: Python's switch interval, the timing thread at the process's priority),
so that one benchmark compares serve mode with and without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

import harness.discovery
import harness.exact_timing
import runner
from harness.clients import ServiceClient
from harness.errors import StepFailure
from harness.run import Run
from harness.scenario import About, Scenario

__all__ = ["NAME", "DelayProbe", "DelayProbeOptions", "main"]

NAME = "bench_http_delay"


class DelayProbeOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "http://127.0.0.1:1"  # the delay server's base URL
    delays_ms: tuple[int, ...] = (0,)
    probes_per_delay: int = Field(1, ge=1)
    record: str = "delay-probes.jsonl"


class DelayProbe(Scenario[DelayProbeOptions]):
    """The delay server's answers, timed by a scenario's client inside serve mode."""

    about = About(NAME, tags=("api", "bench"), interval="1s", timeout="30s")
    recorded = 0  # probes recorded per delay so far, across runs (one process, one schedule)

    @classmethod
    def needs_account(cls, options: BaseModel) -> bool:
        return False

    async def journey(self, run: Run[DelayProbeOptions]) -> None:
        options = run.options
        if DelayProbe.recorded >= options.probes_per_delay or run.runtime.browser_pool is None:
            return  # done, or the browser journeys' load is not there yet (no browser launched)
        DelayProbe.recorded += 1
        service = ServiceClient(
            "delay",
            options.url,
            run.runtime.http,
            run.probe,
            on_phases=lambda phases: run.metrics.http_phases("probe delays", phases),
        )
        lines: list[dict[str, object]] = []
        async with run.step("probe delays"):
            for delay in options.delays_ms:
                try:
                    answer = await service.get(f"/delay/{delay}")
                except StepFailure:
                    lines.append({"delay_ms": delay, "seconds": None})
                    continue
                lines.append({"delay_ms": delay, "seconds": answer.seconds})
        with Path(options.record).open("a") as out:
            out.write("".join(json.dumps(line) + "\n" for line in lines))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--as-before"]:
        args = args[1:]
        harness.exact_timing.settle_for_timing = lambda: None  # runner.py and the timing thread look
        harness.exact_timing.put_timing_thread_first = lambda: False  # both up on each call
    shipped = harness.discovery.discover

    def with_bench_scenario() -> dict[str, type[Scenario]]:
        return {**shipped(), NAME: DelayProbe}

    harness.discovery.discover = with_bench_scenario  # runner.py looks discovery up on each call
    return runner.main(args)


if __name__ == "__main__":
    sys.exit(main())
