"""Plumbing shared by the HTTP adapters: per-loop clients, SSE lines, error mapping, Retry-After, key scrubbing."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.base import ErrorKind, ProviderError
from core.providers.base import Provider

#: How much of a provider's own error message we keep: enough to act on, short enough for a log line.
MESSAGE_LIMIT = 300

_KEY_IN_QUERY = re.compile(r"(?i)([?&](?:key|api_key|apikey)=)[^&\s\"']+")


def make_timeout(seconds: float) -> httpx.Timeout:
    """Whole-call budget for reads/writes; connecting gets at most 10 s so a dead host fails fast."""
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def strip_base(base_url: str) -> str:
    """The base URL without its trailing slash(es), so base + path never doubles a slash."""
    return base_url.rstrip("/")


def host_of(url: str) -> str:
    """host[:port] of a URL, without any userinfo, for messages that must not leak credentials."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove every secret (and any `key=` query value) from text shown to users or written to logs."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_IN_QUERY.sub(r"\1***", text)


def truncate(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- one client per event loop ----------------------------------------------------------------------------------


class _Entry:
    """A loop's client plus the async generator that closes it when `asyncio.run` shuts the loop down."""

    __slots__ = ("abandoned", "client", "closer")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.abandoned = False
        self.closer = self._close_at_loop_shutdown()

    async def _close_at_loop_shutdown(self) -> AsyncGenerator[None, None]:
        # asyncio.run() calls loop.shutdown_asyncgens(), which aclose()s every async generator first iterated in
        # that loop: this is the one hook that runs inside the loop just before it closes.
        try:
            yield
        finally:
            if not self.abandoned:
                await self.client.aclose()

    def abandon(self) -> None:
        """The loop is already closed: finish the closer without awaiting, so no finaliser touches a dead loop."""
        self.abandoned = True
        closing = self.closer.aclose()
        try:
            closing.send(None)
        except (StopIteration, RuntimeError):
            pass
        finally:
            closing.close()


class LoopClients:
    """One httpx.AsyncClient per running event loop.

    A client's pooled connections belong to the loop that opened them, so it must not be reused from another loop
    (Streamlit runs `asyncio.run` per action, in a thread per session); making a client per call is too slow.
    Clients are closed automatically when `asyncio.run` finishes their loop, or by `aclose()`.
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._headers = dict(headers or {})
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        with self._lock:
            live = [e for loop, e in self._entries.items() if not loop.is_closed() and not e.client.is_closed]
            return len(live)

    async def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._entries.get(loop)
            if entry is not None and not entry.client.is_closed:
                return entry.client
            self._sweep_closed_loops()
            entry = _Entry(
                httpx.AsyncClient(
                    timeout=self._timeout,
                    transport=self._transport,
                    headers=self._headers,  # on the client: not merged again into every request
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0),
                )
            )
            self._entries[loop] = entry
        await entry.closer.__anext__()  # registers the closer with this loop's shutdown_asyncgens
        return entry.client

    def _sweep_closed_loops(self) -> None:
        for loop in [loop for loop in self._entries if loop.is_closed()]:
            self._entries.pop(loop).abandon()

    async def aclose(self) -> None:
        """Close this loop's client now; ask other live loops to close theirs; forget clients of dead loops."""
        current = asyncio.get_running_loop()
        with self._lock:
            entries = list(self._entries.items())
            self._entries.clear()
        for loop, entry in entries:
            if loop is current:
                await entry.closer.aclose()
            elif loop.is_closed():
                entry.abandon()
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(entry.closer.aclose(), loop)
            else:
                entry.abandon()


# --- SSE ----------------------------------------------------------------------------------------------------------


async def sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The payload of each `data:` line. LLM servers send one JSON object per line, and some omit the blank line
    that should end an event, so each data line is taken on its own; comments and other fields are skipped."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        value = line[5:]
        yield value[1:] if value.startswith(" ") else value


def is_json_response(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


# --- errors ---------------------------------------------------------------------------------------------------


def decode_body(content: bytes | str | None) -> Any:
    """JSON if the body is JSON, else the text (or None for an empty body)."""
    if content is None:
        return None
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class ErrorInfo:
    """The parts of a provider error body we classify on, whatever the family's shape."""

    __slots__ = ("code", "details", "message")

    def __init__(self, message: str, code: str, details: list[Any]) -> None:
        self.message = message
        self.code = code
        self.details = details

    @property
    def quota_ids(self) -> list[str]:
        ids: list[str] = []
        for detail in self.details:
            if isinstance(detail, dict):
                for violation in detail.get("violations") or []:
                    if isinstance(violation, dict):
                        ids.extend(str(violation.get(k, "")) for k in ("quotaId", "quotaMetric", "subject"))
        return [i for i in ids if i]

    @property
    def reasons(self) -> list[str]:
        return [str(d.get("reason", "")) for d in self.details if isinstance(d, dict) and d.get("reason")]


def error_info(body: Any) -> ErrorInfo:
    """Read OpenAI ({error:{message,type,code}}), Gemini ({error:{code,message,status,details}}), xAI
    ({code, error: "..."}), Ollama ({error: "..."}) and plain-text error bodies."""
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):
            return ErrorInfo(error, str(body.get("code") or body.get("type") or ""), [])
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail") or body.get("message") or ""
            codes = [str(error[k]) for k in ("type", "code", "status") if error.get(k) not in (None, "")]
            details = error.get("details")
            return ErrorInfo(str(message), " ".join(codes), details if isinstance(details, list) else [])
    if body is None:
        return ErrorInfo("", "", [])
    return ErrorInfo(str(body), "", [])


_CONTEXT_PATTERNS = re.compile(
    r"context_length_exceeded|maximum context length|exceeds the maximum number of tokens|input token count.*exceeds"
    r"|exceed_context_size|exceeds the available context size|context window|prompt is too long"
    r"|maximum prompt length",  # xAI: "This model's maximum prompt length is 131072 but the request contains …"
    re.IGNORECASE | re.DOTALL,
)
#: Groq's 413 "Request too large … on tokens per minute (TPM)" (code rate_limit_exceeded): the request is larger
#: than the plan's per-minute budget. A plan limit, not the model's context window.
_PLAN_LIMIT_413 = re.compile(r"rate_limit_exceeded|per minute|\b[RT]P[MD]\b", re.IGNORECASE)
_CREDIT_PATTERNS = re.compile(
    r"insufficient_quota|check your plan and billing|credits|spending limit|billing hard limit|out of quota"
    r"|exceeded your current quota|payment required|prepaid|balance",
    re.IGNORECASE,
)
#: Gemini answers a bad key with 400 API_KEY_INVALID; xAI with 400 "Incorrect API key provided".
_AUTH_IN_400 = re.compile(
    r"api_key_invalid|api key not valid|invalid api key|api key expired|incorrect api key", re.IGNORECASE
)
_WINDOW_LIMIT = re.compile(r"(?:try again|retry) in |rate_limit_exceeded|per minute|perminute", re.IGNORECASE)


def _is_credit_gone(info: ErrorInfo) -> bool:
    """A 429 (or 402/403) that means the account has no credit left: retrying cannot help, unlike a rate limit.

    Gemini uses the same "check your plan and billing" wording for per-minute limits, so its QuotaFailure ids
    decide first; Groq's rate-limit messages link to its billing page, so a "try again in" marks a window limit.
    """
    text = f"{info.code} {info.message}"
    if "insufficient_quota" in text.lower():
        return True
    ids = " ".join(info.quota_ids).lower()
    if "perminute" in ids or "per_minute" in ids:
        return False
    if "perday" in ids or "per_day" in ids:
        return True
    if _WINDOW_LIMIT.search(text):
        return False
    return bool(_CREDIT_PATTERNS.search(text))


#: Anthropic answers an empty balance with 400 "Your credit balance is too low to access the Anthropic API".
_CREDIT_IN_400 = re.compile(r"credit balance is too low|billing_error", re.IGNORECASE)


def classify_status(status: int, info: ErrorInfo) -> ErrorKind:
    text = f"{info.code} {info.message} {' '.join(info.reasons)}"
    if status == 402 or (status in (403, 429) and _is_credit_gone(info)):
        return ErrorKind.QUOTA_EXHAUSTED
    if status == 400 and _CREDIT_IN_400.search(text):
        return ErrorKind.QUOTA_EXHAUSTED
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status == 408:
        return ErrorKind.TIMEOUT
    if status >= 500 or status == 498:  # 498: Groq flex-tier capacity exceeded
        return ErrorKind.SERVER
    if status == 413 and _PLAN_LIMIT_413.search(text):
        return ErrorKind.RATE_LIMITED
    if status == 400 and _AUTH_IN_400.search(text):
        return ErrorKind.AUTH
    if status == 413 or _CONTEXT_PATTERNS.search(text):
        return ErrorKind.CONTEXT_LENGTH
    return ErrorKind.BAD_RESPONSE


def error_from_response(
    provider: str, status: int, headers: Mapping[str, str], content: bytes | str | None, secrets: Iterable[str | None]
) -> ProviderError:
    """Map an HTTP error answer to a ProviderError carrying the provider's own message and any Retry-After."""
    body = decode_body(content)
    info = error_info(body)
    kind = classify_status(status, info)
    message = info.message or (f"HTTP {status} with an empty body" if body is None else str(body))
    if info.code and info.code not in message:
        message = f"{message} [{info.code}]"
    retry_after = parse_retry_after(headers, body) if kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER) else None
    return ProviderError(provider, kind, truncate(scrub(message, secrets)), status_code=status, retry_after=retry_after)


