"""Expression classifiers shared by the Python scanner: unbounded label values, secrets in log
calls, the scale of an observed value. Each looks at one expression, never at the whole tree."""

from __future__ import annotations

import ast
import itertools
import re

#: Words that name a secret when they are a whole word of an identifier (snake or camel case).
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "authorization",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "passphrase",
        "jwt",
        "bearer",
    }
)
SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("client", "secret"),
        ("auth", "header"),
        ("session", "key"),
    }
)
#: A last word that makes the identifier describe the secret rather than hold it.
NOT_SECRET_TAIL = frozenset(
    {
        "count",
        "len",
        "length",
        "type",
        "name",
        "names",
        "url",
        "uri",
        "id",
        "ttl",
        "expiry",
        "expires",
        "present",
        "set",
        "ok",
        "valid",
        "file",
        "path",
        "env",
        "var",
        "field",
        "key_id",
        "prefix",
        "header_name",
        "required",
        "enabled",
        "hash",
        "hashed",
        "digest",
        "sha",
        "fingerprint",
        "masked",
        "redacted",
        "age",
        "timeout",
        "kind",
        "format",
        "source",
        "endpoint",
        "scope",
        "scopes",
    }
)
ID_WORDS = frozenset(
    {
        "user_id",
        "userid",
        "uid",
        "tenant_id",
        "tenantid",
        "customer_id",
        "account_id",
        "session_id",
        "request_id",
        "trace_id",
        "order_id",
        "email",
        "user_email",
        "username",
        "client_ip",
        "remote_addr",
        "ip_address",
        "device_id",
        "correlation_id",
        "span_id",
        "org_id",
    }
)
ID_OWNERS = frozenset({"user", "tenant", "customer", "account", "current_user", "session", "org"})
REQUEST_ROOTS = frozenset({"request", "req", "scope", "environ", "flask_request", "r"})
REQUEST_PARTS = frozenset(
    {
        "path",
        "full_path",
        "get_full_path",
        "path_info",
        "raw_path",
        "url",
        "base_url",
        "query_string",
        "query_params",
        "GET",
        "args",
        "uri",
        "get_raw_uri",
        "build_absolute_uri",
        "url_rule_path",
        "PATH_INFO",
        "QUERY_STRING",
        "REQUEST_URI",
        "RAW_URI",
        "remote_addr",
        "client",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(identifier: str) -> list[str]:
    return [w for w in _CAMEL.sub("_", identifier).lower().split("_") if w]


def is_secret_name(identifier: str) -> bool:
    ws = words(identifier)
    if not ws or ws[-1] in NOT_SECRET_TAIL or "_".join(ws[-2:]) in NOT_SECRET_TAIL:
        return False
    if any(w in SECRET_WORDS for w in ws):
        return True
    return any((a, b) in SECRET_PAIRS for a, b in itertools.pairwise(ws))


def chain(expr: ast.expr) -> list[str]:
    """``request.url.path`` -> [request, url, path]; calls and subscripts are looked through
    (``request.args.get('q')`` -> [request, args, get]); [] if the root is not a name."""
    parts: list[str] = []
    node: ast.expr = expr
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                parts.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            parts.reverse()
            return parts
        else:
            return []


def secret_in(expr: ast.expr) -> str | None:
    """The identifier through which ``expr`` carries a secret, if any."""
    if isinstance(expr, ast.JoinedStr):
        for part in expr.values:
            if isinstance(part, ast.FormattedValue):
                found = secret_in(part.value)
                if found:
                    return found
        return None
    if isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values, strict=True):
            named = isinstance(key, ast.Constant) and isinstance(key.value, str)
            if named and is_secret_name(str(key.value)) and not _is_literal(value):  # type: ignore[union-attr]
                return str(key.value)  # type: ignore[union-attr]
            found = secret_in(value)
            if found:
                return found
        return None
    if isinstance(expr, ast.Call):
        # len(token), hash(password), mask(secret) describe a secret without carrying it
        return None
    parts = chain(expr)
    if parts and is_secret_name(parts[-1]):
        return ".".join(parts)
    return None


def _is_literal(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant)


def unbounded(expr: ast.expr, exc_names: frozenset[str]) -> str | None:
    """Why a label value is unbounded, or None when it looks bounded."""
    if isinstance(expr, ast.JoinedStr):
        if any(isinstance(v, ast.FormattedValue) for v in expr.values):
            return "an f-string"
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Mod):
        return unbounded(expr.left, exc_names) or unbounded(expr.right, exc_names)
    if isinstance(expr, ast.Call):
        parts = chain(expr.func)
        if parts and parts[-1] in {"uuid4", "uuid1", "uuid3", "uuid5", "token_hex", "urandom"}:
            return "a random id (uuid)"
        if parts and parts[-1] in {"format_exc", "format_exception"}:
            return "a traceback"
        if parts in (["str"], ["repr"], ["format"]) and expr.args:
            inner = expr.args[0]
            if isinstance(inner, ast.Name) and inner.id in exc_names:
                return f"the exception message {parts[0]}({inner.id})"
            return unbounded(inner, exc_names)
        if parts and parts[-1] == "format" and isinstance(expr.func, ast.Attribute):
            return "a formatted string"
    if (
        isinstance(expr, ast.Attribute)
        and expr.attr in {"args", "message"}
        and isinstance(expr.value, ast.Name)
        and expr.value.id in exc_names
    ):
        return "the exception message"
    parts = chain(expr)
    if not parts:
        return None
    if parts[0] in REQUEST_ROOTS and any(p in REQUEST_PARTS for p in parts[1:]):
        return f"the request ({'.'.join(parts)})"
    last = parts[-1].lower()
    if last in ID_WORDS or (len(parts) >= 2 and last == "id" and parts[-2].lower() in ID_OWNERS):
        return f"a user or tenant id ({'.'.join(parts)})"
    if parts[0] in {"uuid"}:
        return "a random id (uuid)"
    return None


def scale(expr: ast.expr) -> str | None:
    """The unit conversion an observed value visibly applies."""
    if isinstance(expr, ast.BinOp):
        factor = _number(expr.right) or _number(expr.left)
        if isinstance(expr.op, ast.Div) and factor in (1000.0, 1e6, 1e9):
            return "div1000" if factor == 1000.0 else "div1e6+"
        if isinstance(expr.op, ast.Div) and factor in (1024.0, 1048576.0):
            return "div1024"
        if isinstance(expr.op, ast.Mult) and factor in (1000.0, 1e6, 1e9):
            return "mul1000"
        inner = scale(expr.left)
        if inner:
            return inner
    if isinstance(expr, ast.Call):
        parts = chain(expr.func)
        if parts and parts[-1] in {"time_ns", "perf_counter_ns", "monotonic_ns"}:
            return "ns"
        if parts in (["int"], ["float"], ["round"]) and expr.args:
            return scale(expr.args[0])
    if isinstance(expr, ast.Name):
        ws = words(expr.id)
        if ws and ws[-1] in {"ms", "millis", "milliseconds", "msec"}:
            return "ms"
        if ws and ws[-1] in {"ns", "nanos", "nanoseconds"}:
            return "ns"
    return None


def _number(expr: ast.expr) -> float | None:
    value = expr.value if isinstance(expr, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
