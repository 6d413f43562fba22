"""Shards: a region's schedules split across replicas by rendezvous hashing, the stake budget
split with them and kept across restarts, and bad shard values refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import runner
from config.loader import DEFAULT_CONFIG, load_settings
from config.settings import Settings
from harness.budget import LedgerError, StakeBudget, share_of_budget
from harness.discovery import discover, plan
from harness.runtime import Runtime
from harness.shards import WHOLE, Shard, ShardError, owner

REPO = Path(__file__).resolve().parents[2]


def _sandbox_with_targets(count: int) -> Settings:
    """The shipped sandbox config with ``count`` copies of its target: more schedules to split."""
    settings = load_settings(DEFAULT_CONFIG, scenario_names=discover())
    target = settings.targets["sandbox"]
    return settings.model_copy(update={"targets": {f"t{n}": target for n in range(count)}})


def _today() -> int:
    return int(time.time() // 86400)


# --- the split -------------------------------------------------------------------------


def test_shards_parse_from_i_of_n() -> None:
    assert Shard.parse("2/4") == Shard(2, 4)
    assert Shard.parse(" 1/1 ") == WHOLE
    assert (Shard(2, 4).label, Shard(2, 4).slug) == ("2/4", "2-of-4")
    for bad in ("3/2", "0/2", "x", "2/0", "1/", "/2", "1.5/2", "-1/2", "1/2/3", ""):
        with pytest.raises(ShardError):
            Shard.parse(bad)


@pytest.mark.parametrize("count", range(1, 9))
def test_n_replicas_run_every_schedule_exactly_once(count: int) -> None:
    settings = _sandbox_with_targets(3)
    found = discover()
    everything = [(p.name, p.target) for p in plan(settings, found)]
    assert len(everything) == 3 * len(found)
    ran = Counter(
        (p.name, p.target) for index in range(1, count + 1) for p in plan(settings, found, shard=Shard(index, count))
    )
    assert sorted(ran) == sorted(everything)
    assert set(ran.values()) == {1}


def test_growing_by_one_replica_moves_only_what_the_new_replica_takes() -> None:
    keys = [(f"scenario-{k}", f"target-{k % 7}") for k in range(1000)]
    for count in range(1, 16):
        before = {key: owner(*key, count) for key in keys}
        after = {key: owner(*key, count + 1) for key in keys}
        moved = [key for key in keys if before[key] != after[key]]
        assert len(moved) <= len(keys) * (1 / (count + 1) + 0.05), (count, len(moved))
        assert all(after[key] == count + 1 for key in moved), "a schedule moved between two old replicas"
        assert moved, "the new replica took nothing"


def test_two_processes_agree_on_the_split() -> None:
    """Real processes with different hash seeds: each lists its share, the shares agree and
    partition the schedules; MG_SHARD gives the same share as --shard."""
    base = {k: v for k, v in os.environ.items() if k != "MG_SHARD"}
    commands = [(["list", "--shard", f"{index}/3"], {**base, "PYTHONHASHSEED": str(index)}) for index in (1, 2, 3)] + [
        (["list"], {**base, "PYTHONHASHSEED": "99", "MG_SHARD": "1/3"})
    ]
    processes = [
        subprocess.Popen(
            [sys.executable, "runner.py", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for args, env in commands
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
        outputs.append(out.decode())
    shares = [[line.split()[:2] for line in text.splitlines()[1:-1]] for text in outputs]
    settings = load_settings(DEFAULT_CONFIG, scenario_names=discover())
    everything = sorted([p.name, p.target] for p in plan(settings, discover()))
    assert sorted(shares[0] + shares[1] + shares[2]) == everything
    assert outputs[3] == outputs[0]
    for index, text in enumerate(outputs[:3], start=1):
        mine = [[p.name, p.target] for p in plan(settings, discover(), shard=Shard(index, 3))]
        assert shares[index - 1] == mine
        assert text.splitlines()[-1] == f"shard {index}/3 of region eu: {len(mine)} of {len(everything)} schedules"


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            ["serve", "--shard", "3/2"],
            None,
            "runner.py serve: error: argument --shard: '3/2': the index must be between 1 and 2"
            " (see runner.py serve --help)",
        ),
        (
            ["serve", "--shard", "x"],
            None,
            "runner.py serve: error: argument --shard: 'x': not I/N (e.g. 2/4: the second of four replicas)"
            " (see runner.py serve --help)",
        ),
        (
            ["list", "--shard", "0/0"],
            None,
            "runner.py list: error: argument --shard: '0/0': N, the number of replicas, must be at least 1"
            " (see runner.py list --help)",
        ),
        (["serve"], "garbage", "MG_SHARD='garbage': not I/N (e.g. 2/4: the second of four replicas)"),
        (["list"], "", "MG_SHARD='': not I/N (e.g. 2/4: the second of four replicas)"),
    ],
)
def test_a_bad_shard_is_one_line_and_exit_2(
    argv: list[str], env: str | None, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if env is None:
        monkeypatch.delenv("MG_SHARD", raising=False)
    else:
        monkeypatch.setenv("MG_SHARD", env)
    assert runner.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [expected]
    assert captured.out == ""


# --- the budget ------------------------------------------------------------------------


def test_each_shard_gets_its_part_of_the_budget_rounded_down() -> None:
    assert share_of_budget(Decimal("100.00"), 1) == Decimal("100.00")
    assert share_of_budget(Decimal("100.00"), 3) == Decimal("33.33")
    assert 3 * share_of_budget(Decimal("100.00"), 3) <= Decimal("100.00")


def test_the_budget_holds_across_a_restart(tmp_path: Path) -> None:
    ledger = tmp_path / "stake-budget-1-of-1.json"
    first = StakeBudget({"prod": Decimal("10.00")}, ledger=ledger)
    assert first.try_spend("prod", Decimal("6.00"))
    restarted = StakeBudget({"prod": Decimal("10.00")}, ledger=ledger)  # the container crashed and came back
    assert restarted.remaining("prod") == Decimal("4.00")
    assert not restarted.try_spend("prod", Decimal("4.01"))
    assert restarted.try_spend("prod", Decimal("4.00"))
    assert StakeBudget({"prod": Decimal("10.00")}, ledger=ledger).remaining("prod") == 0


def test_yesterdays_ledger_starts_a_new_day(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({"utc_day": _today() - 1, "spent_usd": {"prod": "10.00"}}))
    assert StakeBudget({"prod": Decimal("10.00")}, ledger=ledger).remaining("prod") == Decimal("10.00")


@pytest.mark.parametrize("text", ["{not json", '{"utc_day": DAY, "spent_usd": {"prod": "ten"}}', '{"utc_day": DAY}'])
def test_an_unreadable_ledger_is_refused_never_taken_as_nothing_spent(tmp_path: Path, text: str) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text(text.replace("DAY", str(_today())))
    with pytest.raises(LedgerError, match="delete it to start over"):
        StakeBudget({"prod": Decimal("10.00")}, ledger=ledger)


def test_two_shards_never_spend_more_than_one_budget(tmp_path: Path) -> None:
    settings = _sandbox_with_targets(1)  # t0: 5000.00 USD a day
    shards = [
        Runtime(settings, shard=Shard(index, 2), budget_ledger=tmp_path / f"stake-budget-{index}-of-2.json")
        for index in (1, 2)
    ]
    spent = Decimal(0)
    for runtime in shards:
        while runtime.budget.try_spend("t0", Decimal("300.00")):
            spent += Decimal("300.00")
    assert spent <= Decimal("5000.00")
    assert spent == Decimal("4800.00")  # 2 x 8 stakes of 300 in each half of 2500
    restarted = Runtime(settings, shard=Shard(1, 2), budget_ledger=tmp_path / "stake-budget-1-of-2.json")
    assert restarted.budget.remaining("t0") == Decimal("100.00")


def _serve_config(tmp_path: Path) -> Path:
    """A target that allows money, at an address nothing listens on: no run starts anyway."""
    (tmp_path / "pw").write_text("pw-shard-test\n")
    path = tmp_path / "config.yaml"
    path.write_text(f"""
