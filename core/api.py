"""The seed's REST usage API: two read-only endpoints over the usage tracker, behind a Bearer token.

Run it with `python -m core.api --host 127.0.0.1 --port 8000` and `CV_COPILOT_API_TOKEN` set (at least 32
characters). Without a token, or with a short one, the server refuses to start: usage data names users and spend,
so it is never served unauthenticated. There is no /docs page (its assets come from a CDN, which cannot work
offline); the OpenAPI schema is at /openapi.json, behind the same token.
"""

from __future__ import annotations

import argparse
import hmac
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.base import PROVIDER_NAMES

if TYPE_CHECKING:
    from core.usage_tracker import UsageTracker

#: Longest window accepted: ten years. Anything above is a typo, not a question.
MAX_HOURS = 24 * 365 * 10
TOKEN_ENV_VAR = "CV_COPILOT_API_TOKEN"
#: A guessable token would make the Bearer check decoration: 32 characters of token_urlsafe are 192 random bits.
MIN_TOKEN_LENGTH = 32
TOKEN_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
API_PREFIX = "/api/v1/ai"

_HOURS_HELP = (
    f"Window in hours, counted back from now: a number > 0 and ≤ {MAX_HOURS} (10 years). Decimals are allowed "
    "(0.5 = the last 30 minutes). Anything else gets 422 with a message."
)
_DESCRIPTION = f"""
Read-only usage statistics of CV Copilot's AI model router, as in the seed's phase-5 spec.

**Authentication**: every `{API_PREFIX}` endpoint needs `Authorization: Bearer <token>`, where the token is the
server's `{TOKEN_ENV_VAR}`. A missing or wrong token gets **401** with `WWW-Authenticate: Bearer`.

**Errors**: a bad `hours` value (not a number, NaN, infinite, ≤ 0 or > {MAX_HOURS}) gets **422** with a one-line
`detail`. An unknown provider gets **404**; its `detail` lists the known providers (the built-in ones:
{", ".join(PROVIDER_NAMES)}, plus any other name found in the usage database).
"""

#: Module level: with postponed annotations FastAPI resolves parameter types from module globals.
HoursParam = Annotated[
    float,
    Query(gt=0, le=MAX_HOURS, allow_inf_nan=False, description=_HOURS_HELP, examples=[24]),
]

_bearer = HTTPBearer(auto_error=False, description=f"The token in the server's {TOKEN_ENV_VAR}.")

_UNAUTHORIZED = {"description": "Missing or wrong Bearer token", "content": {"application/json": {}}}
_BAD_HOURS = {"description": "Bad `hours` value", "content": {"application/json": {}}}


def _round_hours(hours: float) -> int | float:
    """24.0 → 24, so `period_hours` reads as in the seed's example."""
    return int(hours) if float(hours).is_integer() else hours


_HOURS_REASONS = {
    "float_parsing": "it is not a number",
    "float_type": "it is not a number",
    "finite_number": "it is not a finite number",
    "greater_than": "it must be greater than 0",
    "less_than_equal": "it is too large",
    "missing": "it is missing",
}


