"""One ``ast`` pass over a Python module, filling :class:`ModuleFacts` (see ``_pyfacts``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from tripod.check._model import RULES, Finding
from tripod.check._pyfacts import EntryPoint, MetricDecl, ModuleFacts, ObserveSite
from tripod.check._pysources import chain, scale, secret_in, unbounded

_PROM_KINDS = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
    "Info": "info",
    "Enum": "enum",
}
_TRIPOD_KINDS = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}
_OTEL_KINDS = {
    "create_counter": "counter",
    "create_up_down_counter": "gauge",
    "create_histogram": "histogram",
    "create_gauge": "gauge",
    "create_observable_counter": "counter",
    "create_observable_gauge": "gauge",
    "create_observable_up_down_counter": "gauge",
}
RECORDING = frozenset(
    {
        "inc",
        "dec",
        "set",
        "observe",
        "time",
        "track_inprogress",
        "set_to_current_time",
        "set_function",
        "count_exceptions",
        "info",
        "state",
        "add",
        "record",
        "labels_inc",
    }
)
_INERT = frozenset({"labels", "remove", "clear", "describe", "collect", "_child_samples"})
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
_ROUTE_METHODS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "route",
        "api_route",
        "websocket",
        "trace",
    }
)
_ROUTE_CALLS = frozenset({"add_url_rule", "add_api_route", "add_route", "add_websocket_route"})
_INSTRUMENT_TEXT = (
    "tripod.sdk.integrations.django",
    "django_prometheus",
    "opentelemetry.instrumentation",
    "tripod.sdk.integrations",
)
_INSTRUMENT_CALLS = frozenset(
    {
        "tripod.init",
        "tripod.instrument",
        "tripod.sdk.init",
        "tripod.sdk.instrument",
        "tripod.sdk._setup.init",
        "tripod.sdk._setup.instrument",
    }
)
_INSTRUMENT_WORDS = (
    "Instrumentor",
    "Instrumentator",
    "PrometheusMetrics",
    "PrometheusMiddleware",
    "OpenTelemetryMiddleware",
    "TripodASGIMiddleware",
    "TripodWSGIMiddleware",
    "instrument_app",
    "setup_metrics",
)


def _const_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _str_seq(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(s for e in node.elts if (s := _const_str(e)) is not None)
    single = _const_str(node)
    return (single,) if single else ()


class Scanner(ast.NodeVisitor):
    """Collects the facts of one module; :func:`scan` is the entry point."""

    def __init__(self, facts: ModuleFacts, module: str, package: str) -> None:
        self.facts = facts
        self._names: set[str] = set()
        self._attrs: set[tuple[str | None, str]] = set()
        self.module = module
        self.package = package
        self.imports: dict[str, str] = {}
        self.consumed: set[int] = set()
        self.inert: set[int] = set()
        self.assigned: dict[int, str] = {}
        self.declared: set[int] = set()
        self.exc_names: frozenset[str] = frozenset()
        self.uses_celery = False

    # -- the walk: NodeVisitor's, with the method lookup done once and ``ctx`` skipped ----------
    def visit(self, node: ast.AST) -> None:
        method = _DISPATCH.get(type(node))
        if method is None:
            self.generic_visit(node)
        else:
            method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        dispatch, walk = _DISPATCH, self.generic_visit
        for field in _CHILD_FIELDS.get(node.__class__, ()):
            value = getattr(node, field, None)
            if value.__class__ is list:
                for item in value:
                    method = dispatch.get(item.__class__)
                    if method is None:
                        walk(item)  # None, str (Global.names) and nodes without children: no-ops
                    else:
                        method(self, item)
            elif value is not None:
                method = dispatch.get(value.__class__)
                if method is None:
                    walk(value)
                else:
                    method(self, value)

    # -- helpers -------------------------------------------------------------------------
    def _qualified(self, func: ast.expr) -> str:
        parts = chain(func) if isinstance(func, ast.Name | ast.Attribute) else []
        if not parts:
            return ""
        head = self.imports.get(parts[0], parts[0])
        return ".".join([head, *parts[1:]])

    def _add(self, rule: str, node: ast.AST, message: str) -> None:
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        r = RULES[rule]
        self.facts.findings.append(
            Finding(self.facts.path, line, col, rule, r.severity, message, r.hint)
        )

    # -- imports -------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.facts.imported.add(alias.name)
            local = alias.asname or alias.name.partition(".")[0]
            self.imports[local] = alias.name if alias.asname else local
            if alias.name.startswith("celery"):
                self.uses_celery = True
            if alias.name.startswith(_INSTRUMENT_TEXT[2]):
                self.facts.instrumented = True

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            anchor = self.package
            for _ in range(node.level - 1):
                anchor = anchor.rpartition(".")[0]
            module = f"{anchor}.{module}".strip(".") if module else anchor
        self.facts.imported.add(module)
        if module.startswith("celery"):
            self.uses_celery = True
        for alias in node.names:
            local = alias.asname or alias.name
            self.imports[local] = f"{module}.{alias.name}" if module else alias.name

    # -- declarations --------------------------------------------------------------------
    def _declaration(self, call: ast.Call, binding: str | None) -> bool:
        func = call.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if last in _OTEL_KINDS and isinstance(func, ast.Attribute):
            return self._declare(call, _OTEL_KINDS[last], binding, "otel")
        if isinstance(func, ast.Name) and last in self.imports:
            last = self.imports[last].rpartition(".")[2]  # Counter as PrometheusCounter
        if last not in _PROM_KINDS and last not in _TRIPOD_KINDS and last != "MetricSpec":
            return False
        qual = self._qualified(func)
        if last in _PROM_KINDS and qual.startswith("prometheus_client"):
            return self._declare(call, _PROM_KINDS[last], binding, "prometheus_client")
        if last in _TRIPOD_KINDS and qual.startswith("tripod"):
            return self._declare(call, _TRIPOD_KINDS[last], binding, "tripod")
        if last == "MetricSpec":
            kind = next((_const_str(k.value) for k in call.keywords if k.arg == "type"), None)
            return self._declare(call, kind or "untyped", binding, "spec")
        return False

    def _declare(self, call: ast.Call, kind: str, binding: str | None, source: str) -> bool:
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        args = call.args
        name_node = args[0] if args else kw.get("name")
        name = _const_str(name_node)
        if name is None:
            if isinstance(name_node, ast.JoinedStr) and name_node.values:
                prefix = _const_str(name_node.values[0])
                if prefix:
                    self.facts.dynamic_prefixes.append(prefix.replace(".", "_"))
            self.declared.add(id(call))
            return True
        help_node = args[1] if len(args) > 1 else kw.get("documentation", kw.get("help"))
        help_text = _const_str(help_node)
        if help_text is None and help_node is None and source == "otel":
            help_text = _const_str(kw.get("description")) or ""
        labels_node = args[2] if len(args) > 2 else kw.get("labelnames", kw.get("labels"))
        if source == "prometheus_client":
            parts = [_const_str(kw.get("namespace")) or "", _const_str(kw.get("subsystem")) or ""]
            name = "_".join(p for p in [*parts, name] if p)
        unit = _const_str(kw.get("unit")) if source != "otel" else None
        if unit and not name.endswith("_" + unit):
            name = f"{name}_{unit}"
        if kind == "counter" and name.endswith("_total") and source != "spec":
            name = name[: -len("_total")]
        if source == "otel":
            name = name.replace(".", "_").replace("-", "_")
        self.facts.decls.append(
            MetricDecl(
                name,
                kind,
                help_text,
                _str_seq(labels_node),
                self.facts.path,
                call.lineno,
                call.col_offset + 1,
                binding,
                source,
            )
        )
        self.declared.add(id(call))
        return True

    def _binding(self, target: ast.expr) -> str | None:
        if isinstance(target, ast.Name):
            return f"{self.module}.{target.id}"
        if isinstance(target, ast.Attribute):
            return f"*.{target.attr}"
        return None

    def key(self, node: ast.Name | ast.Attribute) -> str:
        """The project-wide identity of a name: ``pkg.mod.NAME`` when the scanner can tell
        where it lives, ``*.NAME`` for an attribute of an object it cannot follow."""
        if isinstance(node, ast.Name):
            return self.imports.get(node.id) or f"{self.module}.{node.id}"
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.imports:
            return f"{self.imports[value.id]}.{node.attr}"
        return f"*.{node.attr}"

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call) and len(node.targets) == 1:
            binding = self._binding(node.targets[0])
            if not self._declaration(node.value, binding) and binding:
                self.assigned[id(node.value)] = binding
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.value, ast.Call):
            binding = self._binding(node.target)
            if not self._declaration(node.value, binding) and binding:
                self.assigned[id(node.value)] = binding
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        self.inert.add(id(node.value))
        self.generic_visit(node)

    # -- uses ----------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if type(node.ctx) is ast.Load and id(node) not in self.consumed:
            self._names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if type(node.ctx) is ast.Load and id(node) not in self.consumed:
            self._attrs.add((value.id if type(value) is ast.Name else None, node.attr))
        self.visit(value)

    def finish(self) -> None:
        """Resolve the names used in ways the scanner cannot follow, once per distinct name."""
        imports, module = self.imports, self.module
        escaped = self.facts.escaped
        escaped.update(imports.get(n) or f"{module}.{n}" for n in self._names)
        for owner, attr in self._attrs:
            holder = imports.get(owner) if owner else None
            escaped.add(f"{holder}.{attr}" if holder else f"*.{attr}")

    def _method_chain(self, node: ast.Call) -> None:
        methods: list[str] = []
        cur: ast.expr = node
        inner: list[ast.Call] = []
        while isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
            methods.append(cur.func.attr)
            if cur is not node:
                inner.append(cur)
            cur = cur.func.value
        if not methods or not isinstance(cur, ast.Name | ast.Attribute):
            return
        root = self.key(cur)
        self.consumed.add(id(cur))
        for call in inner:
            self.consumed.add(id(call))
        if any(m in RECORDING for m in methods):
            self.facts.recorded.add(root)
            observing = "observe" in methods or methods[0] in {"set", "record"}
            if observing and node.args and (how := scale(node.args[0])):
                site = ObserveSite(root, how, self.facts.path, node.lineno, node.col_offset + 1)
                self.facts.observes.append(site)
        elif id(node) in self.assigned:
            self.facts.aliases[self.assigned[id(node)]] = root
        elif not (id(node) in self.inert and all(m in _INERT for m in methods)):
            self.facts.escaped.add(root)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        fresh = id(node) not in self.consumed and id(node) not in self.declared
        if fresh and not self._declaration(node, None):
            self._method_chain(node)
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr == "labels":
                self._labels(node)
            elif attr in {"add", "record"} and len(node.args) > 1:
                self._otel_attributes(node.args[1])
            elif attr in _LOG_METHODS:
                self._log_call(node, func)
            elif attr in _ROUTE_CALLS and node.args and (p := _const_str(node.args[0])):
                self._entry("route", p, node)
        qual = self._qualified(func)
        if qual:
            self._instrumentation(qual)
            tail = qual.rpartition(".")[2]
            if (tail in {"Route", "WebSocketRoute"} and qual.startswith("starlette")) or (
                tail in {"path", "re_path", "url"} and qual.startswith("django")
            ):
                self._route_arg(node)
        self.generic_visit(node)

    def _instrumentation(self, qual: str) -> None:
        if qual in _INSTRUMENT_CALLS or _INSTRUMENT_RE.search(qual):
            self.facts.instrumented = True

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.startswith(_INSTRUMENT_TEXT[:2]):
            self.facts.instrumented = True

    # -- routes and tasks -----------------------------------------------------------------
    def _entry(self, kind: str, what: str, node: ast.AST) -> None:
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        self.facts.entries.append(EntryPoint(kind, what, self.facts.path, line, col))

    def _route_arg(self, node: ast.Call) -> None:
        target = node.args[0] if node.args else None
        text = _const_str(target)
        if text is not None:
            self._entry("route", "/" + text.lstrip("^/"), node)

    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            func = call.func if call else dec
            if isinstance(func, ast.Attribute) and func.attr in _ROUTE_METHODS and call:
                path = (
                    _const_str(call.args[0])
                    if call.args
                    else _const_str(next((k.value for k in call.keywords if k.arg == "path"), None))
                )
                if path is None and func.attr == "route" and call.args:
                    path = "/" + ast.unparse(call.args[0])  # Flask's route(variable): a route
                if path is not None and (path.startswith("/") or path == ""):
                    verb = func.attr.upper()
                    if func.attr in {"route", "api_route"}:
                        methods = next((k.value for k in call.keywords if k.arg == "methods"), None)
                        verb = "/".join(_str_seq(methods)) or "GET"
                    self._entry("route", f"{verb} {path or '/'}", dec)
                    continue
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "shared_task" or (name == "task" and self.uses_celery):
                self._entry("task", node.name, dec)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._decorators(node)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._decorators(node)
        self.generic_visit(node)

    # -- labels, logs, exceptions ---------------------------------------------------------
    def _labels(self, node: ast.Call) -> None:
        values = list(node.args) + [k.value for k in node.keywords if k.arg]
        for value in values:
            why = unbounded(value, self.exc_names)
            if why:
                self._add("cardinality", value, f"label value comes from {why}")
        for kw in node.keywords:
            if kw.arg is None and not isinstance(kw.value, ast.Dict):
                self._add("cardinality-kwargs", kw.value, "labels passed as **kwargs")

    def _otel_attributes(self, attrs: ast.expr) -> None:
        if isinstance(attrs, ast.Dict):
            for value in attrs.values:
                why = unbounded(value, self.exc_names)
                if why:
                    self._add("cardinality", value, f"attribute value comes from {why}")

    def _log_call(self, node: ast.Call, func: ast.Attribute) -> None:
        parts = chain(func.value)
        if not parts or not any("log" in p.lower() for p in parts):
            return
        message = (
            node.args[1]
            if func.attr == "log" and len(node.args) > 1
            else (node.args[0] if node.args else None)
        )
        if isinstance(message, ast.JoinedStr):
            self._add("log-fstring", message, f"f-string passed to {'.'.join(parts)}.{func.attr}")
        for value in [*node.args, *(k.value for k in node.keywords)]:
            found = secret_in(value)
            if found:
                self._add("log-secret", value, f"{found} is passed to a log call")
                return
        for kw in node.keywords:
            if kw.arg and secret_in(ast.Name(id=kw.arg)) and not isinstance(kw.value, ast.Constant):
                self._add("log-secret", kw.value, f"field {kw.arg}= is passed to a log call")
                return

    def visit_Try(self, node: ast.Try) -> None:
        for handler in node.handlers:
            self._handler(handler)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        saved = self.exc_names
        if node.name:
            self.exc_names = saved | {node.name}
        self.generic_visit(node)
        self.exc_names = saved

    def _handler(self, handler: ast.ExceptHandler) -> None:
        broad = handler.type is None or (
            isinstance(handler.type, ast.Name) and handler.type.id in {"Exception", "BaseException"}
        )
        body = handler.body
        silent = all(
            isinstance(s, ast.Pass | ast.Continue)
            or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            for s in body
        )
        if broad and silent:
            what = "bare except" if handler.type is None else f"except {ast.unparse(handler.type)}"
            self._add("swallowed-exception", handler, f"{what} swallows the error silently")


_DISPATCH: dict[type, Callable[[Scanner, Any], None]] = {
    cls: getattr(Scanner, f"visit_{cls.__name__}")
    for cls in vars(ast).values()
    if isinstance(cls, type)
    and issubclass(cls, ast.AST)
    and hasattr(Scanner, f"visit_{cls.__name__}")
    and cls.__name__ not in {"AST"}
}
#: Fields that may hold child nodes worth visiting (operators and contexts never are).
_SCALAR_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind", "id", "attr", "arg",
                            "level", "module", "is_async", "conversion", "simple", "name",
                            "asname", "tag"})  # fmt: skip
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f for f in cls._fields if f not in _SCALAR_FIELDS)
    for cls in vars(ast).values()
    if isinstance(cls, type) and issubclass(cls, ast.AST) and cls._fields
}
_INSTRUMENT_RE = re.compile("|".join(re.escape(w) for w in _INSTRUMENT_WORDS))


def scan(path: str, source: str, module: str = "__main__", package: str = "") -> ModuleFacts:
    """Facts of one module (``module``: its dotted name); a file that does not parse yields no
    facts (Python reports it)."""
    facts = ModuleFacts(path, lines=source.count("\n") + 1)
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return facts
    scanner = Scanner(facts, module, package)
    scanner.visit(tree)
    scanner.finish()
    return facts
