"""The test harness's client helpers: retry what a real client retries, bound a batch by its progress."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.harness import gather_with_progress, retrying


def _client(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://platform")


async def test_a_503_with_retry_after_is_sent_again_and_anything_else_is_returned() -> None:
    seen: list[httpx.Request] = []
    busy = httpx.Response(503, headers={"Retry-After": "0"})
    async with _client([busy, busy, httpx.Response(201)], seen) as client:
        assert (await retrying(lambda: client.post("/v1/x"))).status_code == 201
    assert len(seen) == 3
    for final in (
        httpx.Response(503),
        httpx.Response(500),
        httpx.Response(429, headers={"Retry-After": "0"}),
    ):
        seen.clear()
        async with _client([final], seen) as client:
            assert (await retrying(lambda: client.post("/v1/x"))).status_code == final.status_code
        assert len(seen) == 1  # no Retry-After, or not a 503: a real client would not send it again as is


async def test_retries_are_bounded() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(503, headers={"Retry-After": "0"}) for _ in range(4)]
    async with _client(answers, seen) as client:
        assert (await retrying(lambda: client.post("/v1/x"), retries=3)).status_code == 503
    assert len(seen) == 4


async def test_a_batch_may_take_long_while_it_progresses_but_not_stall() -> None:
    async def after(seconds: float, value: int) -> int:
        await asyncio.sleep(seconds)
        return value

    # 0.1 s apart: longer together than the stall bound, never a stall
    assert await gather_with_progress((after(0.1 * i, i) for i in range(5)), stall=0.25) == list(range(5))
    stuck = asyncio.Event()
    with pytest.raises(AssertionError, match=r"no progress for 0\.2s: 1 of 2 unanswered"):
        await gather_with_progress([after(0, 1), stuck.wait()], stall=0.2)
