"""``oms api serve [--ssl-certfile C --ssl-keyfile K]`` (the open API, docs/api.md; HTTPS with a certificate) and ``oms api token create|revoke|list``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import Refused
from core.permissions import ROLES, SCOPES, SYSTEM, scopes_for
from core.services import api_tokens


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise Refused("tls.pair_needed")
    for path in (args.ssl_certfile, args.ssl_keyfile):
        if path and not Path(path).is_file():
            raise Refused("tls.no_file", file=path)
    # By import string: core.commands sits below the entry points and must not import api/.
    uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port, log_level=args.log_level,
                ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    return 0


def _create(args: argparse.Namespace) -> int:
    new = api_tokens.create_token(args.name, args.role, args.scopes or scopes_for(args.role), SYSTEM)
    print(f"created token {new.info.name} ({new.info.role}; scopes {', '.join(new.info.scopes)})")
    print(f"token (shown once): {new.token}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    info = api_tokens.revoke_token(args.name, SYSTEM)
    print(f"revoked token {info.name}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for t in api_tokens.list_tokens(SYSTEM):
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        print(f"{t.name:<24} {t.prefix}…  {t.role:<10} {','.join(t.scopes):<40} {state:<24} last used {used}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = sub.add_parser("api", help="the open API: serve it, manage its tokens").add_subparsers(
        dest="api_command", required=True)
    p = api.add_parser("serve", help="serve the API (OpenAPI at /openapi.json, docs at /docs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info")
    p.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM; oms tls self-signed makes one)")
    p.add_argument("--ssl-keyfile", help="the certificate's private key (PEM)")
    p.set_defaults(func=_serve)
    tokens = api.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    p = tokens.add_parser("create", help="create a token for an integration (printed once)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--scopes", nargs="+", metavar="SCOPE",
                   help=f"of {', '.join(SCOPES)}; default: every scope the role can use")
    p.set_defaults(func=_create)
    p = tokens.add_parser("revoke", help="revoke a token by name")
    p.add_argument("name")
    p.set_defaults(func=_revoke)
    p = tokens.add_parser("list", help="list tokens (never the secrets)")
    p.set_defaults(func=_list)
