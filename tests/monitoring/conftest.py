"""Shared fixtures for the monitoring tests: the Prometheus tools, installed from Debian."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoring.alertmanager import AlertmanagerSettings, write_alertmanager
from tests import local_server
from tests.monitoring.monitoring_servers import Webhook, running_alertmanager


def _debian_tool(command: str, package: str) -> Callable[[], str]:
    """A session fixture: the path of ``command``, which the Debian ``package`` installs (failing without it)."""

    def path() -> str:
        found = shutil.which(command)
        if found is None:
            pytest.fail(f"{command} is missing: apt-get install -y {package}")
        return found

    path.__doc__ = f"Path of {command} (Debian package {package})."
    return pytest.fixture(scope="session")(path)


prometheus_binary = _debian_tool("prometheus", "prometheus")
promtool = _debian_tool("promtool", "prometheus")
amtool = _debian_tool("amtool", "prometheus-alertmanager")
alertmanager_binary = _debian_tool("prometheus-alertmanager", "prometheus-alertmanager")


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Gives loopback ports nobody listens on right now (for servers that cannot take port 0)."""
    return local_server.free_port


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
