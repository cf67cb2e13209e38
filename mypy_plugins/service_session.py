"""mypy plugin: a service's optional ``session=`` keyword, checked like any other argument.

``core.db.unit_of_work`` / ``read_only`` turn ``fn(session, *a, **kw)`` into a
:class:`core.db.Service` that callers invoke as ``fn(*a, **kw)`` — or as
``fn(*a, session=outer, **kw)`` to join a transaction already open (an import creating many
orders, a backorder release confirming each order). PEP 612 forbids adding a keyword to a
ParamSpec (``*args: P.args, session: ..., **kwargs: P.kwargs`` is rejected), so pure annotations
can either hide ``session=`` (any value passes unchecked) or reject it. This hook adds
``session: Session | None = None`` to ``Service.__call__`` once the service's own parameters are
known, so ``session=1``, a misspelt keyword or a wrong positional argument are all errors.

Configured in ``pyproject.toml`` (``[tool.mypy] plugins``); not part of the installed package.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import ARG_NAMED_OPT, ARG_STAR2, TypeInfo
from mypy.plugin import MethodSigContext, Plugin
from mypy.types import CallableType, Instance, NoneType, Type, UnionType

SERVICE_CALL = "core.db.Service.__call__"
SESSION = "sqlalchemy.orm.session.Session"


def _with_session_keyword(sig: CallableType, session: Type) -> CallableType:
    """``sig`` with ``session: Session | None = None`` added before ``**kwargs`` (if any)."""
    at = sig.arg_kinds.index(ARG_STAR2) if ARG_STAR2 in sig.arg_kinds else len(sig.arg_kinds)
    return sig.copy_modified(
        arg_types=[*sig.arg_types[:at], session, *sig.arg_types[at:]],
        arg_kinds=[*sig.arg_kinds[:at], ARG_NAMED_OPT, *sig.arg_kinds[at:]],
        arg_names=[*sig.arg_names[:at], "session", *sig.arg_names[at:]],
    )


class ServiceSessionPlugin(Plugin):
    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], CallableType] | None:
        return self._service_call if fullname == SERVICE_CALL else None

    def _service_call(self, ctx: MethodSigContext) -> CallableType:
        sig = ctx.default_signature
        # Inside generic code P is still unbound (``*args: P.args, **kwargs: P.kwargs``): no
        # keyword may go between those, and there is no real service's call to check.
        if sig.param_spec() is not None or "session" in sig.arg_names:
            return sig
        node = self.lookup_fully_qualified(SESSION)
        assert node is not None and isinstance(node.node, TypeInfo), f"{SESSION} not analysed"
        return _with_session_keyword(sig, UnionType([Instance(node.node, []), NoneType()]))


def plugin(version: str) -> type[Plugin]:
    return ServiceSessionPlugin
