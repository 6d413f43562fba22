"""Every bad input is one line on stderr and exit 2, naming its flag, variable or YAML place.

The table runs in-process through ``runner.main(argv)``, the function ``python runner.py``
calls; a handful of rows run again as real subprocesses to prove the wiring (exit code,
stderr, no traceback, no hang on a FIFO).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import runner
from tests.core.fake_platform import FakePlatform
from tests.support import local_config, run_cli

DELETE = object()
MAX_LINE = 1000  # the runner cuts its own lines at 300; the sandbox lists its faults


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` (``{config}`` and ``{tmp}`` filled in), the place its line must name."""

    id: str
    argv: tuple[str, ...]
    place: str
    edits: dict[str, Any] = field(default_factory=dict)  # dotted YAML path -> value (DELETE removes)
    text: str | None = None  # the whole config file instead of the edited base
    env: dict[str, str] = field(default_factory=dict)


def check(*edits: tuple[str, Any], place: str, id: str, text: str | None = None) -> Case:
    return Case(id, ("check-config", "{config}"), place, dict(edits), text)


def env(name: str, value: str) -> Case:
    return Case(f"env-{name}-{value[:12]}", ("check-config", "{config}"), name, env={name: value})


def flag(*argv: str, place: str) -> Case:
    return Case(" ".join(argv)[:60], argv, place)


FILE = "{tmp}/file"  # a regular file, neither YAML nor executable
FIFO = "{tmp}/fifo"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)
URLS = ("vault_url", "concierge_url", "room_service_url", "spa_url")
P = "targets.prod"
A = "targets.prod.accounts"

