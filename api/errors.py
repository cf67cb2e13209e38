"""One error shape for every refusal: ``{"code", "message", "fields": [{"field", "row", "reason"}]}``,
``message`` and ``reason`` in the language of ``Accept-Language`` (zh or en, from the same
catalogs the pages use)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ErrorOut
from core import i18n
from core.errors import (
    Busy,
    Conflict,
    FieldIssue,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    OMSError,
    PermissionDenied,
    StaleVersion,
    Unavailable,
    ValidationError,
)

DEFAULT_LANGUAGE = "en"
# What every route may answer besides its success, declared in the OpenAPI schema.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": what} for status, what in (
        (401, "no token, or an unknown or revoked one"), (403, "the role or the token's scopes do not allow it"),
        (404, "no such record or path"), (409, "the shop's state refuses it"),
        (422, "invalid body or query"),
        (411, "a body without a length"), (413, "the body is over the limit"),
        (429, "over the token's rate (Retry-After)"),
        (503, "the database is busy; nothing was saved, retry"))}
# Refusals that mean "who are you" rather than "you may not" or "not now".
UNAUTHENTICATED = frozenset({"api.token_missing", "api.token_invalid"})


class ApiError(Exception):
    """A refusal made by the HTTP layer itself (no token, too many requests, bad cursor…)."""

    def __init__(self, status: int, key: str, headers: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.params, self.headers = status, key, params, headers


def language(request: Request) -> str:
    """The best of zh/en in ``Accept-Language`` (by q-value, then order); English otherwise."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in i18n.LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def body(code: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or []}


def _reason(issue: FieldIssue, lang: str) -> str:
    return i18n.translate(issue.message, lang, **(issue.params or {}))


def status_of(exc: OMSError) -> int:
    if exc.key in UNAUTHENTICATED:
        return 401
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Busy | Unavailable):
        return 503
    if isinstance(exc, Conflict | StaleVersion | IllegalTransition | InsufficientStock):
        return 409
    return 409  # any other refusal: the request was understood, the shop's state says no


def oms_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OMSError)
    lang = language(request)
    fields: list[dict[str, Any]] = []
    if isinstance(exc, ValidationError):
        fields = [{"field": i.field, "row": i.row, "reason": _reason(i, lang)} for i in exc.issues]
    elif isinstance(exc, InsufficientStock):
        fields = [{"field": "lines", "row": None, "reason": i18n.translate(
            "error.shortage", lang, sku=s.sku, warehouse=s.warehouse, requested=s.requested, available=s.available)}
            for s in exc.shortages]
    message = i18n.translate(exc.key, lang, **exc.params)
    return JSONResponse(body(exc.key, message, fields), status_code=status_of(exc))


def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    message = i18n.translate(exc.key, language(request), **exc.params)
    return JSONResponse(body(exc.key, message), status_code=exc.status, headers=exc.headers)


def _field(loc: tuple[Any, ...]) -> tuple[str, int | None]:
    """``("body", "lines", 0, "qty")`` → ``("qty", 1)``: the rows are numbered from 1 as the
    services number order lines."""
    parts = [p for p in loc[1:] if isinstance(p, str)] or [str(p) for p in loc]
    rows = [p for p in loc if isinstance(p, int)]
    return (parts[-1] if parts else ""), (rows[0] + 1 if rows else None)


def request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = language(request)
    fields = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return JSONResponse(body("api.bad_request", i18n.translate("api.bad_request", lang)), status_code=422)
        field, row = _field(tuple(err.get("loc", ())))
        if err.get("type") == "extra_forbidden":
            reason = i18n.translate("api.unknown_field", lang)
        elif err.get("type") == "missing":
            reason = i18n.translate("issue.required", lang)
        else:
            reason = i18n.translate("api.bad_value", lang, detail=err.get("msg", ""))
        fields.append({"field": field, "row": row, "reason": reason})
    return JSONResponse(body("error.validation", i18n.translate("error.validation", lang), fields),
                        status_code=422)


def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals: no route (404), wrong method (405), and a body FastAPI could not
    decode (400, e.g. not UTF-8) — answered as 422 like malformed JSON, one status for one fault."""
    assert isinstance(exc, HTTPException)
    key = "api.not_found" if exc.status_code == 404 else "api.bad_request"
    status = 422 if exc.status_code == 400 else exc.status_code
    return JSONResponse(body(key, i18n.translate(key, language(request))), status_code=status,
                        headers=getattr(exc, "headers", None))


def unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(body("api.internal", i18n.translate("api.internal", language(request))), status_code=500)
