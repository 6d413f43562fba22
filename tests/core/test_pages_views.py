"""What a run page links and shows, from a result alone: uploaded evidence first, the trace link,
the waterfall's geometry, and the strip's percentiles."""

from __future__ import annotations

from pathlib import Path

from harness.pages import artifact_links, percentile, render, run_view
from harness.results import Outcome, RunResult, StepRecord


def failed_run(folder: Path | None, uploaded: str | None = None) -> RunResult:
    return RunResult(
        "spa_bet",
        "prod",
        "eu-west-1",
        "r-1",
        "0af7651916cd43dd8448eb211c80319c",
        Outcome.FAILURE,
        1_800_000_000.0,
        4.0,
        steps=[StepRecord("log in", 1.0, True), StepRecord("bet", 3.0, False, "assertion", "balance <script>")],
        failed_step="bet",
        reason="assertion",
        message="balance <script>",
        artifacts_dir=str(folder) if folder else None,
        artifacts_url=uploaded,
    )


def test_uploaded_evidence_is_linked_before_the_runners_own_copy(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts" / "spa_bet" / "r-1"
    folder.mkdir(parents=True)
    (folder / "screenshot.png").write_bytes(b"png")
    (folder / "trace.zip").write_bytes(b"PK")
    local = artifact_links(failed_run(folder), tmp_path / "artifacts", "../")
    assert local == {
        "screenshot.png": "../artifacts/spa_bet/r-1/screenshot.png",
        "trace.zip": "../artifacts/spa_bet/r-1/trace.zip",
    }
    bucket = "https://evidence.s3.eu-west-1.amazonaws.com/eu-west-1/spa_bet/2026-11-28/r-1/"
    uploaded = artifact_links(failed_run(folder, bucket), tmp_path / "artifacts", "../")
    assert uploaded == {"screenshot.png": bucket + "screenshot.png", "trace.zip": bucket + "trace.zip"}
    # pruned here, still uploaded: every file the run may have left is linked from the bucket
    (folder / "screenshot.png").unlink()
    (folder / "trace.zip").unlink()
    assert set(artifact_links(failed_run(folder, bucket), tmp_path / "artifacts", "../")) == {
        "screenshot.png",
        "console.log",
        "trace.zip",
        "network.har",
    }
    # a folder outside the artifacts directory is never linked from the runner's own /artifacts/
    assert artifact_links(failed_run(tmp_path / "elsewhere"), tmp_path / "artifacts", "../") == {}
    view = run_view(failed_run(folder, bucket), uploaded, None)
    assert view.trace_command == f"npx playwright show-trace {bucket}trace.zip"


def test_run_page_escapes_messages_links_the_trace_and_lays_steps_end_to_end() -> None:
    view = run_view(failed_run(None), {}, "https://tempo.example/explore?q={trace_id}&x={}")
    assert view.trace_url == "https://tempo.example/explore?q=0af7651916cd43dd8448eb211c80319c&x={}"
    assert [(s.offset_percent, s.width_percent) for s in view.steps] == [(0.0, 25.0), (25.0, 75.0)]
    html = render("run.html", base="../", region="eu-west-1", static=False, view=view)
    assert "balance &lt;script&gt;" in html and "<script>" not in html.split("</head>", 1)[1]
    assert 'href="https://tempo.example/explore?q=0af7651916cd43dd8448eb211c80319c&amp;x={}"' in html


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 21)], 0.95) == 19.0