def error_from_exception(provider: str, exc: Exception, url: str, secrets: Iterable[str | None]) -> ProviderError:
    """Map an httpx transport failure; the message names the host only, never the URL's query or a key."""
    host = host_of(url)
    detail = truncate(scrub(str(exc), secrets), 120)
    suffix = f" ({detail})" if detail else ""
    if isinstance(exc, httpx.TimeoutException):
        what = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
        return ProviderError(provider, ErrorKind.TIMEOUT, f"timed out {what} {host}{suffix}")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(provider, ErrorKind.SERVER, f"cannot connect to {host}{suffix}")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return ProviderError(provider, ErrorKind.BAD_RESPONSE, f"invalid base URL for {host}{suffix}")
    if isinstance(exc, (httpx.TransportError, OSError)):
        return ProviderError(provider, ErrorKind.SERVER, f"connection to {host} failed{suffix}")
    return ProviderError(provider, ErrorKind.SERVER, f"request to {host} failed: {type(exc).__name__}{suffix}")


def bad_response(provider: str, message: str, secrets: Iterable[str | None] = ()) -> ProviderError:
    return ProviderError(provider, ErrorKind.BAD_RESPONSE, truncate(scrub(message, secrets)), status_code=200)


# --- Retry-After ---------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_GO_DURATION = re.compile(r"(?:try again|retry) (?:in|after) ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)(?![a-z])", re.I)
_WORD_DURATION = re.compile(
    r"(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?)\b",
    re.I,
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float:
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    if isinstance(headers, httpx.Headers):
        found = headers.get(name)
        return None if found is None else str(found)
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _retry_info(body: Any) -> float | None:
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, str) and _DURATION_PART.search(delay):
                return _duration(delay)
            if isinstance(delay, dict):
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
    return None


