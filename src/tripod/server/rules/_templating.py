"""Rules' use of the Go-template renderer (:mod:`tripod.server.rules.template`): the load-time
check and the expander alerting rules call, with Prometheus's error text on failure."""

from __future__ import annotations

from tripod.server.rules._types import TemplateData
from tripod.server.rules.template import QuerySample, Template, TemplateError, compile_template
from tripod.server.rules.template import TemplateData as RenderData

__all__ = ["GoTemplateExpander", "check_template"]


def _name(alert_name: str) -> str:
    return "__alert_" + alert_name


def check_template(text: str, alert_name: str) -> str | None:
    """rulefmt's template test: None when the template compiles, else the reason."""
    try:
        compile_template(text, name=_name(alert_name))
    except TemplateError as exc:
        return str(exc)
    return None


class GoTemplateExpander:
    """Expands label and annotation templates, compiling each text once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Template | str] = {}

    def _compiled(self, text: str, alert_name: str) -> Template | str:
        key = (text, alert_name)
        found = self._cache.get(key)
        if found is None:
            try:
                found = compile_template(text, name=_name(alert_name))
            except TemplateError as exc:
                found = str(exc)
            self._cache[key] = found
        return found

    def __call__(self, text: str, data: TemplateData, alert_name: str) -> str:
        compiled = self._compiled(text, alert_name)
        if isinstance(compiled, str):
            return f"<error expanding template: {compiled}>"
        run = data.query

        def query(q: str) -> list[QuerySample]:
            if run is None:
                msg = "query is not available here"
                raise TemplateError(msg)
            return [QuerySample(labels, value) for labels, value in run(q, data.time_ms)]

        render = RenderData(
            labels=data.labels,
            value=data.value,
            external_labels=data.external_labels,
            external_url=data.external_url,
            query=query,
        )
        try:
            return compiled.render(render)
        except Exception as exc:  # a template must never break evaluation
            return f"<error expanding template: {exc}>"
