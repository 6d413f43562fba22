"""The fleet as deployed: how late a region's samples reach the central rules through remote-write,
and how a region's work splits across replicas (``bench.fleet_shares``).

A runner (``runner.py serve``, ``rates_freshness`` against a sandbox) is scraped twice: by a
Prometheus agent with the shipped agent config (``monitoring.prometheus_config``, Prometheus'
default remote-write queue: a batch leaves at the latest ``batch_send_deadline`` 5 s after its
first sample), which pushes to a central Prometheus (``--web.enable-remote-write-receiver``);
and, for comparison, by the central Prometheus itself (pull). The central server records
``timestamp(synthetic_runner_info)`` on every evaluation. A sample's delay is the first
evaluation that saw it (or a later sample of the same series) minus the sample's own timestamp,
the time of the scrape: what a rule waits, per sample, before it can judge it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.fleet_shares import work_per_replica
from bench.processes import running
from bench.report import BenchOptions, Goal, Section, table
from bench.runner_config import write_config
from bench.sandbox_runtime import sandbox_for_bench
from bench.serve import running_serve
from bench.stats import summary
from harness.discovery import discover

__all__ = ["TITLE", "run"]

NAME = "fleet"
TITLE = "6. Fleet: a region's samples through remote-write to the central rules, and its work per replica"
PROMETHEUS = "prometheus"
SCRAPE = "1s"
EVALUATION = "1s"
SAMPLES = 120  # per path, one a second; the goal asks for at least 100
QUICK_SAMPLES = 3
RECORD = "bench:runner_sample_timestamp:seconds"
RECORDED = "timestamp(synthetic_runner_info)"
PATHS = {"push": "mystery-guest", "pull": "direct"}
"""How a sample reached the central server -> the job it carries there."""
_LISTENING = r'msg="Listening on" address=(\S+)'


@dataclass(frozen=True)
class Delays:
    """Seconds from a scraped sample to the first central evaluation that saw it, per path."""

    by_path: dict[str, list[float]]


def _free_port() -> int:
    """A loopback port nobody listens on now: the agent must know its own address to scrape itself."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _central_config(runner: str, rules: Path) -> str:
    """The central server: receives the pushed samples, and scrapes the runner itself for comparison."""
    rules.write_text(
        yaml.safe_dump({"groups": [{"name": "bench-fleet", "rules": [{"record": RECORD, "expr": RECORDED}]}]})
    )
    pull_job = {"job_name": PATHS["pull"], "honor_labels": True, "static_configs": [{"targets": [runner]}]}
    document = {
        "global": {"scrape_interval": SCRAPE, "evaluation_interval": EVALUATION},
        "rule_files": [str(rules)],
        "scrape_configs": [pull_job],
    }
    return yaml.safe_dump(document, sort_keys=False)


def _agent_config(runner: str, central: str, listen: str) -> str:
    from monitoring.prometheus_config import AgentSettings, render_agent_config

    settings = AgentSettings("bench", f"http://{central}/api/v1/write", (runner,), listen, scrape_interval=SCRAPE)
    return render_agent_config(settings)


def _range(client: httpx.Client, central: str, selector: str, seconds: int) -> dict[str, list[tuple[float, float]]]:
    """job -> (timestamp, value) of every raw sample of ``selector`` in the last ``seconds``."""
    answer = client.get(f"http://{central}/api/v1/query", params={"query": f"{selector}[{seconds}s]"})
    answer.raise_for_status()
    return {
        series["metric"]["job"]: [(float(t), float(v)) for t, v in series["values"]]
        for series in answer.json()["data"]["result"]
    }


def _delays(
    samples: dict[str, list[tuple[float, float]]],
    records: dict[str, list[tuple[float, float]]],
    scraped_between: tuple[float, float],
) -> Delays:
    """Per path: for each sample scraped in the interval, its first evaluation minus its scrape."""
    since, until = scraped_between
    by_path: dict[str, list[float]] = {}
    for path, job in PATHS.items():
        evaluations = records.get(job, [])
        delays = []
        for scraped_at, _ in samples.get(job, []):
            if not since <= scraped_at < until:
                continue
            seen = [evaluated for evaluated, latest in evaluations if latest >= scraped_at]
            if seen:
                delays.append(seen[0] - scraped_at)
        by_path[path] = delays
    return Delays(by_path)


