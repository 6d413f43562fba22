"""Which of the page's own requests a browser journey waits for (``contract.page_requests``)."""

from __future__ import annotations

import pytest

from config.contract import Contract, PageRequests, Paths


@pytest.mark.parametrize(
    ("contract", "path", "matches"),
    [
        (Contract(), "/api/vault/v1/bets", True),  # the default: any path ending in paths.bets
        (Contract(), "/v1/bets", True),
        (Contract(), "/api/vault/v1/bets/abc/rollback", False),
        (Contract(paths=Paths(bets="/v2/wagers")), "/api/vault/v1/bets", False),
        (Contract(page_requests=PageRequests(bet="/gateway/*/bets")), "/gateway/vault/bets", True),
        (Contract(page_requests=PageRequests(bet="/gateway/*/bets")), "/api/vault/v1/bets", False),
    ],
)
def test_the_bet_request_pattern(contract: Contract, path: str, matches: bool) -> None:
    assert contract.is_page_request("bet", path) is matches