def _message_delay(body: Any) -> float | None:
    text = body if isinstance(body, str) else error_info(body).message
    match = _GO_DURATION.search(text)
    if match:
        return _duration(match.group(1))
    match = _WORD_DURATION.search(text)
    if match:
        unit = match.group(2).lower()
        scale = 0.001 if unit.startswith(("milli", "ms")) else 60.0 if unit.startswith("m") else 1.0
        scale = 3600.0 if unit.startswith("h") else scale
        return float(match.group(1)) * scale
    return None


def parse_retry_after(headers: Mapping[str, str] | None, body: Any = None) -> float | None:
    """Seconds the provider asks us to wait, or None.

    Sources, first found wins: `retry-after-ms`; `retry-after` as seconds or an HTTP date; Gemini's
    `error.details[]` RetryInfo `retryDelay` ("17s"); the message text, as Groq/OpenAI/Gemini write it
    ("Please try again in 1m2.5s", "in 450ms", "Please retry in 17.5s"); `x-ratelimit-reset-requests` /
    `x-ratelimit-reset-tokens`. `body` may be bytes, text or parsed JSON.
    """
    value = _header(headers, "retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                pass
    if isinstance(body, (bytes, str)):
        body = decode_body(body)
    delay = None
    if body is not None:
        delay = _retry_info(body)
        if delay is None:
            delay = _message_delay(body)
    if delay is None:
        delay = _reset_headers_delay(headers)
    return None if delay is None else max(0.0, delay)


def _reset_headers_delay(headers: Mapping[str, str] | None) -> float | None:
    """OpenAI's and Groq's `x-ratelimit-reset-requests` / `-tokens` ("1m2.5s", "6s", "250ms", "2h0m0s").

    The window that ran out (its `x-ratelimit-remaining-*` is 0) decides; when neither says, the longer wait.
    """
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        value = _header(headers, f"x-ratelimit-reset-{kind}")
        if value and _DURATION_PART.search(value.strip()):
            resets[kind] = _duration(value.strip())
        elif value:
            try:
                resets[kind] = float(value)
            except ValueError:
                pass
    if not resets:
        return None
    exhausted = [k for k in resets if (_header(headers, f"x-ratelimit-remaining-{k}") or "").strip() == "0"]
    return max(resets[k] for k in (exhausted or list(resets)))


# --- the common adapter ---------------------------------------------------------------------------------------

_SECRET_HEADER = re.compile(r"key|auth|token|secret", re.IGNORECASE)


class HTTPProvider(Provider):
    """POST JSON, map failures to ProviderError, iterate SSE payloads: what every wire-format family shares."""

    def __init__(
        self,
        name: str,
        *,
        api_key: str | None,
        base_url: str,
        model: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        headers: dict[str, str],
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = strip_base(base_url)
        self.timeout = timeout
        self._api_key = api_key or None
        self._headers = headers
        secret_values = [v for k, v in headers.items() if _SECRET_HEADER.search(k)]
        self._secrets: tuple[str, ...] = tuple(s for s in (self._api_key, *secret_values) if s)
        self._clients = LoopClients(timeout=make_timeout(timeout), transport=transport, headers=headers)
        self._urls: dict[str, httpx.URL] = {}  # parsed once: httpx re-parses a string URL on every request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    @property
    def has_key(self) -> bool:
        return self._api_key is not None

    async def aclose(self) -> None:
        await self._clients.aclose()

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _bad(self, message: str) -> ProviderError:
        return bad_response(self.name, message, self._secrets)

    def _load(self, content: bytes | str) -> Any:
        try:
            return json.loads(content)
        except ValueError:
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
            raise self._bad(f"malformed JSON in the answer: {truncate(text, 120)!r}") from None

    def _parsed(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) < 64:  # a few per provider (one per model for Gemini)
                self._urls[url] = parsed
        return parsed

    async def _post_json(self, url: str, body: dict[str, Any]) -> Any:
        client = await self._clients.get()
        try:
            response = await client.post(self._parsed(url), json=body)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise error_from_exception(self.name, exc, url, self._secrets) from None
        if not 200 <= response.status_code < 300:
            status, content = response.status_code, response.content
            raise error_from_response(self.name, status, response.headers, content, self._secrets)
        return self._load(response.content)

    async def _stream_json(self, url: str, body: dict[str, Any]) -> AsyncIterator[Any]:
        """Each parsed SSE payload until `[DONE]`. A server that ignores streaming and answers with plain JSON
        is accepted too: its object (or each item of its array) is yielded as it stands."""
        client = await self._clients.get()
        try:
            async with client.stream("POST", self._parsed(url), json=body) as response:
                if not 200 <= response.status_code < 300:
                    content = await response.aread()
                    raise error_from_response(self.name, response.status_code, response.headers, content, self._secrets)
                if is_json_response(response):
                    whole = self._load(await response.aread())
                    for item in whole if isinstance(whole, list) else [whole]:
                        yield item
                    return
                done = False
                async for data in sse_data(response):
                    # After [DONE] keep reading to the end of the body: a fully read response lets httpx put
                    # the connection back in the pool instead of closing it.
                    if done or not data.strip():
                        continue
                    if data.strip() == "[DONE]":
                        done = True
                        continue
                    yield self._load(data)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise error_from_exception(self.name, exc, url, self._secrets) from None

    def _stream_error(self, chunk: Any) -> ProviderError:
        """An error object sent inside a 200 stream (or body): classify it like an HTTP error of its code."""
        info = error_info(chunk)
        error = chunk.get("error") if isinstance(chunk, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        message = info.message or "error in the answer stream"
        kind = classify_status(status, info)
        retry_after = parse_retry_after(None, chunk) if kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER) else None
        message = truncate(self._scrub(message))
        return ProviderError(self.name, kind, message, status_code=status, retry_after=retry_after)


def token_count(value: Any) -> int | None:
    """A provider-reported count as int; None when absent or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
