"""Error answers of the live API: always JSON, never a traceback, never a 5xx from input.

- :class:`SafeJSONResponse` writes JSON that encodes whatever text a request carried
  (a lone surrogate is written as its backslash escape instead of failing);
- an :class:`~fastapi.HTTPException` or a request that does not follow the schema (422)
  is answered with :class:`SafeJSONResponse`;
- a :class:`~twin.live.errors.StoreError` (the database is down or refuses the call) is
  answered with 503 and ``Retry-After``, so clients retry instead of giving up;
- a request whose path or query holds a NUL or another control character is refused
  with 400 before it reaches a handler (no database stores such text).

:func:`install_error_handlers` puts them on an application.
"""

from __future__ import annotations

import json
import logging
import math
import re
import reprlib
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from twin.live.errors import StoreError

__all__ = [
    "STORE_RETRY_AFTER_S",
    "RefuseControlCharacters",
    "SafeJSONResponse",
    "install_error_handlers",
]

logger = logging.getLogger(__name__)

#: ``Retry-After`` of a 503 answered while the store is down [s].
STORE_RETRY_AFTER_S = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NO_BODY = (204, 304)
#: Short, depth-limited reprs of inputs echoed in 422 answers (a body may nest deeply).
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 120, 120, 40


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: lone surrogates become backslash escapes."""

    def render(self, content: Any) -> bytes:
        """UTF-8 JSON of ``content`` (compact; a NaN or infinity is written as text)."""
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError:
            text = json.dumps(_finite(content), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by its text (``"nan"``, ``"inf"``)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code in _NO_BODY or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=headers)
    return SafeJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _short(value: Any) -> Any:
    """An input echoed in a 422: itself when short text or a number, else a short repr."""
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, (bool, float)) or value is None:
        return value
    if isinstance(value, int):
        return value if value.bit_length() < 64 else f"(an integer of {value.bit_length()} bits)"
    try:
        return _REPR.repr(value)
    except ValueError:  # an integer too long to write, somewhere inside
        return f"({type(value).__name__})"


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        out: dict[str, Any] = {
            "type": str(err.get("type", "")),
            "loc": [p if isinstance(p, (int, str)) else str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
        }
        if "input" in err:
            out["input"] = _short(err["input"])
        if isinstance(err.get("ctx"), dict):
            out["ctx"] = {str(k): str(v)[:200] for k, v in err["ctx"].items()}
        errors.append(out)
    return SafeJSONResponse({"detail": errors}, status_code=422)


async def _store_down(request: Request, exc: Exception) -> Response:
    logger.warning("%s %s: store unavailable: %s", request.method, request.url.path, exc)
    return SafeJSONResponse(
        {
            "detail": "the store is unavailable (the database cannot be reached or refused "
            f"the call); retry in {STORE_RETRY_AFTER_S} s",
        },
        status_code=503,
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


class RefuseControlCharacters:
    """ASGI middleware: 400 for a request whose path or query holds a control character.

    Parameters
    ----------
    app
        The ASGI application it wraps.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on."""
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
            for what, raw in (("path", raw_path), ("query", scope.get("query_string", b""))):
                text = unquote(raw.decode("latin-1"), errors="replace")
                if _CONTROL.search(text):
                    response = SafeJSONResponse(
                        {"detail": f"the request's {what} holds a control character (e.g. "
                         "NUL); percent-encode only printable text"},
                        status_code=400,
                    )  # fmt: skip
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Put the handlers of the module docstring on ``app``."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreError, _store_down)
    app.add_middleware(RefuseControlCharacters)
