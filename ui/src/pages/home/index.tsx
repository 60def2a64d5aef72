// Home: firing alerts on top, then every service with request rate, error ratio, p95 latency
// and a request-rate sparkline, linking to its dashboard, traces and logs.
// URL: /?from=now-1h&to=now&refresh=30s
import { useSignal, useSignalEffect } from "@preact/signals";
import type { JSX } from "preact";
import { ErrorBox } from "../../components/ErrorBox";
import { RefreshPicker } from "../../components/RefreshPicker";
import { Sparkline } from "../../components/Sparkline";
import { TimeRangePicker } from "../../components/TimeRangePicker";
import { promGet, queryInstant, queryRange, type QueryData } from "../../lib/api";
import { safeUrl } from "../../lib/markdown";
import { autoStep, formatDuration, formatTime, refreshTick, timeRange } from "../../lib/time";
import { href } from "../../lib/url";
import { ERRORS, METRIC, P95, RATE, RECORDED_ERRORS, RECORDED_P95, SERVICE_LABEL, serviceName } from "./queries";

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  value?: string;
}

/** A figure: a number, null (no data), or undefined (its call has not answered yet). */
type Figure = number | null | undefined;

interface Service {
  job: string;
  rate: Figure;
  errorRatio: Figure;
  p95: Figure;
  spark: Array<number | null>;
}

/** What has arrived for the current range; each call fills its part as it answers, so the
 * services show as soon as their names arrive (a fast label lookup) and the figures follow. */
interface Parts {
  jobs?: string[];
  spark?: QueryData;
  errors?: QueryData;
  p95?: QueryData;
  alerts?: Alert[];
  /** The range and step the spark was asked for. */
  start: number;
  end: number;
  step: number;
  pending: number;
  failures: Array<[string, unknown]>;
}

function byJob(data: QueryData): Map<string, number> {
  const out = new Map<string, number>();
  if (data.resultType === "vector") {
    for (const s of data.result) out.set(s.metric[SERVICE_LABEL] ?? "", Number(s.value[1]));
  }
  return out;
}

function sparks(data: QueryData, start: number, step: number, points: number): Map<string, Array<number | null>> {
  const out = new Map<string, Array<number | null>>();
  if (data.resultType !== "matrix") return out;
  for (const s of data.result) {
    const values: Array<number | null> = new Array(points).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t * 1000 - start) / step);
      if (i >= 0 && i < points) values[i] = Number(v);
    }
    out.set(s.metric[SERVICE_LABEL] ?? "", values);
  }
  return out;
}

/** Each series' sample at the range's end (within one step), as the instant query would give. */
function lastPoints(data: QueryData, end: number, step: number): Map<string, number> {
  const out = new Map<string, number>();
  if (data.resultType !== "matrix") return out;
  for (const s of data.result) {
    const last = s.values[s.values.length - 1];
    if (last && end - last[0] * 1000 < step) out.set(s.metric[SERVICE_LABEL] ?? "", Number(last[1]));
  }
  return out;
}

type Setter = (update: (p: Parts) => Parts) => void;

/** The recorded series when the generated rules produce it, else the query over raw series. */
async function preferRecorded(recorded: string, raw: string, at: number, init: RequestInit): Promise<QueryData> {
  const fast = await queryInstant(recorded, at, init);
  if (fast.resultType === "vector" && fast.result.length > 0) return fast;
  return queryInstant(raw, at, init);
}

