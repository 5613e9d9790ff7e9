"""The wire-format fakes themselves: scripted errors, per-prefix scripts, keep-alive, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest

from tests.fakes import ErrorReply, LoopbackServer, Script, anthropic_handler, gemini_handler, openai_handler

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_handler_serves_queued_errors_in_order_then_answers_and_records() -> None:
    handler = openai_handler("done", errors=[ErrorReply(503, None, {"retry-after": "2"}), ErrorReply(429)])
    with httpx.Client(transport=handler.transport, base_url="http://x") as client:
        replies = [client.post("/v1/chat/completions", json=CHAT) for _ in range(3)]
    assert [503, 429, 200] == [r.status_code for r in replies]
    assert ("2", "scripted error 503") == (replies[0].headers["retry-after"], replies[0].json()["error"]["message"])
    assert "done" == replies[2].json()["choices"][0]["message"]["content"]
    assert [CHAT] * 3 == [r.json for r in handler.requests]


def test_handler_of_one_family_refuses_the_other_familys_path() -> None:
    with httpx.Client(transport=gemini_handler().transport, base_url="http://x") as client:
        assert 404 == client.post("/v1/chat/completions", json=CHAT).status_code
        assert 200 == client.post("/v1beta/models/g:generateContent", json={}).status_code


def test_gemini_stream_without_alt_sse_is_a_json_array() -> None:
    with httpx.Client(transport=gemini_handler("abcdefgh").transport, base_url="http://x") as client:
        chunks = client.post("/v1beta/models/g:streamGenerateContent", json={}).json()
    assert "abcdefgh" == "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert ["STOP"] == [c["candidates"][0]["finishReason"] for c in chunks if "finishReason" in c["candidates"][0]]


def test_loopback_scripts_by_longest_prefix_with_keep_alive() -> None:
    with LoopbackServer(Script(text="default")) as server, httpx.Client(base_url=server.url) as client:
        server.configure("/a", text="from a")
        server.configure("/a/b", text="from a/b")
        texts = [
            client.post(path, json=CHAT).json()["choices"][0]["message"]["content"]
            for path in ("/a/v1/chat/completions", "/a/b/v1/chat/completions", "/v1/chat/completions")
        ]
        for _ in range(20):
            client.post("/a/v1/chat/completions", json=CHAT)
        assert ["from a", "from a/b", "default"] == texts
        assert (1, 23, 3) == (server.connections, len(server.requests), len(server.requests_for("/a/b")) + 2)


def test_loopback_errors_delay_sse_and_dropped_connection() -> None:
    with LoopbackServer() as server, httpx.Client(base_url=server.url, timeout=5) as client:
        server.fail("/x", 429, {"error": {"message": "slow down"}}, {"retry-after": "3"})
        server.script("/x").errors.append(ConnectionResetError())
        server.configure("/slow", delay=0.2)
        limited = client.post("/x/v1/chat/completions", json=CHAT)
        with pytest.raises(httpx.TransportError):
            client.post("/x/v1/chat/completions", json=CHAT)
        started = time.perf_counter()
        slow = client.post("/slow/v1/chat/completions", json=CHAT)
        waited = time.perf_counter() - started
        with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data:")]
        error = limited.json()["error"]["message"]
        assert (429, "3", "slow down") == (limited.status_code, limited.headers["retry-after"], error)
        assert (200, True) == (slow.status_code, waited >= 0.2)
        assert ("data: [DONE]", "chunked") == (lines[-1], response.headers["transfer-encoding"])
        assert "Hello from the fake provider." == "".join(
            (json.loads(line[6:])["choices"] or [{}])[0].get("delta", {}).get("content") or "" for line in lines[:-1]
        )


def test_loopback_accepts_chunked_request_bodies_and_concurrent_clients() -> None:
    async def run(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url) as client:

            async def chunked_body():
                yield json.dumps(CHAT).encode()

            first = await client.post("/v1/chat/completions", content=chunked_body())
            many = await asyncio.gather(*(client.post("/v1/chat/completions", json=CHAT) for _ in range(20)))
            return [first.status_code, *(r.status_code for r in many)]

    with LoopbackServer() as server:
        assert [200] * 21 == asyncio.run(run(server.url))
        assert CHAT == server.requests[0].json


def test_loopback_stops_cleanly_with_idle_keep_alive_connections() -> None:
    server = LoopbackServer()
    server.start()
    client = httpx.Client(base_url=server.url)
    assert 200 == client.post("/v1/chat/completions", json=CHAT).status_code
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    client.close()


def test_token_kinds_appear_in_each_familys_own_usage_shape() -> None:
    options = {"input_tokens": 4000, "output_tokens": 500, "cached_input_tokens": 3000}
    client = httpx.Client(transport=httpx.MockTransport(openai_handler(reasoning_tokens=120, **options)))
    usage = client.post("https://x.test/v1/chat/completions", json={"model": "m"}).json()["usage"]
    assert (4000, 3000, 500, 120) == (
        usage["prompt_tokens"],
        usage["prompt_tokens_details"]["cached_tokens"],
        usage["completion_tokens"],
        usage["completion_tokens_details"]["reasoning_tokens"],
    )
    client = httpx.Client(transport=httpx.MockTransport(gemini_handler(**options)))
    meta = client.post("https://x.test/v1beta/models/g:generateContent", json={}).json()["usageMetadata"]
    assert (4000, 3000, 500) == (
        meta["promptTokenCount"],
        meta["cachedContentTokenCount"],
        meta["candidatesTokenCount"],
    )
    client = httpx.Client(transport=httpx.MockTransport(anthropic_handler(cache_write_tokens=500, **options)))
    usage = client.post("https://x.test/v1/messages", json={"model": "c"}).json()["usage"]
    assert {"input_tokens": 500, "cache_read_input_tokens": 3000, "cache_creation_input_tokens": 500} == {
        k: usage[k] for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    }


def test_anthropic_stream_is_named_events_with_usage_at_start_and_delta() -> None:
    handler = anthropic_handler("Hello world", input_tokens=9, output_tokens=4)
    client = httpx.Client(transport=httpx.MockTransport(handler))
    body = client.post("https://x.test/v1/messages", json={"model": "c", "stream": True}).text
    names = [line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("event:")]
    assert "message_start" == names[0] and "message_stop" == names[-1] and "message_delta" in names
    datas = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert 9 == datas[0]["message"]["usage"]["input_tokens"]
    assert 4 == next(d for d in datas if d["type"] == "message_delta")["usage"]["output_tokens"]
    assert "Hello world" == "".join(d["delta"]["text"] for d in datas if d["type"] == "content_block_delta")
