"""The service dashboard and Grafana's provisioning files.

Built with ``grafana-foundation-sdk`` (pinned in the ``codegen`` extra to its Grafana 11.6
build), never from hand-assembled strings. Conventions of grafana's dashboard linter: a stable
``uid``, tags, ``datasource``/``job``/``instance`` variables, ``$__rate_interval``, a unit and a
description on every panel, counters only inside ``rate``/``increase``.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from tripod.catalog import HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_DURATION
from tripod.codegen._model import SLO, Service
from tripod.codegen._red import BUCKET, COUNT, ERROR_STATUS
from tripod.codegen._slo import sli_error

GRAFANA_VERSION = "11.6"
DATASOURCE_UID = "prometheus"
DASHBOARD_DIR = "/var/lib/grafana/dashboards/tripod"
_DS = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")
_SEL = 'job="$job", instance=~"$instance"'
_RATE = "[$__rate_interval]"


def dashboard_uid(svc: Service) -> str:
    return f"tripod-{svc.service}"[:40]


def _query(expr: str, legend: str, ref: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(_DS).range()
    )


class _Grid:
    """Places panels left to right, 24 columns wide."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0

    def pos(self, w: int, h: int) -> dashboard.GridPos:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = dashboard.GridPos(h=h, w=w, x=self.x, y=self.y)
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos


def _series(
    grid: _Grid, title: str, description: str, unit: str, queries: list[prometheus.Dataquery]
) -> Builder[dashboard.Panel]:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(_DS)
        .grid_pos(grid.pos(12, 8))
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def _red_panels(svc: Service, grid: _Grid) -> list[Builder[dashboard.Panel]]:
    count = f"{COUNT}{{{_SEL}}}"
    errors = f'{COUNT}{{{_SEL}, http_response_status_code=~"{ERROR_STATUS}"}}'
    buckets = f"{BUCKET}{{{_SEL}}}"
    active = HTTP_SERVER_ACTIVE_REQUESTS.name
    panels: list[Builder[dashboard.Panel]] = [
        _series(
            grid,
            "Request rate",
            f"Requests per second by route, from {HTTP_SERVER_REQUEST_DURATION.name}.",
            "reqps",
            [_query(f"sum by (http_route) (rate({count}{_RATE}))", "{{http_route}}")],
        ),
        _series(
            grid,
            "Error ratio",
            f"Share of requests answered with a {ERROR_STATUS} status.",
            "percentunit",
            [
                _query(
                    f"sum(rate({errors}{_RATE})) / sum(rate({count}{_RATE}))",
                    "5xx ratio",
                )
            ],
        ),
        _series(
            grid,
            "Latency",
            "p50, p95 and p99 request duration, estimated from the histogram buckets.",
            "s",
            [
                _query(
                    f"histogram_quantile({q}, sum by (le) (rate({buckets}{_RATE})))",
                    f"p{round(q * 100)}",
                    ref,
                )
                for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
            ],
        ),
        heatmap.Panel()
        .title("Latency distribution")
        .description("Requests per duration bucket over time.")
        .unit("s")
        .datasource(_DS)
        .grid_pos(grid.pos(12, 8))
        .calculate(False)
        .with_target(
            _query(f"sum by (le) (increase({buckets}{_RATE}))", "{{le}}").format(
                PromQueryFormat.HEATMAP
            )
        ),
        table.Panel()
        .title("Top routes")
        .description("The ten busiest routes, requests per second over the selected range.")
        .unit("reqps")
        .datasource(_DS)
        .grid_pos(grid.pos(12, 8))
        .with_target(
            _query(f"topk(10, sum by (http_route) (rate({count}[$__range])))", "{{http_route}}")
            .instant()
            .format(PromQueryFormat.TABLE)
        ),
        _series(
            grid,
            "Status codes",
            "Requests per second by HTTP status code.",
            "reqps",
            [
                _query(
                    f"sum by (http_response_status_code) (rate({count}{_RATE}))",
                    "{{http_response_status_code}}",
                )
            ],
        ),
        _series(
            grid,
            "Requests in flight",
            "Requests being served right now, per instance (saturation).",
            "short",
            [_query(f"sum by (instance) ({active}{{{_SEL}}})", "{{instance}}")],
        ),
    ]
    return panels