CASES = [
    # -- the config file itself --------------------------------------------------------------
    Case("missing-file", ("check-config", "{tmp}/nope.yaml"), "nope.yaml: cannot read"),
    Case("directory", ("check-config", "{tmp}"), "not a regular file"),
    Case("fifo-config", ("check-config", FIFO), "fifo: not a regular file"),
    Case("huge-config", ("check-config", "{tmp}/huge.yaml"), "huge.yaml: 2097152 bytes"),
    check(place="not UTF-8", id="binary", text="targets: \udcff\n"),
    check(place="YAML syntax error", id="syntax", text="targets: [\n"),
    check(place="top level must be a mapping", id="top-list", text="- a\n- b\n"),
    check(place="duplicate key 'targets' (first at line 1)", id="dup-top", text="targets: {}\ntargets: {}\n"),
    check(
        place="line 4: duplicate key 'vault_url'",
        id="dup-nested",
        text="targets:\n  p:\n    vault_url: x\n    vault_url: y\n",
    ),
    check(place="more than 50000 values", id="laughs", text=LAUGHS),
    check(place="nested too deeply", id="deep", text="targets: " + "[" * 50_000 + "]" * 50_000 + "\n"),
    check(place="nested more than 32 levels", id="deep-ish", text="targets: " + "[" * 100 + "]" * 100 + "\n"),
    check(place="YAML syntax error", id="python-tag", text="targets: !!python/object/apply:os.system [id]\n"),
    check(("colour", "red"), place="colour: unknown key", id="top-unknown"),
    # -- runner: -------------------------------------------------------------------------------
    check(("runner", ["a"]), place="runner: must be a mapping", id="runner-list"),
    check(("runner.colour", "red"), place="runner.colour: unknown key", id="runner-unknown"),
    check(("runner.listen", "garbage"), place="runner.listen: must be HOST:PORT", id="listen-garbage"),
    check(("runner.listen", ":99999"), place="runner.listen: must be HOST:PORT", id="listen-port"),
    check(("runner.region", "BAD REGION"), place="runner.region: region 'BAD REGION'", id="region"),
    check(("runner.region", "a" * 5000), place="runner.region", id="region-long"),
    check(("runner.log_level", "VERBOSE"), place="runner.log_level", id="log-level"),
    check(("runner.shutdown_grace_seconds", -1), place="runner.shutdown_grace_seconds", id="grace"),
    check(("runner.max_concurrent_runs", 0), place="runner.max_concurrent_runs", id="concurrency"),
    check(("runner.dependency_allowlist", "db"), place="runner.dependency_allowlist: must be a list", id="allow"),
    check(("runner.browser.executable_path", "/no/chromium"), place="runner.browser.executable_path", id="exe"),
    check(("runner.browser.executable_path", FILE), place="runner.browser.executable_path", id="exe-not-x"),
    check(("runner.browser.max_concurrent_runs", 100), place="runner.browser.max_concurrent_runs", id="pages"),
    check(("runner.browser.trace", "sometimes"), place="runner.browser.trace", id="trace-policy"),
    # -- targets: ------------------------------------------------------------------------------
    check(("targets", DELETE), place="targets: required", id="no-targets"),
    check(("targets", {}), place="targets: at least one target", id="empty-targets"),
    check(("targets", {"Prod X": dict.fromkeys(URLS, "http://a")}), place="targets: target name 'Prod X'", id="name"),
    check((f"{P}.vault_url", "nope"), place=f"{P}.vault_url: not a URL", id="url"),
    check((f"{P}.spa_url", "ftp://cdn"), place=f"{P}.spa_url", id="url-scheme"),
    check((f"{P}.concierge_url", DELETE), place=f"{P}.concierge_url: required", id="url-missing"),
    check((f"{P}.region", "BAD REGION"), place=f"{P}.region", id="target-region"),
    check((f"{P}.currencies", ["usd"]), place=f"{P}.currencies: not a currency code", id="currency"),
    check((f"{P}.currencies", ["USD", "USD"]), place=f"{P}.currencies: currencies listed twice", id="currency-2"),
    check((f"{P}.stake_budget_usd_per_day", -5), place=f"{P}.stake_budget_usd_per_day", id="budget"),
    check((f"{P}.stake_budget_usd_per_day", "lots"), place=f"{P}.stake_budget_usd_per_day", id="budget-text"),
    check((f"{P}.allow_money", "maybe"), place=f"{P}.allow_money: not true/false", id="money"),
    check((f"{P}.allow_money", True), (A, DELETE), place=f"{A}: required when allow_money", id="money-no-accounts"),
    check((f"{A}.password", "hunter2hunter2"), place=f"{A}.password: inline secrets", id="inline"),
    check((f"{A}.password", {"env": "MG_TEST_SURELY_UNSET"}), place=f"{A}.password: environment", id="unset"),
    check((f"{A}.password", {"env": "X", "file": "y"}), place=f"{A}.password: give exactly one", id="both"),
    check((f"{A}.password", {"file": "{tmp}/none"}), place=f"{A}.password: cannot read", id="secret-missing"),
    check((f"{A}.password", {"file": FIFO}), place=f"{A}.password: secret file", id="secret-fifo"),
    check((f"{A}.password", {"file": "{tmp}"}), place=f"{A}.password: secret file", id="secret-dir"),
    check((f"{A}.password", {"file": "{tmp}/big"}), place=f"{A}.password: secret file", id="secret-big"),
    check((f"{P}.reset_secret", {"file": "/dev/zero"}), place=f"{P}.reset_secret: secret file", id="secret-dev"),
    check((f"{A}.default", "probe-{nosuchfield}"), place=f"{A}.default: unknown placeholder", id="tpl"),
    check((f"{A}.default", "probe-{"), place=f"{A}.default", id="tpl-brace"),
    check((f"{A}.default", "probe-{0}"), place=f"{A}.default", id="tpl-positional"),
    check((f"{A}.default", " "), place=f"{A}.default: an account name cannot be empty", id="tpl-empty"),
    check((f"{A}.by_scenario.chat", "x-{user}"), place=f"{A}.by_scenario: chat: unknown placeholder", id="tpl-by"),
    check((f"{A}.by_scenario.nosuch", "x"), place=f"{A}.by_scenario.nosuch: unknown scenario", id="by-unknown"),
    check((f"{A}.default", DELETE), place=f"{A}: no account for scheduled scenario(s) chat, uptime", id="no-acct"),
    check((A, DELETE), place=f"{A}: no account for scheduled scenario(s) chat", id="no-accounts"),
    # -- contract: -----------------------------------------------------------------------------
    check(("contract.paths.deposit", "/v1/deposits/{deposit_id}"), place="contract.paths.deposit", id="path-field"),
    check(("contract.paths.health", "health"), place="contract.paths.health: must start with '/'", id="path-rel"),
    check(("contract.paths.bets", "/v1/bets/{id}"), place="contract.paths.bets: unknown placeholder", id="path-id"),
    check(("contract.paths.nosuch", "/x"), place="contract.paths.nosuch: unknown key", id="path-unknown"),
    check(("contract.headers.synthetic_probe", ""), place="contract.headers.synthetic_probe", id="header-empty"),
    check(("contract.headers.idempotency_key", "Idem Key"), place="contract.headers.idempotency_key", id="header"),
    check(("contract.events.colour", "x"), place="contract.events.colour: unknown key", id="event-unknown"),
    check(("contract", 5), place="contract: must be a mapping", id="contract-scalar"),
    # -- scenarios: ----------------------------------------------------------------------------
    check(("scenarios.include_tags", ["nosuch"]), place="scenarios.include_tags: unknown tag", id="include"),
    check(("scenarios.exclude_tags", ["nosuch"]), place="scenarios.exclude_tags: unknown tag", id="exclude"),
    check(("scenarios.only", ["nosuch"]), place="scenarios.only: unknown scenario", id="only"),
    check(("scenarios.overrides.nosuch", {}), place="scenarios.overrides.nosuch: unknown scenario", id="override"),
    check(("scenarios.overrides.uptime.interval_seconds", 0), place="overrides.uptime.interval_seconds", id="ivl"),
    check(("scenarios.overrides.uptime.timeout_seconds", "soon"), place="overrides.uptime.timeout_seconds", id="to"),
    check(("scenarios.overrides.uptime.colour", 1), place="overrides.uptime.colour: unknown key", id="ovr-key"),
    check(("scenarios.overrides.uptime.options.nosuch", 1), place="uptime.options.nosuch: unknown key", id="opt"),
    check(
        ("scenarios.overrides.rates_freshness.options.max_age_seconds", -1),
        place="scenarios.overrides.rates_freshness.options.max_age_seconds",
        id="opt-value",
    ),
    # -- MG_* environment variables -------------------------------------------------------------
    env("MG_REGION", "BAD REGION"),
    env("MG_LISTEN", "garbage"),
    env("MG_LISTEN", "127.0.0.1:99999"),
    Case("env-MG_LISTEN-not-local", ("serve", "--config", "{config}"), "MG_LISTEN", env={"MG_LISTEN": "192.0.2.1:1"}),
    env("MG_LOG_LEVEL", "verbose"),
    env("MG_SHUTDOWN_GRACE_SECONDS", "abc"),
    env("MG_MAX_CONCURRENT_RUNS", "0"),
    env("MG_DEPENDENCY_ALLOWLIST", "notjson"),
    env("MG_BROWSER", '{"max_concurrent_runs": 0}'),
    env("MG_BROWSER", "notjson"),
    env("MG_MAX_CONCURRENT_RUNS", "many"),
    # -- flags of run ----------------------------------------------------------------------------
    flag("run", "--config", "{config}", "--retries", "-1", place="--retries"),
    flag("run", "--config", "{config}", "--retries", "x", place="--retries"),
    flag("run", "--config", "{config}", "--wait-healthy", "-5", place="--wait-healthy"),
    flag("run", "--config", "{config}", "--wait-healthy", "nan", place="--wait-healthy"),
    flag("run", "--config", "{config}", "--report", "/proc/x.json", place="--report /proc/x.json: cannot write"),
    flag("run", "--config", "{config}", "--junit", "/proc/x.xml", place="--junit /proc/x.xml: cannot write"),
    flag("run", "--config", "{config}", "--report", "{tmp}", place="--report {tmp}: is a directory"),
    flag("run", "--config", "{config}", "--artifacts", "/proc/x", place="--artifacts /proc/x"),
    flag("run", "--config", "{config}", "--region", "BAD REGION", place="--region"),
    flag("run", "--config", "{config}", "--scenario", "nosuch", place="--scenario nosuch: unknown scenario"),
    flag("run", "--config", "{config}", "--tag", "nosuch", place="--tag nosuch: unknown tag"),
    flag("run", "--config", "{config}", "--target", "nosuch", place="--target nosuch: unknown target"),
    flag("run", "--config", "{config}", "--push-gateway", "garbage", place="--push-gateway"),
    flag("run", "--config", "{config}", "--bogus", place="--bogus"),
    flag("run", "--config", "{tmp}/nope.yaml", place="nope.yaml: cannot read"),
    # -- flags of serve --------------------------------------------------------------------------
    flag("serve", "--config", "{config}", "--listen", "garbage", place="--listen"),
    flag("serve", "--config", "{config}", "--listen", ":99999", place="--listen"),
    flag("serve", "--config", "{config}", "--listen", "192.0.2.1:9150", place="--listen 192.0.2.1:9150: cannot"),
    flag("serve", "--config", "{config}", "--listen", "127.0.0.1:{busy}", place="--listen 127.0.0.1:{busy}"),
    flag("serve", "--config", "{config}", "--listen", "bad..name:9150", place="--listen bad..name:9150: cannot"),
    flag("serve", "--config", "{config}", "--max-start-offset", "-1", place="--max-start-offset"),
    flag("serve", "--config", "{config}", "--artifacts", "/proc/x", place="--artifacts /proc/x"),
    flag("serve", "--config", "{config}", "--region", "BAD REGION", place="--region"),
    flag("serve", "--config", "{config}", "--scenario", "uptime", "--tag", "browser", place="nothing to schedule"),
    # -- list, check-config, the command itself -------------------------------------------------
    flag("list", "--config", "{tmp}/nope.yaml", place="nope.yaml: cannot read"),
    flag("list", "--bogus", place="--bogus"),
    flag("check-config", place="file"),
    flag("check-config", "{config}", "{config}", place="unrecognized arguments"),
    flag(place="command"),
    flag("frobnicate", place="frobnicate"),
    # -- flags of sandbox ------------------------------------------------------------------------
    flag("sandbox", "--vault-port", "99999", place="--vault-port"),
    flag("sandbox", "--admin-port", "x", place="--admin-port"),
    flag("sandbox", "--fault", "nosuch", place="--fault nosuch"),
    flag("sandbox", "--drain-seconds", "-1", place="--drain-seconds"),
    flag("sandbox", "--profile", "nosuch", place="--profile"),
    flag("sandbox", "--bogus", place="--bogus"),
    flag("sandbox", "--host", "bad..name", place="--host bad..name"),
    flag("sandbox", "--db", "/proc/x.db", place="--db /proc/x.db"),
    flag("sandbox", "--db", "{tmp}", place="--db {tmp}"),
]


