// One dashboard panel: its frame (title, state, errors), its queries, and the renderer of its
// type. data-testid="panel" with data-state = loading | data | nodata | error | unsupported.
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { interpolate, type VarValue } from "../pages/dashboards/lib/interpolate";
import type { PanelModel } from "../pages/dashboards/lib/layout";
import { href } from "../lib/url";
import { panelTime } from "../pages/dashboards/lib/interval";
import { runPanel, type PanelQuery, type PanelResult, type Target } from "../pages/dashboards/query";
import { BarGaugePanel, GaugePanel, reduceFrames, StatPanel } from "./StatPanels";
import { HeatmapPanel } from "./HeatmapPanel";
import { TablePanel } from "./TablePanel";
import { TextPanel } from "./TextPanel";
import { TimeSeriesPanel } from "./TimeSeriesPanel";
import { calc, fieldDefaults, options } from "./_util/options";

/** Grafana type → the renderer here (old names mapped to their successors). */
const KINDS: Record<string, string> = {
  timeseries: "timeseries", graph: "timeseries", stat: "stat", singlestat: "stat", gauge: "gauge",
  bargauge: "bargauge", table: "table", "table-old": "table", heatmap: "heatmap", text: "text",
};

export const SUPPORTED_TYPES = Object.keys(KINDS);

export interface PanelProps {
  panel: PanelModel;
  vars: ReadonlyMap<string, VarValue>;
  /** Unix ms. */
  from: number;
  to: number;
  /** Bumps on refresh (auto or manual). */
  tick: number;
  width: number;
  height: number;
  scrapeInterval?: string;
}

type State = "loading" | "data" | "nodata" | "error" | "unsupported";

function varsKey(vars: ReadonlyMap<string, VarValue>): string {
  return JSON.stringify([...vars.values()].map((v) => [v.name, v.values]));
}