/** Send Home's calls at once; each fills its part of the state when it answers. */
function load(range: { start: number; end: number }, signal: AbortSignal, set: Setter): void {
  const init = { signal };
  const step = autoStep(range, 60);
  const at = range.end / 1000;
  const calls: Array<[string, Promise<Partial<Parts>>]> = [
    ["services", promGet<string[]>(`/api/v1/label/${SERVICE_LABEL}/values`, { "match[]": `${METRIC}_count` }, init).then((jobs) => ({ jobs }))],
    // the rate as a range: the sparkline, and its last point is the current rate
    ["request rate", queryRange(RATE, range.start / 1000, range.end / 1000, step / 1000, init).then((spark) => ({ spark }))],
    ["error rate", preferRecorded(RECORDED_ERRORS, ERRORS, at, init).then((errors) => ({ errors }))],
    ["p95 latency", preferRecorded(RECORDED_P95, P95, at, init).then((p95) => ({ p95 }))],
    ["alerts", promGet<{ alerts: Alert[] }>("/api/v1/alerts", undefined, init).then((d) => ({ alerts: d.alerts }))],
  ];
  set((p) => ({ ...p, start: range.start, end: range.end, step, pending: calls.length, failures: [] }));
  for (const [what, call] of calls) {
    call.then(
      (part) => !signal.aborted && set((p) => ({ ...p, ...part, pending: p.pending - 1 })),
      (error: unknown) =>
        !signal.aborted && set((p) => ({ ...p, pending: p.pending - 1, failures: [...p.failures, [what, error]] })),
    );
  }
}

/** The services table's rows from what has arrived (undefined: still coming). */
function services(p: Parts): Service[] | null {
  if (p.jobs === undefined && p.spark === undefined) return null;
  const points = Math.floor((p.end - p.start) / p.step) + 1;
  const lines = p.spark ? sparks(p.spark, p.start, p.step, points) : new Map<string, Array<number | null>>();
  const rates = p.spark ? lastPoints(p.spark, p.end, p.step) : null;
  const errorRates = p.errors ? byJob(p.errors) : null;
  const p95s = p.p95 ? byJob(p.p95) : null;
  const names = new Set([...(p.jobs ?? []), ...(rates?.keys() ?? [])]);
  names.delete("");
  return [...names].sort().map((job) => {
    const rate = rates === null ? undefined : (rates.get(job) ?? null);
    let errorRatio: number | null | undefined;
    if (rate === undefined || errorRates === null) errorRatio = undefined;
    else if (rate === null) errorRatio = null;
    else errorRatio = rate > 0 ? (errorRates.get(job) ?? 0) / rate : 0;
    return {
      job,
      rate,
      errorRatio,
      p95: p95s === null ? undefined : (p95s.get(job) ?? null),
      spark: lines.get(job) ?? [],
    };
  });
}

function fmtRate(v: Figure): string {
  if (v === undefined) return "…";
  if (v === null || !Number.isFinite(v)) return "–";
  return v >= 100 ? `${Math.round(v)}/s` : v >= 1 ? `${v.toFixed(1)}/s` : `${v.toFixed(3)}/s`;
}

function fmtRatio(v: Figure): string {
  if (v === undefined) return "…";
  if (v === null || !Number.isFinite(v)) return "–";
  return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
}

function fmtLatency(v: Figure): string {
  if (v === undefined) return "…";
  return v === null || !Number.isFinite(v) ? "–" : formatDuration(v * 1000);
}

