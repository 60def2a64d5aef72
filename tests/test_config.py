from __future__ import annotations

from pathlib import Path

import pytest

from tripod.config import PARAMS, ConfigError, load_settings, reference_markdown


def test_defaults() -> None:
    s = load_settings(environ={}, pyproject=False)
    assert s.service_name.startswith("unknown_service:")
    assert s.otlp_endpoint is None
    assert s.traces_sampler == "parentbased_always_on"
    assert s.traces_sampler_arg == 1.0
    assert s.http_buckets[0] == 0.005


def test_precedence_args_over_env_over_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.tripod]\nservice-name = "from-file"\nenvironment = "file-env"\nlog_level = "debug"\n'
    )
    env = {"OTEL_SERVICE_NAME": "from-env", "TRIPOD_ENVIRONMENT": "env-env"}
    s = load_settings({"service_name": "from-arg"}, environ=env, pyproject=pyproject)
    assert s.service_name == "from-arg"
    assert s.environment == "env-env"
    assert s.log_level == "debug"
    s = load_settings(environ=env, pyproject=pyproject)
    assert s.service_name == "from-env"
    s = load_settings(environ={}, pyproject=pyproject)
    assert s.service_name == "from-file"


def test_resource_attributes_fill_service_fields() -> None:
    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=cart,service.version=2.0,"
        "deployment.environment.name=stage,team=a%20b"
    }
    s = load_settings(environ=env, pyproject=False)
    assert (s.service_name, s.service_version, s.environment) == ("cart", "2.0", "stage")
    assert s.resource_attributes["team"] == "a b"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_SAMPLER_ARG": "abc"}, "OTEL_TRACES_SAMPLER_ARG='abc'"),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "between 0 and 1"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes'"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, "http(s) URL"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, "http/protobuf, grpc"),
        ({"OTEL_SDK_DISABLED": "maybe"}, "expected true or false"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, "key=value"),
        ({"TRIPOD_HTTP_BUCKETS": "1,0.5"}, "strictly increasing"),
        ({"TRIPOD_METRICS_PORT": "70000"}, "TRIPOD_METRICS_PORT"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, pyproject=False)
    assert named in str(info.value)


def test_unknown_keys_get_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'service_name'"):
        load_settings({"servce_name": "x"}, environ={}, pyproject=False)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.tripod]\nlog-levle = "info"\n')
    with pytest.raises(ConfigError, match="did you mean 'log_level'"):
        load_settings(environ={}, pyproject=pyproject)


def test_reference_doc_is_generated_and_current() -> None:
    text = reference_markdown()
    for param in PARAMS:
        assert f"`{param.name}`" in text
    doc = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert doc.read_text() == text, "regenerate: python -m tripod.config > docs/configuration.md"
