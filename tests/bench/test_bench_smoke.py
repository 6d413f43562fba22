"""The benchmarks' machinery: pure helpers checked on known inputs, and every benchmark run
once with tiny counts (slow) to prove it produces a well-formed section of RESULTS.md.

No figure is asserted here: a benchmark measures, it does not pass or fail on speed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.alerting import AlertDelay, _started_at, alert_formula
from bench.blackbox import parse_probe
from bench.delay_server import delay_of
from bench.drift import by_cause, schedules, slot_waits
from bench.leftovers import RunnerSessions
from bench.loop_sources import OFF_CPU, classify, shares
from bench.processes import REPO_ROOT, python_module, running
from bench.procfs import in_sessions
from bench.registry import BENCHES
from bench.report import Goal, Section, load_sections, save_section, table
from bench.scale import _step_totals
from bench.serve import parse
from bench.stats import median, percentile
from bench.tenths import runs_per_tenth, tenths

BLACKBOX_ANSWER = """\
# HELP probe_duration_seconds Returns how long the probe took to complete in seconds
# TYPE probe_duration_seconds gauge
probe_duration_seconds 0.051221558
probe_http_duration_seconds{phase="connect"} 0.000148241
probe_http_duration_seconds{phase="processing"} 0.050502839
probe_http_duration_seconds{phase="resolve"} 1.4311e-05
probe_http_duration_seconds{phase="tls"} 0
probe_http_duration_seconds{phase="transfer"} 0.000179267
probe_success 1
"""


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_blackbox_answer_parsed_into_duration_and_phases() -> None:
    probe = parse_probe(BLACKBOX_ANSWER)
    assert probe.success
    assert probe.duration_seconds == pytest.approx(0.051221558)
    assert set(probe.phases) == {"connect", "processing", "resolve", "tls", "transfer"}
    assert probe.http_seconds == pytest.approx(0.000148241 + 0.050502839 + 1.4311e-05 + 0.000179267)


def test_blackbox_answer_without_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="probe_duration_seconds"):
        parse_probe("probe_success 0\n")


def test_alert_start_times_parsed_to_the_nanosecond_text() -> None:
    assert _started_at({"startsAt": "2026-11-26T01:46:34.5Z"}) == pytest.approx(1795657594.5)
    assert _started_at({"startsAt": "2026-11-26T02:46:34.25+01:00"}) == pytest.approx(1795657594.25)
    assert _started_at({"startsAt": "2026-11-26T01:46:34.826123456Z"}) == pytest.approx(1795657594.826123)
    assert _started_at({}) == 0.0


def test_alert_formula_adds_the_second_run_and_the_path() -> None:
    delay = AlertDelay(scrape=15, evaluation=15, for_seconds=60, group_wait=30, failed_runs_needed=2)
    mean, worst = alert_formula(interval=120, run_seconds=2, delay=delay)
    assert mean == 60 + 2 + 120 + 7.5 + 7.5 + 60 + 30
    assert worst == 120 + 2 + 120 + 15 + 15 + 60 + 30


def test_delay_of_reads_milliseconds_from_the_path() -> None:
    assert delay_of(b"/delay/250") == 0.25
    assert delay_of(b"/delay/0?x=1") == 0.0
    assert delay_of(b"/") == 0.0
    assert delay_of(b"/delay/abc") == 0.0


def test_delay_server_answers_after_the_delay_in_one_segment(tmp_path: Path) -> None:
    with running(python_module("bench.delay_server"), tmp_path / "delay.log", ready=r"listening (\S+)") as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            started = time.perf_counter()
            conn.sendall(b"GET /delay/200 HTTP/1.1\r\nHost: x\r\n\r\n")
            first = conn.recv(65536)
            waited = time.perf_counter() - started
    assert waited >= 0.2
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b'{"ok": true}\n'  # headers and body arrived in the first read: one send


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _line(
    scenario: str, planned: float, late: float, duration: float, slot: float = 0.0, target: str = "t"
) -> dict[str, object]:
    """A started run's ``run finished`` line, as serve mode writes it."""
    causes = {"scheduler": late - slot, "run_slot": slot, "setup": 0.0}
    return {
        "msg": "run finished",
        "scenario": scenario,
        "target": target,
        "ts": _iso(planned + late + duration),
        "duration_seconds": duration,
        "result": "success",
        "planned_at": _iso(planned),
        "start_delay_seconds": late,
        "start_delay_by_cause": causes,
    }


def _skipped(scenario: str, at: float) -> dict[str, object]:
    return {"msg": "run finished", "scenario": scenario, "target": "t", "ts": _iso(at), "result": "skipped"}


def test_drift_is_read_from_the_log_by_cause_with_the_planned_count() -> None:
    armed = 1_700_000_000.0
    first = armed + 0.4
    late = {3: 0.25, 5: 0.5}
    lines = [_line("a", first + k * 2, late.get(k, 0.002), 0.1, slot=0.5 if k == 5 else 0.0) for k in range(10)]
    lines[7] = _skipped("a", first + 7 * 2)
    (found,) = schedules(lines, {"a": 2.0}, armed)
    assert sorted(found.lateness) == [0.002] * 7 + [0.25, 0.5]
    assert found.first_planned == pytest.approx(first, abs=0.002)
    assert found.planned_until(first + 9 * 2 + 0.5) == 10
    assert found.results == 10
    parts = by_cause([found])
    assert sorted(parts["run_slot"])[-1] == 0.5 and max(parts["scheduler"]) == pytest.approx(0.25)
    assert slot_waits([found]) == {"a": 1}


