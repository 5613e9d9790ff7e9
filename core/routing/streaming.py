"""The streaming path: text as it arrives, fallback while nothing has been sent, one usage row per request.

The reader may stop at any time: break out of its loop, call `aclose()`, or drop the stream (its generator is
then closed by the event loop). Each way writes the attempt's row with outcome `abandoned` and the text received
so far counted. A provider's `timeout` bounds the whole attempt, keep-alive bytes included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from core.base import AIResponse, ErrorKind, Outcome, ProviderError
from core.routing.dispatch import Dispatcher
from core.routing.ledger import Received
from core.routing.types import Call, Candidate, Trail


class RouterStream:
    """An async iterator of text; `.response` holds the AIResponse once the stream has finished.

    `provider` names the provider being asked right now (None before the first attempt), and `started_at`
    (time.monotonic) when that attempt began: enough for a page to show who it waits for, and for how long.
    """

    def __init__(self, dispatcher: Dispatcher, call: Call, plan: list[str], payload: dict[str, Any] | None) -> None:
        self._dispatcher = dispatcher
        self._call = call
        self._plan = plan
        self._payload = payload
        self._gen: AsyncGenerator[str, None] | None = None
        self.response: AIResponse | None = None
        self.provider: str | None = None
        self.started_at: float | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self._gen is None:
            self._gen = self._run()
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop the stream; an attempt in flight is recorded as abandoned."""
        if self._gen is not None:
            await self._gen.aclose()

    async def _run(self) -> AsyncGenerator[str, None]:
        d, call = self._dispatcher, self._call
        trail = d.begin()
        for candidate in d.candidates(call, self._plan, trail):
            if candidate.hit is not None:
                self.response = d.ledger.cached(call, candidate, candidate.hit, trail)
                yield candidate.hit["content"]
                return
            self.provider, self.started_at = candidate.name, time.monotonic()
            sent = False
            attempt = self._attempt(candidate, trail)
            try:
                async for piece in attempt:
                    sent = True
                    yield piece
            finally:
                await attempt.aclose()  # a reader that stopped: the attempt records itself as abandoned now
                d.settle(candidate)
            if self.response is not None or sent:
                return
        raise d.unanswered(call, self._plan, trail)

    async def _attempt(self, candidate: Candidate, trail: Trail) -> AsyncGenerator[str, None]:
        """One provider's stream. Returns without text to fall back; raises once text has reached the reader."""
        d, call = self._dispatcher, self._call
        request = call.request(candidate.model, self._payload)
        source = d.provider(candidate.name).stream(request)
        received = Received(candidate.model)
        deadline = trail.deadline.for_attempt(candidate.settings.timeout)
        started = time.perf_counter()
        ended = False  # a row has been written for this request
        try:
            while True:
                limit = asyncio.timeout_at(deadline)
                try:
                    async with limit:
                        delta = await source.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    if not limit.expired():
                        raise
                    ended = True
                    d.out_of_time(call, candidate, started, trail, received)  # raises when the call is out of time
                    if received.parts:
                        raise ProviderError(
                            candidate.name, ErrorKind.TIMEOUT,
                            f"the answer stopped: no complete answer within {candidate.settings.timeout:g} s",
                        ) from None  # fmt: skip
                    return
                received.add(delta)
                if delta.text:
                    yield delta.text
        except ProviderError as error:
            if not ended:
                ended = True
                d.ledger.failed(call, candidate, error, _ms(started), trail, received)
            if received.parts:  # text already reached the reader: say so instead of silently switching provider
                raise
            return
        except asyncio.CancelledError:
            if not ended:
                ended = True
                reason = "cancelled by the caller"
                d.ledger.interrupted(call, candidate, Outcome.CANCELLED, reason, _ms(started), trail, received)
            raise
        except GeneratorExit:
            if not ended:
                ended = True
                reason = f"the reader stopped after {len(received.text):,} characters"
                d.ledger.interrupted(call, candidate, Outcome.ABANDONED, reason, _ms(started), trail, received)
            raise
        finally:
            await _close(source)
        self.response = d.ledger.answered(call, candidate, received.result(), _ms(started), trail)


async def _close(source: AsyncIterator[Any]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: BLE001 - the provider's stream is over either way
            pass


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
