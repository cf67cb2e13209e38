"""The FastAPI application (``create_app``), served by ``oms api serve``.

Settings (environment): ``OMS_API_RATE`` requests per second per token (default 10) with
bursts of ``OMS_API_BURST`` (default 40); ``OMS_API_MAX_BODY`` bytes per request body
(default 1 MB).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from api import catalog, channel_stock, errors, orders, purchasing, returns, webhooks
from api.ratelimit import TokenBucket
from core.errors import OMSError
from core.i18n import translate

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def create_app(*, rate: float | None = None, burst: int | None = None, max_body: int | None = None) -> FastAPI:
    app = FastAPI(title="OMS API", version="1", description="Orders, stock and products of the shop (docs/api.md).")
    app.state.limiter = TokenBucket(rate or float(os.environ.get("OMS_API_RATE", "10")),
                                    burst or int(os.environ.get("OMS_API_BURST", "40")))
    limit = max_body or int(os.environ.get("OMS_API_MAX_BODY", str(1_000_000)))

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """A body must say its length (no chunked uploads) and stay under the limit; checked
        before anything is read."""
        if request.method in BODY_METHODS:
            length = request.headers.get("content-length")
            lang = errors.language(request)
            if length is None and request.headers.get("transfer-encoding"):
                return errors.JSONResponse(errors.body("api.body_too_large", translate(
                    "api.body_too_large", lang, limit=limit)), status_code=411)
            if length is not None and (not length.isdigit() or int(length) > limit):
                return errors.JSONResponse(errors.body("api.body_too_large", translate(
                    "api.body_too_large", lang, limit=limit)), status_code=413)
        return await call_next(request)

    app.add_exception_handler(OMSError, errors.oms_error)
    app.add_exception_handler(errors.ApiError, errors.api_error)
    app.add_exception_handler(RequestValidationError, errors.request_invalid)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(Exception, errors.unexpected)
    for router in (orders.router, catalog.router, returns.router, purchasing.router, webhooks.router,
                   channel_stock.router):
        app.include_router(router, responses=errors.RESPONSES)
    return app