export function Panel(props: PanelProps): JSX.Element {
  const p = props.panel;
  const type = typeof p.type === "string" ? p.type : "";
  const kind = KINDS[type];
  const title = interpolate(typeof p.title === "string" ? p.title : "", props.vars, {}, "text");
  const description = typeof p.description === "string" ? p.description : undefined;
  const targets = Array.isArray(p.targets) ? (p.targets as Target[]) : [];
  const needsData = kind !== undefined && kind !== "text";
  const [result, setResult] = useState<PanelResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [loading, setLoading] = useState(needsData);
  // the width sets max data points; a scrollbar coming or going must not query again
  const fetchedWidth = useRef(Math.max(100, Math.round(props.width)));
  if (Math.abs(props.width - fetchedWidth.current) > fetchedWidth.current / 4) fetchedWidth.current = Math.max(100, Math.round(props.width));
  const widthBucket = fetchedWidth.current;
  const own = panelTime(
    typeof p.timeFrom === "string" ? interpolate(p.timeFrom, props.vars) : null,
    typeof p.timeShift === "string" ? interpolate(p.timeShift, props.vars) : null,
    props.from,
    props.to,
    props.to,
  );
  // what the queries depend on; the panel object itself is rebuilt when variables resolve
  const queryShape = useMemo(() => JSON.stringify([p.targets, p.datasource, p.interval, p.maxDataPoints, p.type]), [p]);
  const key = needsData ? `${varsKey(props.vars)}|${own.from}|${own.to}|${props.tick}|${widthBucket}|${queryShape}` : "";

  useEffect(() => {
    if (!needsData || p.libraryPanel) return undefined;
    const abort = new AbortController();
    setLoading(true);
    const query: PanelQuery = {
      targets,
      datasource: p.datasource,
      interval: typeof p.interval === "string" ? p.interval : undefined,
      maxDataPoints: typeof p.maxDataPoints === "number" ? p.maxDataPoints : undefined,
    };
    runPanel(query, props.vars, own.from, own.to, widthBucket, abort.signal, {
      exemplars: kind === "timeseries",
      scrapeInterval: props.scrapeInterval,
    }).then(
      (r) => {
        if (abort.signal.aborted) return;
        setResult(r);
        setFailure(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setFailure(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [key]);

  const field = useMemo(() => fieldDefaults(p as Record<string, unknown>), [p]);
  const opts = options(p as Record<string, unknown>);
  const bodyHeight = Math.max(40, props.height - 30);

  let state: State;
  let body: JSX.Element | null = null;
  if (p.libraryPanel) {
    state = "unsupported";
    body = <div class="panel-unsupported">library panels are not supported: export the dashboard with the panel inlined</div>;
  } else if (kind === undefined) {
    state = "unsupported";
    body = <div class="panel-unsupported">panel type {JSON.stringify(type)} not supported</div>;
  } else if (kind === "text") {
    state = "data";
    const content = typeof opts.content === "string" ? opts.content : typeof p.content === "string" ? p.content : "";
    const mode = typeof opts.mode === "string" ? opts.mode : typeof p.mode === "string" ? p.mode : "markdown";
    body = <TextPanel content={interpolate(content, props.vars, {}, "text")} mode={mode} />;
  } else if (failure) {
    state = "error";
    body = (
      <div class="panel-error" role="alert" tabIndex={0}>
        {failure}
      </div>
    );
  } else if (!result) {
    state = "loading";
    body = <div class="empty">Loading…</div>;
  } else if (!result.frames.length) {
    state = result.errors.length ? "error" : "nodata";
    body = result.errors.length ? (
      <div class="panel-error" role="alert" tabIndex={0}>
        {result.errors.map((e, i) => (
          <div key={i}>{e}</div>
        ))}
      </div>
    ) : (
      <div class="panel-nodata">
        <p data-testid="nodata-reason">
          <strong>No data</strong>: {result.noData}
        </p>
      </div>
    );
  } else {
    state = "data";
    const f = result.frames;
    const legendOpt = (opts.legend ?? {}) as { showLegend?: boolean; displayMode?: string };
    const legend = legendOpt.showLegend !== false && legendOpt.displayMode !== "hidden" && (p.legend as { show?: boolean } | undefined)?.show !== false;
    switch (kind) {
      case "timeseries":
        body = <TimeSeriesPanel frames={f} exemplars={result.exemplars} unit={field.unit} decimals={field.decimals} height={bodyHeight} legend={legend} title={title} />;
        break;
      case "stat":
        body = (
          <StatPanel
            items={reduceFrames(f, calc(p as Record<string, unknown>), field)}
            sparkline={opts.graphMode === "area" || Boolean((p.sparkline as { show?: boolean } | undefined)?.show)}
            background={opts.colorMode === "background"}
            height={bodyHeight}
          />
        );
        break;
      case "gauge":
        body = <GaugePanel items={reduceFrames(f, calc(p as Record<string, unknown>), field)} field={field} />;
        break;
      case "bargauge":
        body = <BarGaugePanel items={reduceFrames(f, calc(p as Record<string, unknown>), field)} field={field} />;
        break;
      case "table":
        body = <TablePanel frames={f} refIds={result.refIds} unit={field.unit} decimals={field.decimals} height={bodyHeight} />;
        break;
      case "heatmap":
        body = f.some((x) => x.labels.le !== undefined) ? (
          <HeatmapPanel frames={f} cumulative={targets.some((t) => t.format === "heatmap")} unit={field.unit} height={bodyHeight} title={title} />
        ) : (
          <div class="panel-unsupported">heatmap needs Prometheus histogram buckets (series with an "le" label)</div>
        );
        break;
    }
  }
  const warnings = result && result.frames.length ? result.errors : [];
  return (
    <section
      class={`dpanel dpanel-${state}`}
      data-testid="panel"
      data-state={state}
      data-panel-type={type}
      data-panel-title={title}
      aria-label={title || type}
      aria-busy={loading && needsData}
    >
      <header class="dpanel-head">
        <h2 class="dpanel-title" title={description}>
          {title}
        </h2>
        {own.info && !p.hideTimeOverride && <span class="dpanel-time">{own.info}</span>}
        {loading && needsData && <span class="dpanel-spin" aria-hidden="true" />}
        {warnings.length > 0 && (
          <span class="badge warn" title={warnings.join("\n")}>
            {warnings.length} failed
          </span>
        )}
        {result && result.queries[0] && (
          <a
            class="dpanel-explore"
            href={href("/explore", { q: result.queries[0], from: String(Math.round(own.from)), to: String(Math.round(own.to)) })}
            title="Open the query in Explore"
            aria-label={`Open the query of ${title || type} in Explore`}
          >
            Explore
          </a>
        )}
        {result && result.dropped > 0 && (
          <span class="badge" title={`${result.dropped} more series are not drawn`}>
            +{result.dropped} series
          </span>
        )}
      </header>
      <div class="dpanel-body" style={{ height: `${bodyHeight}px` }}>
        {body}
      </div>
    </section>
  );
}
