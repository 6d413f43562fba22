"""Shared fixtures for the monitoring tests: the Prometheus tools, installed from Debian."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
from tests.monitoring.monitoring_servers import Webhook, running_alertmanager


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y {package}")
    return path


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Path of the Prometheus server (Debian package prometheus)."""
    return _tool("prometheus", "prometheus")


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool (Debian package prometheus)."""
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    """Path of amtool (Debian package prometheus-alertmanager)."""
    return _tool("amtool", "prometheus-alertmanager")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    """Path of the Alertmanager server (Debian package prometheus-alertmanager)."""
    return _tool("prometheus-alertmanager", "prometheus-alertmanager")


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Gives loopback ports nobody listens on right now (for servers that cannot take port 0)."""
    return _unused_port


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A webhook receiver on a free loopback port."""
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture
def alertmanager(
    alertmanager_binary: str, webhook: Webhook, tmp_path: Path, free_port: Callable[[], int]
) -> Iterator[str]:
    """A running Alertmanager with the shipped routes and inhibitions, sending to ``webhook``.

    Yields its base URL. Notifications go out after a 1 s group_wait: with 0 s, a symptom
    that arrives together with its cause can be sent before the inhibition sees the cause.
    """
    settings = AlertmanagerSettings(
        pager_url=f"{webhook.url}/pager", chat_url=f"{webhook.url}/chat", group_wait="1s", group_interval="1s"
    )
    work = tmp_path / "alertmanager"
    config = write_alertmanager(work / "alertmanager.yml", settings)
    with running_alertmanager(alertmanager_binary, config, work, free_port()) as url:
        yield url
