"""One typed settings registry for the SDK.

Each setting is declared once (:data:`PARAMS`): its field name, the environment variables that can
set it, its default, how a string is parsed, and a one-line doc. ``docs/configuration.md`` is
generated from the registry (``python -m tripod.config > docs/configuration.md``).

Precedence: keyword arguments to :func:`tripod.init` > environment (``OTEL_*``, ``TRIPOD_*``) >
``[tool.tripod]`` in the nearest ``pyproject.toml`` > defaults. Settings are read when ``init()``
is called, never at import time, so tests and users can change them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # not imported at run time: pathlib is not on the path of ``import tripod``
    from pathlib import Path

__all__ = ["PARAMS", "TOOL_SECTIONS", "ConfigError", "Param", "Settings", "load_settings"]


class ConfigError(ValueError):
    """A setting has a value tripod cannot use; the message names the setting and what to do."""


# --- parsers: each takes the raw value and returns the typed one or raises ValueError(reason) ---


def _str(raw: Any) -> str:
    if not isinstance(raw, str):
        msg = f"expected a string, got {type(raw).__name__}"
        raise ValueError(msg)
    return raw.strip()


def _opt_str(raw: Any) -> str | None:
    if raw is None:
        return None
    value = _str(raw)
    return value or None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    msg = "expected true or false"
    raise ValueError(msg)


def _float_range(lo: float, hi: float | None) -> Callable[[Any], float]:
    def parse(raw: Any) -> float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            msg = f"expected a number{f' between {lo:g} and {hi:g}' if hi is not None else ''}"
            raise ValueError(msg) from None
        if math.isnan(value) or value < lo or (hi is not None and value > hi):
            bound = f"between {lo:g} and {hi:g}" if hi is not None else f">= {lo:g}"
            msg = f"expected a number {bound}"
            raise ValueError(msg)
        return value

    return parse


def _int_range(lo: int, hi: int | None = None) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        try:
            value = int(str(raw).strip()) if not isinstance(raw, int) else raw
        except ValueError:
            msg = "expected a whole number"
            raise ValueError(msg) from None
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
            msg = f"expected a whole number {bound}"
            raise ValueError(msg)
        return value

    return parse


def _opt_port(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return _int_range(0, 65535)(raw)


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = _str(raw).lower()
        if value not in choices:
            msg = f"expected one of {', '.join(choices)}"
            raise ValueError(msg)
        return value

    return parse


def _key_values(raw: Any) -> dict[str, str]:
    """``k1=v1,k2=v2`` (W3C baggage-style, percent-decoded), as OTEL_RESOURCE_ATTRIBUTES uses."""
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for part in _str(raw).split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            msg = f"expected key=value pairs separated by commas, got {part.strip()!r}"
            raise ValueError(msg)
        out[unquote(key.strip())] = unquote(value.strip())
    return out


def _str_list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(x).strip() for x in raw if str(x).strip())
    return tuple(x.strip() for x in _str(raw).split(",") if x.strip())


def _buckets(raw: Any) -> tuple[float, ...]:
    items = raw if isinstance(raw, list | tuple) else _str(raw).split(",")
    try:
        values = tuple(float(x) for x in items if str(x).strip())
    except ValueError:
        msg = "expected comma-separated numbers, e.g. 0.005,0.01,0.1,1"
        raise ValueError(msg) from None
    if not values or list(values) != sorted(set(values)):
        msg = "expected strictly increasing bucket bounds"
        raise ValueError(msg)
    return values


def _endpoint(raw: Any) -> str | None:
    value = _opt_str(raw)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = "expected an http(s) URL such as http://127.0.0.1:4318"
        raise ValueError(msg)
    return value.rstrip("/")


class _Record:
    """Base of the registry's frozen records, :class:`Param` and :class:`Settings`.

    Both are dataclasses (``fields()``, ``replace()``, ``asdict()`` and frozen attributes work),
    but their ``__init__``, ``__repr__`` and ``__eq__`` are these generic ones, which read the
    fields: ``dataclasses`` would compile each from generated source when this module is
    imported, about half of the time of ``import tripod.config``.
    """

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = tuple(self.__dataclass_fields__)
        kind = type(self).__name__
        if len(args) > len(names):
            msg = f"{kind}() takes {len(names)} arguments but {len(args)} were given"
            raise TypeError(msg)
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.__dataclass_fields__ or key in values:
                msg = f"{kind}() got an unexpected or repeated argument {key!r}"
                raise TypeError(msg)
            values[key] = value
        missing = [name for name in names if name not in values]
        if missing:
            msg = f"{kind}() is missing {', '.join(map(repr, missing))}"
            raise TypeError(msg)
        for name in names:
            object.__setattr__(self, name, values[name])

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__dataclass_fields__)

    def __hash__(self) -> int:  # as a frozen dataclass's: a dict among the values raises
        return hash(tuple(getattr(self, name) for name in self.__dataclass_fields__))


@dataclasses.dataclass(frozen=True, init=False, repr=False, eq=False)
class Param(_Record):
    """One setting: where it comes from, its default, how it parses, what it means."""

    name: str
    env: tuple[str, ...]
    default: Any
    parse: Callable[[Any], Any]
    doc: str


# Default HTTP duration buckets: the OpenTelemetry HTTP semantic conventions' advice, in seconds.
DEFAULT_HTTP_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

PARAMS: tuple[Param, ...] = (
    Param("service_name", ("OTEL_SERVICE_NAME", "TRIPOD_SERVICE_NAME"), None, _opt_str,
          "`service.name` of the resource; falls back to OTEL_RESOURCE_ATTRIBUTES, then "
          "`unknown_service:<process>`."),
    Param("service_version", ("TRIPOD_SERVICE_VERSION",), None, _opt_str,
          "`service.version` of the resource."),
    Param("environment", ("TRIPOD_ENVIRONMENT",), None, _opt_str,
          "`deployment.environment.name` of the resource (prod, staging, dev...)."),
    Param("resource_attributes", ("OTEL_RESOURCE_ATTRIBUTES",), {}, _key_values,
          "Extra resource attributes, `key=value,key2=value2`."),
    Param("sdk_disabled", ("OTEL_SDK_DISABLED",), False, _bool,
          "Turn every signal off: init() installs nothing and all helpers become no-ops."),
    Param("traces_enabled", ("TRIPOD_TRACES_ENABLED",), True, _bool, "Record spans."),
    Param("metrics_enabled", ("TRIPOD_METRICS_ENABLED",), True, _bool, "Record metrics."),
    Param("logs_enabled", ("TRIPOD_LOGS_ENABLED",), True, _bool,
          "Configure JSON logging on the root logger."),
    Param("otlp_endpoint", ("OTEL_EXPORTER_OTLP_ENDPOINT", "TRIPOD_OTLP_ENDPOINT"),
          None, _endpoint,
          "Base URL of an OTLP receiver (`tripod serve`, a Collector); unset: no export."),
    Param("otlp_protocol", ("OTEL_EXPORTER_OTLP_PROTOCOL",), "http/protobuf",
          _choice("http/protobuf", "grpc"),
          "`http/protobuf`, or `grpc` with `tripod[grpc]` installed."),
    Param("otlp_headers", ("OTEL_EXPORTER_OTLP_HEADERS",), {}, _key_values,
          "Headers sent with every export, `key=value,...` (e.g. an auth token)."),
    Param("otlp_timeout", ("OTEL_EXPORTER_OTLP_TIMEOUT",), 10_000, _int_range(1),
          "Export request timeout in milliseconds."),
    Param("traces_sampler", ("OTEL_TRACES_SAMPLER",), "parentbased_always_on",
          _choice("always_on", "always_off", "traceidratio", "parentbased_always_on",
                  "parentbased_always_off", "parentbased_traceidratio"),
          "Sampler, as the OpenTelemetry specification names them."),
    Param("traces_sampler_arg", ("OTEL_TRACES_SAMPLER_ARG",), 1.0, _float_range(0.0, 1.0),
          "Ratio for the `*traceidratio` samplers, 0 to 1."),
    Param("log_level", ("TRIPOD_LOG_LEVEL",), "INFO",
          _choice("debug", "info", "warning", "error", "critical"),
          "Level of the root logger; change it at runtime with `tripod.set_log_level()`."),
    Param("log_format", ("TRIPOD_LOG_FORMAT",), "json", _choice("json", "console"),
          "`json` (one object per line) or `console` (human-readable, for development)."),
    Param("access_log", ("TRIPOD_ACCESS_LOG",), True, _bool,
          "Write one log line per HTTP request handled by an instrumented app."),
    Param("redact_keys", ("TRIPOD_REDACT_KEYS",), (), _str_list,
          "More field names to redact in logs, besides password/token/secret/authorization/"
          "cookie/api_key."),
    Param("correlation_header", ("TRIPOD_CORRELATION_HEADER",), "X-Correlation-ID", _str,
          "Header carrying the correlation id (X-Request-ID is accepted too)."),
    Param("metrics_path", ("TRIPOD_METRICS_PATH",), "/metrics", _str,
          "Path instrument() mounts the Prometheus endpoint on."),
    Param("metrics_port", ("TRIPOD_METRICS_PORT",), None, _opt_port,
          "Also serve /metrics on its own 127.0.0.1 port (for workers, non-HTTP apps)."),
    Param("http_buckets", ("TRIPOD_HTTP_BUCKETS",), DEFAULT_HTTP_BUCKETS, _buckets,
          "Bucket bounds (seconds) of `http_server_request_duration_seconds`."),
    Param("exemplars", ("TRIPOD_EXEMPLARS",), True, _bool,
          "Attach the trace id of sampled requests to histogram buckets (OpenMetrics)."),
    Param("export_queue_size", ("TRIPOD_EXPORT_QUEUE_SIZE",), 2048, _int_range(1),
          "Items each signal's export queue holds; when full, new items are dropped and counted."),
    Param("instrument_httpx", ("TRIPOD_INSTRUMENT_HTTPX",), True, _bool,
          "init() traces and measures outgoing httpx requests (if httpx is installed)."),
    Param("instrument_requests", ("TRIPOD_INSTRUMENT_REQUESTS",), True, _bool,
          "init() traces and measures outgoing requests calls (if requests is installed)."),
    Param("instrument_celery", ("TRIPOD_INSTRUMENT_CELERY",), True, _bool,
          "init() traces and measures Celery tasks, producer and worker (if celery is installed)."),
    Param("shutdown_timeout", ("TRIPOD_SHUTDOWN_TIMEOUT",), 5.0, _float_range(0.0, None),
          "Seconds shutdown() and interpreter exit may spend flushing telemetry."),
)  # fmt: skip

_BY_NAME = {p.name: p for p in PARAMS}


@dataclasses.dataclass(frozen=True, init=False, repr=False, eq=False)
class Settings(_Record):
    """The SDK's resolved configuration. Build it with :func:`load_settings`."""

    service_name: str
    service_version: str | None
    environment: str | None
    resource_attributes: dict[str, str]
    sdk_disabled: bool
    traces_enabled: bool
    metrics_enabled: bool
    logs_enabled: bool
    otlp_endpoint: str | None
    otlp_protocol: str
    otlp_headers: dict[str, str]
    otlp_timeout: int
    traces_sampler: str
    traces_sampler_arg: float
    log_level: str
    log_format: str
    access_log: bool
    redact_keys: tuple[str, ...]
    correlation_header: str
    metrics_path: str
    metrics_port: int | None
    http_buckets: tuple[float, ...]
    exemplars: bool
    export_queue_size: int
    instrument_httpx: bool
    instrument_requests: bool
    instrument_celery: bool
    shutdown_timeout: float