def test_drift_keeps_one_grid_per_target() -> None:
    armed = 1_700_000_000.0
    lines = [_line("a", armed + 0.3 + 4 + k * 2, 0.001, 0.1, target="x") for k in range(5)]
    lines += [_line("a", armed + 1.2 + k * 2, 0.001, 0.1, target="y") for k in range(5)]
    found = schedules(lines, {"a": 2.0}, armed)
    assert [(s.target, round(s.first_planned - armed, 2)) for s in found] == [("x", 0.3), ("y", 1.2)]


def test_tenths_judge_by_the_lowest_value_and_count_runs() -> None:
    busy = [(0.5 + k * 0.9, 500.0 if k % 2 else 100.0) for k in range(10)]  # runs in flight half the time
    risen = [(95.0 + k / 2, 104.0 + k) for k in range(10)]  # a floor 4 % higher
    figure = tenths(busy + risen + [(200.0, 1e9)], 0.0, 100.0)  # outside the window: left out
    assert (figure.lowest[0], figure.medians[0]) == (100.0, 300.0)
    assert figure.lowest[1] is None and figure.medians[1] is None
    assert figure.growth == pytest.approx(0.04)
    assert tenths([], 0.0, 1.0).growth is None
    assert runs_per_tenth([0.0, 9.9, 10.0, 55.0, 100.0, 101.0], 0.0, 100.0) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_what_a_runner_left_behind_is_found_by_its_session() -> None:
    """A process started in a session of its own leaves a grandchild behind: re-parented, but found."""
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 30 & echo $!"], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert shell.stdout is not None
    orphan = int(shell.stdout.readline())
    shell.wait(10)
    sessions = RunnerSessions(shell.pid)
    assert in_sessions({shell.pid}) == [orphan]
    left = sessions.left_behind(wait_seconds=0.5)
    assert (left.processes, left.chromium) == (1, 0)
    deadline = time.monotonic() + 10
    while in_sessions({shell.pid}) and time.monotonic() < deadline:  # killed once counted; dying takes a moment
        time.sleep(0.05)
    assert in_sessions({shell.pid}) == []


@pytest.mark.parametrize(
    ("stack", "source"),
    [
        (["json/encoder.py:encode", "harness/logs.py:format", "harness/execute.py:execute"], "JSON logging"),
        (
            ["prometheus_client/metrics.py:_multi_samples", "prometheus_client/exposition.py:generate_latest"],
            "metrics exposition",
        ),
        (["<frozen importlib._bootstrap>:_find_and_load", "httpcore/_synchronization.py:setup"], "module imports"),
        (["ssl.py:create_default_context", "probes/http.py:_trusting", "harness/runtime.py:http"], "client"),
        (["asyncio/events.py:_run", "asyncio/base_events.py:_run_once"], "other"),
    ],
)
def test_a_sampled_stack_is_named_by_its_most_telling_frame(stack: list[str], source: str) -> None:
    assert classify(stack).startswith(source)


def test_a_slow_callbacks_cpu_is_split_over_its_samples_and_the_rest_is_off_cpu() -> None:
    logging_stack, exposition_stack = ["harness/logs.py:format"], ["prometheus_client/exposition.py:generate_latest"]
    found = shares([{"seconds": 0.1, "cpu_seconds": 0.04, "samples": [logging_stack, exposition_stack]}])
    assert found == pytest.approx({"JSON logging": 0.02, "metrics exposition": 0.02, OFF_CPU: 0.06})


def test_step_totals_add_up_every_target() -> None:
    text = "".join(
        f'synthetic_step_duration_seconds_{kind}{{scenario="a",step="s",target="{target}",region="eu"}} {value}\n'
        for kind, target, value in (("sum", "x", 1.5), ("count", "x", 3), ("sum", "y", 0.5), ("count", "y", 1))
    )
    assert _step_totals(parse("# TYPE synthetic_step_duration_seconds histogram\n" + text)) == {("a", "s"): (2.0, 4.0)}


def test_section_round_trips_and_tables_are_well_formed(tmp_path: Path) -> None:
    section = Section("x", "X: a test", "cmd", table(("a", "b"), [(1, 2), (3, 4)]), [Goal("g", False, "why")])
    save_section(section, tmp_path)
    loaded = load_sections(tmp_path)["x"]
    assert loaded.goals[0].met is False
    assert "**missed** (why)" in loaded.markdown()
    assert loaded.body.splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |", "| 3 | 4 |"]
    _assert_tables_well_formed(loaded.body)
    with pytest.raises(AssertionError):
        _assert_tables_well_formed("| a | b |\n|---|---|\n| 1 |")


def _assert_tables_well_formed(markdown: str) -> None:
    """Every table: a header, a separator and rows, all with the same number of cells."""
    blocks: list[list[str]] = []
    previous_was_row = False
    for line in markdown.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous_was_row:
            blocks.append([])
        if is_row:
            blocks[-1].append(line)
        previous_was_row = is_row
    assert blocks, "no table"
    for block in blocks:
        widths = {line.count("|") - 1 for line in block}
        assert len(block) >= 3 and block[1].startswith("|---"), block[:2]
        assert len(widths) == 1, block


@pytest.mark.slow
@pytest.mark.parametrize("name", [b.name for b in BENCHES if b.function == "run"])  # long-soak: §4's code, more runs
def test_bench_runs_with_tiny_counts(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", name, "--quick", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    raw = json.loads((tmp_path / "results" / f"{name}.json").read_text())
    assert raw["name"] == name and not raw["skipped"]
    assert raw["goals"], "every benchmark states its goals"
    assert all(goal["met"] in (True, False) for goal in raw["goals"])
    results = (tmp_path / "RESULTS.md").read_text()
    assert results.startswith("# Benchmark results")
    assert f"Rerun: `.venv/bin/python -m bench --only {name}`" in results
    assert "load average" in results and "blackbox_exporter" in results
    _assert_tables_well_formed(raw["body"])