runner:
  region: eu-west-1
  artifacts_dir: {tmp_path / "artifacts"}
targets:
  prod:
    vault_url: http://127.0.0.1:9
    concierge_url: http://127.0.0.1:9
    room_service_url: http://127.0.0.1:9
    spa_url: http://127.0.0.1:9
    allow_money: true
    stake_budget_usd_per_day: "100.00"
    accounts:
      password: {{file: {tmp_path / "pw"}}}
      default: "probe-{{region}}-{{scenario}}"
""")
    return path


def _metrics_of_serve(config: Path, shard: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "runner.py",
            "serve",
            "--config",
            str(config),
            "--listen",
            "127.0.0.1:0",
            "--max-start-offset",
            "3600",  # the first runs would start within the hour: none does during the test
            "--scenario",
            "uptime",  # shard 2/2 owns it; shard 1/2 owns nothing and still reports
            "--shard",
            shard,
        ],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("MG_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_serving_shards_split_the_budget_and_one_resumes_its_ledger(tmp_path: Path) -> None:
    """Real ``serve`` processes: shard 1/2 restarts with 20.00 USD already spent today and, owning
    none of the selected schedules, still serves /metrics (or ShardUnwatched would fire)."""
    config = _serve_config(tmp_path)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "stake-budget-1-of-2.json").write_text(
        json.dumps({"utc_day": _today(), "spent_usd": {"prod": "20.00"}})
    )
    processes = {shard: _metrics_of_serve(config, shard) for shard in ("1/2", "2/2")}
    try:
        for shard, process in processes.items():
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert f"shard {shard}; metrics at " in banner, banner + (process.stderr.read() if process.stderr else "")
            assert banner.startswith(f"mystery-guest: {0 if shard == '1/2' else 1} scheduled runs, region eu-west-1")
            url = banner.rsplit(" ", 1)[1].strip()
            text = httpx.get(url, timeout=10).text
            remaining = "30.0" if shard == "1/2" else "50.0"
            assert f'synthetic_stake_budget_remaining_usd{{target="prod"}} {remaining}' in text
            assert f'region="eu-west-1",shard="{shard}"' in text.split("synthetic_runner_info{", 1)[1]
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
    ends = {shard: process.communicate(timeout=30) for shard, process in processes.items()}
    assert [process.returncode for process in processes.values()] == [0, 0], ends
    assert "warning: shard 1/2 owns none of the selected schedules; serving /metrics only" in ends["1/2"][1]
    assert "owns none" not in ends["2/2"][1]


def test_serve_refuses_a_broken_ledger_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _serve_config(tmp_path)
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "stake-budget-2-of-3.json").write_text("{half a fi")
    monkeypatch.delenv("MG_SHARD", raising=False)
    assert runner.main(["serve", "--config", str(config), "--shard", "2/3"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: stake budget ledger ") and line.endswith("delete it to start over")