def _slo_panels(svc: Service, slo: SLO, grid: _Grid) -> list[Builder[dashboard.Panel]]:
    sel = f'{{service="{svc.service}", slo="{slo.name}"}}'
    budget = f"slo:error_budget:ratio{sel}"
    return [
        stat.Panel()
        .title(f"SLO {slo.name}: error budget left")
        .description(f"{slo.description} Share of the 30-day error budget not yet spent.")
        .unit("percentunit")
        .datasource(_DS)
        .grid_pos(grid.pos(6, 8))
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(_query(f"slo:period_error_budget_remaining:ratio{sel}", slo.name)),
        _series(
            grid,
            f"SLO {slo.name}: burn rate",
            "Error ratio divided by the error budget: 1 spends the budget in exactly 30 days; "
            "pages fire above 14.4 (1h) and 6 (6h).",
            "short",
            [
                _query(
                    f"{sli_error(w)}{sel} / on (service, slo) group_left {budget}",
                    f"{w} burn rate",
                    ref,
                )
                for w, ref in (("5m", "A"), ("1h", "B"), ("6h", "C"), ("1d", "D"))
            ],
        ),
    ]


def dashboard_model(svc: Service) -> dict[str, Any]:
    grid = _Grid()
    board = (
        dash_b.Dashboard(f"{svc.service} service")
        .uid(dashboard_uid(svc))
        .description(
            f"RED, saturation and SLOs of {svc.service}. Generated by tripod generate "
            f"from {svc.source}; edit the description, not this dashboard."
        )
        .tags(sorted({"tripod", svc.service, svc.team}))
        .editable()
        .readonly()
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dash_b.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .with_variable(
            dash_b.QueryVariable("job")
            .label("Job")
            .datasource(_DS)
            .query(f"label_values({COUNT}, job)")
            .current(dashboard.VariableOption(text=svc.job, value=svc.job, selected=True))
            .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
        .with_variable(
            dash_b.QueryVariable("instance")
            .label("Instance")
            .datasource(_DS)
            .query(f'label_values({COUNT}{{job="$job"}}, instance)')
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    )
    for panel in _red_panels(svc, grid):
        board = board.with_panel(panel)
    for slo in svc.slos:
        for panel in _slo_panels(svc, slo, grid):
            board = board.with_panel(panel)
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return data


def grafana_files(svc: Service) -> dict[str, Any]:
    """Output path -> data: the dashboard JSON and the provisioning YAML."""
    return {
        f"grafana/dashboards/{svc.service}.json": dashboard_model(svc),
        "grafana/provisioning/datasources/tripod.yml": {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "type": "prometheus",
                    "uid": DATASOURCE_UID,
                    "access": "proxy",
                    "url": "http://prometheus:9090",
                    "isDefault": True,
                    "jsonData": {"timeInterval": svc.scrape_interval},
                },
                {
                    "name": "Tempo",
                    "type": "tempo",
                    "uid": "tempo",
                    "access": "proxy",
                    "url": "http://tempo:3200",
                },
                {
                    "name": "Loki",
                    "type": "loki",
                    "uid": "loki",
                    "access": "proxy",
                    "url": "http://loki:3100",
                },
            ],
        },
        "grafana/provisioning/dashboards/tripod.yml": {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "tripod",
                    "folder": svc.team,
                    "type": "file",
                    "disableDeletion": True,
                    "allowUiUpdates": False,
                    "options": {"path": DASHBOARD_DIR},
                }
            ],
        },
    }
