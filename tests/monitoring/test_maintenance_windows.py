"""Maintenance windows in Alertmanager: time intervals to the minute, and the real
Alertmanager muting a journey's page while its window covers now, and sending it otherwise."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from config.maintenance import MaintenanceWindow
from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
from monitoring.maintenance import time_interval
from tests.monitoring.monitoring_servers import Webhook, running_alertmanager, wait_for


def _window(start: datetime, hours: float, **fields: object) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate(
        {"name": "vault-migration", "start": start, "end": start + timedelta(hours=hours), **fields}
    )


def test_a_window_over_midnight_is_one_entry_per_day_to_the_minute() -> None:
    window = _window(datetime(2026, 12, 31, 23, 30, 10, tzinfo=UTC), 1.75)  # ends 01:15:10 on new year's day
    interval = time_interval(window)
    assert interval["name"] == "maintenance-vault-migration"
    assert interval["time_intervals"] == [
        {
            "times": [{"start_time": "23:30", "end_time": "24:00"}],
            "days_of_month": ["31"],
            "months": ["december"],
            "years": ["2026"],
            "location": "UTC",
        },
        {
            "times": [{"start_time": "00:00", "end_time": "01:16"}],  # the partial minute is covered
            "days_of_month": ["1"],
            "months": ["january"],
            "years": ["2027"],
            "location": "UTC",
        },
    ]


def test_amtool_accepts_windows_over_several_days(amtool: str, tmp_path: Path) -> None:
    windows = [
        _window(datetime(2026, 12, 30, 22, 0, tzinfo=UTC), 50, targets=("production",), services=("vault",)),
        MaintenanceWindow.model_validate(
            {"name": "cdn-cutover", "start": "2027-01-05T09:00:00+01:00", "end": "2027-01-05T10:00:00+01:00"}
        ),
    ]
    config = write_alertmanager(tmp_path / "alertmanager.yml", windows=windows)
    result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _page(journey: str, team: str) -> dict[str, object]:
    ends = datetime.now(UTC) + timedelta(hours=1)
    labels = {"alertname": "JourneyFailingMultiRegion", "severity": "page", "layer": "synthetic"}
    labels |= {"journey": journey, "team": team, "target": "production"}
    return {"labels": labels, "annotations": {"summary": journey}, "endsAt": ends.isoformat()}


@pytest.mark.parametrize("covers_now", [True, False], ids=["window-covers-now", "window-is-over"])
def test_the_real_alertmanager_mutes_a_journey_page_only_inside_its_window(
    covers_now: bool,
    alertmanager_binary: str,
    webhook: Webhook,
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=1) if covers_now else now - timedelta(days=2)
    window = _window(start, 2, targets=("production",), services=("vault",))
    settings = AlertmanagerSettings(
        pager_url=f"{webhook.url}/pager", chat_url=f"{webhook.url}/chat", group_wait="1s", group_interval="1s"
    )
    config = write_alertmanager(tmp_path / "alertmanager.yml", settings, [window])
    with running_alertmanager(alertmanager_binary, config, tmp_path, free_port()) as url:
        # deposits needs Vault (muted in the window); chat does not (the control: always sent)
        alerts = [_page("deposits", "payments"), _page("chat", "realtime")]
        assert httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200

        def paged() -> set[str]:
            return {labels["journey"] for labels in webhook.delivered("/pager")}

        wait_for(lambda: "chat" in paged(), "the chat page (no window covers it)")
        time.sleep(3)  # group_wait is 1 s: a deposits page that is not muted has arrived by now
        assert ("deposits" in paged()) is not covers_now, webhook.received


def test_the_runbook_silence_line_silences_the_page(alertmanager: str, amtool: str) -> None:
    """monitoring/README.md's `amtool silence add` line, as written (only the address differs)."""
    readme = (Path(__file__).resolve().parents[2] / "monitoring" / "README.md").read_text(encoding="utf-8")
    line = next(text for text in readme.split("```") if "amtool silence add" in text).removeprefix("sh").strip()
    words = shlex.split(line.replace("\\\n", " ").replace('"$USER"', "tester"))
    assert words[:3] == ["amtool", "silence", "add"]
    words = [amtool, *words[1:]]
    words = [f"--alertmanager.url={alertmanager}" if w.startswith("--alertmanager.url=") else w for w in words]
    page = _page("deposits", "payments")
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=[page], timeout=5).status_code == 200
    result = subprocess.run(words, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr

    def silenced() -> bool:
        alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
        return any(a["labels"]["journey"] == "deposits" and a["status"]["silencedBy"] for a in alerts)

    wait_for(silenced, "the deposits page to be silenced")
