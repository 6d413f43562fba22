"""Real local servers for the monitoring tests: a webhook receiver, a started binary, Alertmanager."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from monitoring.prometheus_config import PrometheusSettings, render_prometheus_config
from tests.local_server import QuietHandler, serving_in_a_thread
from tests.support import stop_process

Labels = dict[str, str]


class Webhook:
    """A loopback webhook receiver that keeps every notification Alertmanager sends it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        webhook = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

        self.server = serving_in_a_thread(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def delivered(self, path: str) -> list[Labels]:
        """Labels of every alert delivered to ``path`` (e.g. "/pager"), firing or resolved."""
        return [alert["labels"] for where, payload in self.received if where == path for alert in payload["alerts"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running(command: Sequence[str], ready_url: str, log_path: Path) -> Iterator[None]:
    """Start a server binary, wait until ``ready_url`` answers 200, stop it afterwards."""
    with log_path.open("w") as log:
        process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    if httpx.get(ready_url, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{command[0]} did not become ready: {log_path.read_text()}"
                time.sleep(0.1)
            time.sleep(0.2)
            assert process.poll() is None, f"{command[0]} exited (is its port taken?): {log_path.read_text()}"
            yield
        finally:
            stop_process(process, 10)


@contextmanager
def running_alertmanager(binary: str, config: Path, work: Path, port: int) -> Iterator[str]:
    """Alertmanager with ``config`` on a loopback ``port``, its data and log under ``work``; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running(command, f"{url}/-/ready", work / "alertmanager.log"):
        yield url


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@contextmanager
def running_prometheus(binary: str, settings: PrometheusSettings, work: Path, port: int) -> Iterator[str]:
    """Prometheus with ``settings`` (config, TSDB and log in ``work``) on ``port``; its URL once ready."""
    config = work / "prometheus.yml"
    config.write_text(render_prometheus_config(settings), encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={work / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(command, f"{url}/-/ready", work / "prometheus.log"):
        yield url