def _validation_message(exc: RequestValidationError) -> str:
    """One readable line from pydantic's error list."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        given = error.get("input")
        if name == "hours":
            why = _HOURS_REASONS.get(str(error.get("type")), "it is not a valid number")
            parts.append(
                f"Invalid 'hours' value {given!r}: {why}; use a number of hours > 0 and ≤ {MAX_HOURS} (10 years)."
            )
        else:
            parts.append(f"Invalid {name!r}: {error.get('msg', 'invalid value')}.")
    return " ".join(parts) or "Invalid request."


class WeakTokenError(ValueError):
    """The configured Bearer token is too short to protect anything."""


def check_token(token: str) -> None:
    if len(token) < MIN_TOKEN_LENGTH:
        raise WeakTokenError(
            f"{TOKEN_ENV_VAR} is {len(token)} characters; it must be at least {MIN_TOKEN_LENGTH}. "
            f"Make one with: {TOKEN_COMMAND}"
        )


def create_app(tracker: UsageTracker | None = None, token: str | None = None) -> FastAPI:
    """The ASGI app. `tracker` defaults to the process tracker; `token` to the settings' CV_COPILOT_API_TOKEN.

    An app built without any token answers 401 to every data request: it can never serve data unauthenticated.
    A token shorter than MIN_TOKEN_LENGTH raises WeakTokenError.
    """
    expected = token if token is not None else _configured_token()
    if expected:
        check_token(expected)
    expected_bytes = expected.encode("utf-8") if expected else None

    app = FastAPI(
        title="CV Copilot usage API",
        version="1.0.0",
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind the token
    )

    def get_tracker() -> UsageTracker:
        if tracker is not None:
            return tracker
        from core.usage_tracker import get_usage_tracker

        return get_usage_tracker()

    async def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status_code=401,
                detail="Missing Bearer token: send 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode("utf-8")
        # compare_digest runs in time independent of where the strings differ; a dummy compare keeps the
        # no-token-configured branch indistinguishable by timing too.
        if expected_bytes is None:
            hmac.compare_digest(given, given)
            ok = False
        else:
            ok = hmac.compare_digest(given, expected_bytes)
        if not ok:
            raise HTTPException(
                status_code=401,
                detail="Invalid Bearer token.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.get("/openapi.json", dependencies=[Depends(require_token)], include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get(
        f"{API_PREFIX}/usage",
        dependencies=[Depends(require_token)],
        summary="Usage statistics over the last `hours`",
        responses={401: _UNAUTHORIZED, 422: _BAD_HOURS},
        tags=["usage"],
    )
    def usage(hours: HoursParam = 24) -> dict[str, Any]:
        """Requests, tokens and cost in the window, cost by provider and by task, and the all-time cost."""
        return get_tracker().get_usage_stats(hours=_round_hours(hours))

    @app.get(
        f"{API_PREFIX}/usage/provider/{{provider}}",
        dependencies=[Depends(require_token)],
        summary="Statistics of one provider over the last `hours`",
        responses={
            401: _UNAUTHORIZED,
            404: {
                "description": "Unknown provider; `detail` lists the known ones",
                "content": {"application/json": {}},
            },
            422: _BAD_HOURS,
        },
        tags=["usage"],
    )
    def provider_usage(
        provider: Annotated[str, Path(description="Provider name, e.g. openai, gemini, groq, grok, custom, local")],
        hours: HoursParam = 24,
    ) -> dict[str, Any]:
        """Requests, tokens, cost, average latency, cost by task and model, and errors by kind for one provider."""
        current = get_tracker()
        known = _known_providers(current)
        if provider not in known:
            raise HTTPException(
                status_code=404, detail=f"Unknown provider {provider!r}. Known providers: {', '.join(known)}."
            )
        return current.get_provider_stats(provider, hours=_round_hours(hours))

    return app


def _known_providers(tracker: UsageTracker) -> list[str]:
    """Built-in providers plus any name that appears in the database (e.g. rows from an older version)."""
    names = set(PROVIDER_NAMES)
    try:
        names.update(tracker.distinct_values("provider"))
    except (sqlite3.Error, OSError):  # the built-in list is still a correct answer
        pass
    return sorted(names)


def _configured_token() -> str | None:
    """The Bearer token from the settings (environment, .env, .streamlit/secrets.toml)."""
    from core.config import get_settings

    configured = get_settings().api_token
    return str(configured) if configured else None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m core.api`: serve the API with uvicorn; exit 2 with one line on stderr when no token is set."""
    parser = argparse.ArgumentParser(prog="python -m core.api", description="Serve CV Copilot's REST usage API.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)

    from core.config import ConfigError

    try:
        token = _configured_token()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not token:
        print(
            f"error: {TOKEN_ENV_VAR} is not set; refusing to serve usage data without a Bearer token "
            f"(set it, e.g. export {TOKEN_ENV_VAR}=$({TOKEN_COMMAND})).",
            file=sys.stderr,
        )
        return 2
    try:
        check_token(token)
    except WeakTokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"error: bad port {args.port}: it must be 0-65535", file=sys.stderr)
        return 2

    import uvicorn

    uvicorn.run(create_app(token=token), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