def _measure(work: Path, count: int) -> Delays:
    found = discover()
    with sandbox_for_bench(work) as sandbox:
        config = write_config(
            work,
            sandbox.urls,
            only=["rates_freshness"],
            overrides={"rates_freshness": {"interval_seconds": 5}},
            known_scenarios=list(found),
        )
        with running_serve(config, work / "runner.log", extra_args=["--region", "bench"]) as runner:
            runner_address = runner.url.removeprefix("http://").removesuffix("/metrics")
            (work / "central").mkdir()
            central_yml = work / "central" / "prometheus.yml"
            central_yml.write_text(_central_config(runner_address, work / "central" / "rules.yml"))
            central_command = [
                PROMETHEUS,
                f"--config.file={central_yml}",
                f"--storage.tsdb.path={work / 'central' / 'tsdb'}",
                "--web.listen-address=127.0.0.1:0",
                "--web.enable-remote-write-receiver",
            ]
            with running(central_command, work / "central" / "prometheus.log", ready=_LISTENING) as central:
                listen = f"127.0.0.1:{_free_port()}"
                (work / "agent").mkdir()
                agent_yml = work / "agent" / "prometheus.yml"
                agent_yml.write_text(_agent_config(runner_address, central.url, listen))
                agent_command = [
                    PROMETHEUS,
                    "--enable-feature=agent",
                    f"--config.file={agent_yml}",
                    f"--storage.agent.path={work / 'agent' / 'wal'}",
                    f"--web.listen-address={listen}",
                ]
                with running(agent_command, work / "agent" / "prometheus.log", ready=_LISTENING):
                    return _collect(central.url, count)


def _collect(central: str, count: int) -> Delays:
    """Wait for the first pushed sample (an agent reads its write-ahead log before it sends),
    then take the next ``count`` seconds of scrapes, once an evaluation has seen each of them."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        deadline = time.time() + 60
        while not _range(client, central, f'synthetic_runner_info{{job="{PATHS["push"]}"}}', 60):
            if time.time() > deadline:
                raise RuntimeError("nothing arrived through remote-write in 60 s")
            time.sleep(0.5)
        since = time.time()
        until = since + count
        time.sleep(count)
        while True:  # until every sample scraped before ``until`` has arrived (in order) and been evaluated
            window = int(time.time() - since) + 5
            samples = _range(client, central, "synthetic_runner_info", window)
            records = _range(client, central, RECORD, window)
            delays = _delays(samples, records, (since, until))
            arrived = all(samples.get(job) and samples[job][-1][0] >= until for job in PATHS.values())
            scraped = [t for job in PATHS.values() for t, _ in samples.get(job, []) if since <= t < until]
            if arrived and len(scraped) == sum(len(values) for values in delays.by_path.values()):
                return delays
            if time.time() > until + 30:
                raise RuntimeError("samples scraped 30 s ago have not reached an evaluation")
            time.sleep(0.5)


def run(options: BenchOptions) -> Section:
    count = QUICK_SAMPLES if options.quick else SAMPLES
    delays = _measure(options.work_dir / NAME, count)
    figures = {path: summary(values) for path, values in delays.by_path.items()}
    pushed = figures["push"]
    rows = [
        [
            path,
            int(figure["n"]),
            f"{figure['median']:.2f}",
            f"{figure['p95']:.2f}",
            f"{figure['p99']:.2f}",
            f"{figure['max']:.2f}",
        ]
        for path, figure in figures.items()
    ]
    shares, shares_goal, shares_data = work_per_replica()
    body = "\n".join(
        [
            "### A region's samples through remote-write",
            "",
            f"A runner's sample to the first evaluation of a central rule that sees it (scrape every {SCRAPE}, "
            f"evaluation every {EVALUATION}; the agent's remote-write queue as shipped, Prometheus' defaults). "
            "push: runner -> agent -> remote-write -> central Prometheus; pull: the central Prometheus scrapes "
            "the same runner itself.",
            "",
            table(["path", "samples", "median (s)", "p95 (s)", "p99 (s)", "max (s)"], rows),
            "",
            f"Remote-write costs a region's samples {pushed['median'] - figures['pull']['median']:.2f} s more "
            f"than pull at the median and {pushed['p99'] - figures['pull']['p99']:.2f} s at p99: the agent holds "
            "a sample until its batch leaves, at the latest `batch_send_deadline` (5 s) after the batch's first "
            "sample, so the pushed delays spread over those 5 s; where the evaluations fall in that cycle moves "
            "the whole spread by up to one evaluation interval from one run to the next. Pull's delay is one "
            "fixed figure here: scrapes and evaluations run at the same period with fixed offsets. With the "
            "shipped 15 s evaluation "
            "interval, the wait for the next evaluation grows to up to 15 s on either path (arithmetic, not "
            "measured). Against the 1 to 5 min `for:` of the shipped rules, pushing adds seconds to the time an "
            "alert takes. An agent sends nothing for its first seconds (about 6 s here: it reads its "
            "write-ahead log first); those samples are left out above.",
            "",
            shares,
        ]
    )
    goal = Goal(
        "remote-write delay, median and p99 over at least 100 samples",
        met=len(delays.by_path["push"]) >= 100,
        detail=f"median {pushed['median']:.2f} s, p99 {pushed['p99']:.2f} s over {int(pushed['n'])} samples",
    )
    data: dict[str, Any] = {
        "delays_seconds": delays.by_path,
        "scrape": SCRAPE,
        "evaluation": EVALUATION,
        "work_per_replica": shares_data,
    }
    return Section(NAME, TITLE, f".venv/bin/python -m bench --only {NAME}", body, goals=[goal, shares_goal], data=data)