def _edited(base: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    for dotted, value in edits.items():
        *parents, leaf = dotted.split(".")
        node = base
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return base


def _base_config(tmp: Path) -> dict[str, Any]:
    """A valid config: two secrets in files, one read-only target, no browser journeys."""
    url = "http://127.0.0.1:9"
    return {
        "runner": {"region": "eu", "artifacts_dir": str(tmp / "artifacts")},
        "targets": {
            "prod": {
                "vault_url": url,
                "concierge_url": url,
                "room_service_url": url,
                "spa_url": url,
                "reset_secret": {"file": str(tmp / "reset")},
                "accounts": {"password": {"file": str(tmp / "pw")}, "default": "probe-{region}-{scenario}"},
            }
        },
        "scenarios": {"exclude_tags": ["browser"]},
    }


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Fillers for ``{tmp}``, ``{config}`` and ``{busy}`` (a port something already listens on)."""
    for name in [n for n in os.environ if n.upper().startswith("MG_")]:
        monkeypatch.delenv(name)
    (tmp_path / "pw").write_text("pw-bad-input-Xy7Qz3Lm\n")
    (tmp_path / "reset").write_text("rs-bad-input-Ab12Cd34\n")
    (tmp_path / "file").write_text("not a program\n")
    (tmp_path / "big").write_bytes(b"x" * (1024 * 1024))
    (tmp_path / "huge.yaml").write_bytes(b"# " + b"x" * (2 * 1024 * 1024 - 3) + b"\n")
    os.mkfifo(tmp_path / "fifo")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield {"tmp": str(tmp_path), "config": str(tmp_path / "config.yaml"), "busy": str(busy.getsockname()[1])}


def _fill(value: Any, fillers: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, filler in fillers.items():
            value = value.replace("{" + name + "}", filler)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, fillers) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fillers) for v in value]
    return value


def _write_case_config(case: Case, fillers: dict[str, str]) -> None:
    path = Path(fillers["config"])
    if case.text is not None:
        path.write_bytes(case.text.encode("utf-8", "surrogateescape"))
    else:
        config = _edited(_base_config(Path(fillers["tmp"])), _fill(case.edits, {"tmp": fillers["tmp"]}))
        path.write_text(yaml.safe_dump(config))


def _assert_one_line(code: int, stderr: str, place: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert place in lines[0], lines[0]
    assert len(lines[0]) <= MAX_LINE, len(lines[0])


@pytest.mark.timeout(30)  # a FIFO opened by mistake would block forever
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    case: Case, workspace: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_case_config(case, workspace)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    code = runner.main([_fill(arg, workspace) for arg in case.argv])
    stderr = capsys.readouterr().err
    _assert_one_line(code, stderr, _fill(case.place, workspace))
    if case.argv[:1] != ("sandbox",):
        assert len(stderr.strip()) <= runner.MAX_LINE_CHARS  # even for a 5000-character region


def test_the_table_is_large_and_its_base_config_valid(
    workspace: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(CASES) >= 70
    assert len({c.id for c in CASES}) == len(CASES)
    _write_case_config(Case("base", (), ""), workspace)
    assert runner.main(["check-config", workspace["config"]]) == 0, capsys.readouterr().err
    assert "ok: 1 target(s) (prod)" in capsys.readouterr().out


# -- the same wiring through real processes ------------------------------------------------------
SUBPROCESS_CASES = [
    "fifo-config",
    "secret-fifo",
    "env-MG_REGION-BAD REGION",
    "huge-config",
    "run --config {config} --report /proc/x.json",
]


def _python_runner(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("MG_")}
    return run_cli(*argv, timeout=60, env={**clean, **env})


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS_CASES], ids=lambda c: c.id)
def test_real_process_prints_one_line_and_exits_2(case: Case, workspace: dict[str, str]) -> None:
    _write_case_config(case, workspace)
    done = _python_runner([_fill(arg, workspace) for arg in case.argv], case.env)
    _assert_one_line(done.returncode, done.stderr, _fill(case.place, workspace))


def test_serve_on_a_busy_port_is_one_line(workspace: dict[str, str]) -> None:
    busy = next(c for c in CASES if "{busy}" in " ".join(c.argv))
    _write_case_config(busy, workspace)
    done = _python_runner([_fill(arg, workspace) for arg in busy.argv], {})
    _assert_one_line(done.returncode, done.stderr, _fill(busy.place, workspace))
    assert "Address already in use" in done.stderr


def test_a_20_mb_config_is_refused_before_parsing(workspace: dict[str, str]) -> None:
    huge = Path(workspace["tmp"]) / "twenty.yaml"
    huge.write_bytes(b"targets:\n" + b"  - x\n" * (20 * 1024 * 1024 // 6))
    done = _python_runner(["check-config", str(huge)], {})
    _assert_one_line(done.returncode, done.stderr, "twenty.yaml:")
    assert "more than a config may have" in done.stderr


# -- inputs that are legal, with something to say --------------------------------------------
def test_a_timeout_above_the_interval_warns_and_passes(
    workspace: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    override = {"scenarios.overrides.uptime": {"interval_seconds": 5, "timeout_seconds": 25}}
    _write_case_config(Case("slow", (), "", override), workspace)
    assert runner.main(["check-config", workspace["config"]]) == 0
    out, err = capsys.readouterr()
    assert "ok:" in out and len(out.strip().splitlines()) == 1
    assert "warning: scenarios.overrides.uptime: timeout_seconds 25 is above interval_seconds 5" in err
    assert "skipped" in err


def test_list_shows_the_configs_overrides(workspace: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    override = {"scenarios.overrides.uptime": {"interval_seconds": 7}, "scenarios.only": ["uptime"]}
    _write_case_config(Case("list", (), "", override), workspace)
    assert runner.main(["list", "--config", workspace["config"]]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows["uptime"][2:6] == ["7s*", "25s", "no", "yes"]  # interval overridden, scheduled
    assert rows["chat"][5] == "no"  # not in scenarios.only


def test_verbose_run_logs_every_step_at_debug(tmp_path: Path, fake_platform: FakePlatform) -> None:
    config = local_config(tmp_path, fake_platform.url)
    done = _python_runner(["run", "-v", "--config", str(config), "--scenario", "uptime"], {})
    assert done.returncode == 0, done.stderr
    passed = [line for line in done.stderr.splitlines() if '"msg": "step passed"' in line]
    assert passed and all('"level": "debug"' in line and '"run_id"' in line for line in passed)
    steps = {line.split('"step": "')[1].split('"')[0] for line in passed}
    assert {"vault health", "concierge health"} <= steps
