"""Who is calling: the bearer token becomes a :class:`core.services.api_tokens.Caller`
(an actor of the token's role narrowed to its scopes), then the caller's rate limit is taken."""

from __future__ import annotations

from fastapi import Request

from api.errors import ApiError
from api.ratelimit import TokenBucket, retry_seconds
from core.services.api_tokens import Caller, authenticate_token


def caller(request: Request) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "api.token_missing", headers={"WWW-Authenticate": "Bearer"})
    who = authenticate_token(token.strip())
    limiter: TokenBucket = request.app.state.limiter
    wait = limiter.take(who.token_id)
    if wait:
        seconds = retry_seconds(wait)
        raise ApiError(429, "api.rate_limited", headers={"Retry-After": str(seconds)}, seconds=seconds)
    return who