#: Sub-tables of ``[tool.tripod]`` read by tripod's tools, not by the SDK (``tripod generate``).
TOOL_SECTIONS = frozenset({"generate", "check"})


def _find_pyproject(start: str) -> str | None:
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _pyproject_values(path: str | None) -> tuple[dict[str, Any], str]:
    if path is None:
        return {}, ""
    import tomllib  # only when there is a pyproject.toml to read

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read [tool.tripod]: {exc}"
        raise ConfigError(msg) from None
    section = data.get("tool", {}).get("tripod", {})
    if not isinstance(section, dict):
        msg = f"{path}: [tool.tripod] must be a table"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name in TOOL_SECTIONS:
            continue
        if name not in _BY_NAME:
            hint = _did_you_mean(name, _BY_NAME)
            msg = f"{path}: [tool.tripod] has unknown key {key!r}{hint}"
            raise ConfigError(msg)
        values[name] = value
    return values, f"{path} [tool.tripod]"


def _did_you_mean(name: str, known: Mapping[str, Any]) -> str:
    import difflib  # only to suggest a name for a mistyped setting

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _parse(param: Param, raw: Any, source: str) -> Any:
    try:
        return param.parse(raw)
    except ValueError as exc:
        msg = f"{source}={raw!r} is not valid for {param.name}: {exc}"
        raise ConfigError(msg) from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    pyproject: Path | bool | None = True,
) -> Settings:
    """Resolve settings: ``overrides`` > ``environ`` > ``[tool.tripod]`` > defaults.

    ``pyproject=True`` looks for the nearest pyproject.toml from the working directory up;
    a path uses that file; ``False`` skips it. Raises :class:`ConfigError` naming the first
    invalid value and where it came from.
    """
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    for key in overrides:
        if key not in _BY_NAME:
            msg = f"tripod.init() got an unknown setting {key!r}{_did_you_mean(key, _BY_NAME)}"
            raise ConfigError(msg)
    if pyproject is True:
        file_values, file_source = _pyproject_values(_find_pyproject(os.getcwd()))
    elif isinstance(pyproject, os.PathLike):
        file_values, file_source = _pyproject_values(os.fspath(pyproject))
    else:
        file_values, file_source = {}, ""

    resolved: dict[str, Any] = {}
    for param in PARAMS:
        if param.name in overrides and overrides[param.name] is not None:
            resolved[param.name] = _parse(param, overrides[param.name], param.name)
            continue
        env_hit = next((var for var in param.env if env.get(var) not in (None, "")), None)
        if env_hit is not None:
            resolved[param.name] = _parse(param, env[env_hit], env_hit)
        elif param.name in file_values:
            resolved[param.name] = _parse(param, file_values[param.name], file_source)
        else:
            default = param.default
            resolved[param.name] = dict(default) if isinstance(default, dict) else default

    attrs: dict[str, str] = resolved["resource_attributes"]
    if resolved["service_name"] is None:
        resolved["service_name"] = attrs.get("service.name") or _unknown_service()
    if resolved["service_version"] is None:
        resolved["service_version"] = attrs.get("service.version")
    if resolved["environment"] is None:
        resolved["environment"] = attrs.get("deployment.environment.name") or attrs.get(
            "deployment.environment"
        )
    return Settings(**resolved)


def _unknown_service() -> str:
    exe = os.path.basename(sys.argv[0].rstrip("/")) if sys.argv and sys.argv[0] else "python"
    return f"unknown_service:{exe or 'python'}"


def reference_markdown() -> str:
    """The configuration reference, generated from :data:`PARAMS`."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `src/tripod/config.py` by `python -m tripod.config`; do not edit by hand.",
        "",
        "Precedence: arguments to `tripod.init()` > environment > `[tool.tripod]` in the nearest",
        "`pyproject.toml` (keys are the setting names) > default. An invalid value stops `init()`",
        "with one `tripod.ConfigError` naming the variable, the value and what is expected.",
        "",
        "| setting | environment | default | meaning |",
        "|---|---|---|---|",
    ]
    for p in PARAMS:
        default = p.default
        if isinstance(default, tuple):
            default = ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in default)
        shown = "—" if default in (None, {}, "") else f"`{default}`"
        envs = ", ".join(f"`{e}`" for e in p.env)
        lines.append(f"| `{p.name}` | {envs} | {shown} | {p.doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