function AlertList(props: { alerts: Alert[] }): JSX.Element | null {
  const firing = props.alerts.filter((a) => a.state === "firing");
  const pending = props.alerts.filter((a) => a.state === "pending");
  if (!firing.length && !pending.length) return null;
  return (
    <section class="card home-alerts" aria-label="Active alerts">
      <h2>
        <a href="/alerts">Alerts</a>: {firing.length} firing{pending.length ? `, ${pending.length} pending` : ""}
      </h2>
      <ul>
        {[...firing, ...pending].slice(0, 20).map((a, i) => {
          const runbook = a.annotations.runbook_url ? safeUrl(a.annotations.runbook_url) : null;
          const job = a.labels.job ?? a.labels.service_name ?? a.labels.service;
          return (
            <li key={i}>
              <span class={`badge ${a.state === "firing" ? "bad" : "warn"}`}>{a.state}</span>{" "}
              <strong>{a.labels.alertname ?? "alert"}</strong>
              {a.labels.severity && <span class="muted"> · {a.labels.severity}</span>}
              {job && <span class="muted"> · {job}</span>}
              {a.activeAt && <span class="muted"> · since {formatTime(Date.parse(a.activeAt))}</span>}
              {a.annotations.summary && <div>{a.annotations.summary}</div>}
              {runbook && (
                <a href={runbook} target="_blank" rel="noopener noreferrer">
                  runbook
                </a>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function NoServices(): JSX.Element {
  const origin = window.location.origin;
  return (
    <div class="card home-empty">
      <h2>No services yet</h2>
      <p>
        Home lists every service that sent <code>{METRIC}</code>, the request histogram tripod's SDK records. Nothing
        has arrived yet. To send some:
      </p>
      <ul>
        <li>
          in your app: <code>pip install tripod</code>, then <code>tripod.init(service_name="shop")</code> and{" "}
          <code>OTEL_EXPORTER_OTLP_ENDPOINT={origin}</code>;
        </li>
        <li>
          or without code changes: <code>tripod run -- uvicorn app:app</code> with the same endpoint;
        </li>
        <li>
          or scrape an app's <code>/metrics</code>: <code>tripod serve --config</code> with <code>scrape_configs</code>;
        </li>
        <li>
          or watch the demo: <code>make demo</code>.
        </li>
      </ul>
      <p>
        Already sending other metrics? Look at them in <a href="/explore">Explore</a>.
      </p>
    </div>
  );
}

function ServiceTable(props: { services: Service[]; busy: boolean }): JSX.Element {
  return (
    <table class="grid home-services" aria-busy={props.busy}>
      <thead>
        <tr>
          <th>Service</th>
          <th class="num">Requests</th>
          <th class="num">Errors</th>
          <th class="num">p95</th>
          <th>Request rate</th>
          <th>Open</th>
        </tr>
      </thead>
      <tbody>
        {props.services.map((s) => {
          const name = serviceName(s.job);
          const bad = typeof s.errorRatio === "number" && s.errorRatio >= 0.05;
          return (
            <tr key={s.job}>
              <td>
                <a href={href("/dashboards/tripod-red", { "var-job": s.job })}>
                  <strong>{s.job}</strong>
                </a>
              </td>
              <td class="num">{fmtRate(s.rate)}</td>
              <td class={`num ${bad ? "bad-text" : ""}`}>{fmtRatio(s.errorRatio)}</td>
              <td class="num">{fmtLatency(s.p95)}</td>
              <td>
                <Sparkline values={s.spark} width={160} height={26} min={0} label={`request rate of ${s.job}`} />
              </td>
              <td class="home-links">
                <a href={href("/dashboards/tripod-red", { "var-job": s.job })}>dashboard</a>
                <a href={href("/traces", { service: name })}>traces</a>
                <a href={href("/logs", { service: name })}>logs</a>
                <a href={href("/explore", { q: `sum by (http_route) (rate(${METRIC}_count{job="${s.job}"}[5m]))` })}>
                  explore
                </a>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export default function Page(): JSX.Element {
  const { range } = timeRange();
  const parts = useSignal<Parts>({ start: 0, end: 0, step: 1, pending: 0, failures: [] });
  useSignalEffect(() => {
    const r = range.value;
    void refreshTick.value;
    if (!r) return undefined;
    const abort = new AbortController();
    // what is on screen stays until its new value arrives (no flicker on auto-refresh)
    load(r, abort.signal, (update) => (parts.value = update(parts.peek())));
    return () => abort.abort();
  });
  const p = parts.value;
  const rows = services(p);
  return (
    <section class="page home">
      <div class="toolbar">
        <h1 class="grow">Services</h1>
        <TimeRangePicker />
        <RefreshPicker />
      </div>
      {p.failures.map(([what, error]) => (
        <ErrorBox key={what} error={error} title={`Could not load the ${what}`} />
      ))}
      {p.alerts && <AlertList alerts={p.alerts} />}
      {rows === null ? (
        p.pending > 0 && <div class="empty">Loading…</div>
      ) : rows.length ? (
        <ServiceTable services={rows} busy={p.pending > 0} />
      ) : (
        p.jobs !== undefined && p.spark !== undefined && <NoServices />
      )}
    </section>
  );
}
