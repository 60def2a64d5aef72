// Trace search: the form (service, operation, duration range, status, attribute filters, time
// range) lives in the URL; results are paged on the server ("Load more" follows `next`); the
// scatter shows start time × duration with errors in red, and a click opens the trace.
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { promGet } from "../../lib/api";
import { formatDuration, formatTime, parseDuration, refreshTick, timeRange } from "../../lib/time";
import { href, navigate, paramList, place, setParams } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import { TimeRangePicker } from "../../components/TimeRangePicker";
import { serviceColor } from "./_lib/colors";

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_name: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ms: number;
  span_count: number;
  error_count: number;
  services: string[];
}

const PAGE = 50;
const FIELDS = ["service", "operation", "status", "min", "max"] as const;

function useNames(path: string, params: Record<string, string>): string[] {
  const names = useSignal<string[]>([]);
  const key = JSON.stringify(params);
  useEffect(() => {
    const abort = new AbortController();
    promGet<string[]>(path, params, { signal: abort.signal }).then(
      (n) => (names.value = n),
      () => (names.value = []),
    );
    return () => abort.abort();
  }, [path, key]);
  return names.value;
}

export function TraceSearch(): JSX.Element {
  const { range } = timeRange("now-1h", "now");
  const params = place.value.params;
  const attrs = paramList("attr").value;
  const draft = useSignal<Record<string, string>>({});
  const draftAttrs = useSignal<string>("");
  const traces = useSignal<TraceSummary[]>([]);
  const next = useSignal<string | null>(null);
  const loading = useSignal(false);
  const error = useSignal<unknown>(null);
  const formError = useSignal("");
  const picked = useSignal<string[]>([]);
  const pick = (id: string): void => {
    const now = picked.value.includes(id) ? picked.value.filter((x) => x !== id) : [...picked.value, id].slice(-2);
    picked.value = now;
  };
  const urlKey = FIELDS.map((f) => params.get(f) ?? "").join("|") + "|" + attrs.join("&");

  useEffect(() => {
    const d: Record<string, string> = {};
    for (const f of FIELDS) d[f] = params.get(f) ?? "";
    draft.value = d;
    draftAttrs.value = attrs.join(" ");
  }, [urlKey]);

  const query = (): Record<string, string> | null => {
    const r = range.value;
    if (!r) return null;
    const q: Record<string, string> = { start: String(r.start / 1000), end: String(r.end / 1000), limit: String(PAGE) };
    for (const f of ["service", "operation", "status"] as const) if (params.get(f)) q[f] = params.get(f)!;
    if (params.get("min")) q.min_duration = params.get("min")!;
    if (params.get("max")) q.max_duration = params.get("max")!;
    for (const a of attrs) {
      const eq = a.indexOf("=");
      if (eq > 0) q[`attr.${a.slice(0, eq)}`] = a.slice(eq + 1);
    }
    return q;
  };

  const load = (cursor: string | null, abort: AbortController): void => {
    const q = query();
    if (!q) {
      error.value = new Error("the time range is not valid");
      return;
    }
    if (cursor) q.cursor = cursor;
    loading.value = true;
    error.value = null;
    promGet<{ traces: TraceSummary[]; next: string | null }>("/api/v1/traces", q, { signal: abort.signal })
      .then((d) => {
        traces.value = cursor ? [...traces.value, ...d.traces] : d.traces;
        next.value = d.next;
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) error.value = e;
      })
      .finally(() => (loading.value = false));
  };

  useEffect(() => {
    const abort = new AbortController();
    traces.value = [];
    next.value = null;
    load(null, abort);
    return () => abort.abort();
  }, [urlKey, params.get("from"), params.get("to"), refreshTick.value]);

  const services = useNames("/api/v1/traces/services", {});
  const operations = useNames("/api/v1/traces/operations", draft.value.service ? { service: draft.value.service } : {});
  const set = (k: string, v: string): void => {
    draft.value = { ...draft.value, [k]: v };
  };

  const submit = (e: Event): void => {
    e.preventDefault();
    const d = draft.value;
    for (const k of ["min", "max"] as const) {
      if (d[k] && parseDuration(d[k]!) === null) {
        formError.value = `${k === "min" ? "Min" : "Max"} duration "${d[k]}" is not a duration such as 250ms, 1s, 2m`;
        return;
      }
    }
    const list = draftAttrs.value.split(/\s+/).filter(Boolean);
    const bad = list.find((a) => a.indexOf("=") <= 0);
    if (bad) {
      formError.value = `Attribute filter "${bad}" needs the form key=value`;
      return;
    }
    formError.value = "";
    setParams({ ...d, attr: list }, { push: true });
  };

  return (
    <section class="page traces-page">
      <h1>Traces</h1>
      <form class="trace-form card" onSubmit={submit} data-testid="trace-search-form">
        <label>
          Service
          <select data-testid="trace-service" value={draft.value.service ?? ""} onChange={(e) => set("service", e.currentTarget.value)}>
            <option value="">any</option>
            {services.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Operation
          <input
            list="trace-operations"
            data-testid="trace-operation"
            value={draft.value.operation ?? ""}
            placeholder="any"
            onInput={(e) => set("operation", e.currentTarget.value)}
          />
          <datalist id="trace-operations">
            {operations.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </label>
        <label>
          Status
          <select data-testid="trace-status" value={draft.value.status ?? ""} onChange={(e) => set("status", e.currentTarget.value)}>
            <option value="">any</option>
            <option value="error">error</option>
            <option value="ok">ok</option>
            <option value="unset">unset</option>
          </select>
        </label>
        <label>
          Min duration
          <input size={7} data-testid="trace-min" placeholder="e.g. 100ms" value={draft.value.min ?? ""} onInput={(e) => set("min", e.currentTarget.value)} />
        </label>
        <label>
          Max duration
          <input size={7} data-testid="trace-max" placeholder="e.g. 5s" value={draft.value.max ?? ""} onInput={(e) => set("max", e.currentTarget.value)} />
        </label>
        <label class="grow">
          Attributes (key=value, space separated)
          <input data-testid="trace-attrs" placeholder="http.route=/checkout" value={draftAttrs.value} onInput={(e) => (draftAttrs.value = e.currentTarget.value)} />
        </label>
        <div class="form-actions">
          <TimeRangePicker defaultFrom="now-1h" defaultTo="now" />
          <button class="primary" type="submit" data-testid="trace-search-submit">
            Search
          </button>
        </div>
      </form>
      {formError.value ? <p class="error-box" role="alert">{formError.value}</p> : null}
      {picked.value.length ? (
        <p class="toolbar">
          <span class="muted">{picked.value.length} of 2 traces picked to compare</span>
          <button
            type="button"
            data-testid="trace-compare"
            disabled={picked.value.length !== 2}
            onClick={() => navigate(href("/traces/compare", { a: picked.value[0] ?? "", b: picked.value[1] ?? "" }))}
          >
            Compare
          </button>
        </p>
      ) : null}
      {error.value ? <ErrorBox error={error.value} title="Search failed" /> : null}
      <Scatter traces={traces.value} />
      <TraceTable traces={traces.value} loading={loading.value} picked={picked.value} onPick={pick} />
      {next.value ? (
        <p>
          <button type="button" data-testid="trace-load-more" disabled={loading.value} onClick={() => load(next.value, new AbortController())}>
            Load more
          </button>
        </p>
      ) : null}
    </section>
  );
}

function TraceTable(props: { traces: TraceSummary[]; loading: boolean; picked: string[]; onPick: (id: string) => void }): JSX.Element {
  if (!props.traces.length) {
    return (
      <p class="empty" data-testid="trace-results-empty">
        {props.loading ? "Searching…" : "No traces match in this time range. Widen the range or remove a filter."}
      </p>
    );
  }
  return (
    <table class="grid trace-results" data-testid="trace-results">
      <thead>
        <tr>
          <th class="compare-pick">
            <span class="visually-hidden">compare</span>
          </th>
          <th>Start</th>
          <th>Trace</th>
          <th class="num">Duration</th>
          <th class="num">Spans</th>
          <th class="num">Errors</th>
          <th>Services</th>
        </tr>
      </thead>
      <tbody>
        {props.traces.map((t) => (
          <tr key={t.trace_id} data-testid="trace-result" data-trace-id={t.trace_id}>
            <td>
              <input
                type="checkbox"
                data-testid="trace-compare-pick"
                aria-label={`pick trace ${t.trace_id} to compare`}
                checked={props.picked.includes(t.trace_id)}
                onChange={() => props.onPick(t.trace_id)}
              />
            </td>
            <td class="mono">{formatTime(Number(BigInt(t.start_time_unix_nano) / 1_000_000n), { ms: true })}</td>
            <td>
              <a href={`/traces/${t.trace_id}`}>
                <strong>{t.root_service}</strong>: {t.root_name}
              </a>
            </td>
            <td class="num">{formatDuration(t.duration_ms)}</td>
            <td class="num">{t.span_count}</td>
            <td class="num">{t.error_count ? <span class="badge bad">{t.error_count}</span> : 0}</td>
            <td>
              {t.services.map((s) => (
                <span key={s} class="badge svc" style={{ borderColor: serviceColor(s) }}>
                  {s}
                </span>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Scatter(props: { traces: TraceSummary[] }): JSX.Element | null {
  const ts = props.traces;
  if (!ts.length) return null;
  const W = 1000;
  const H = 140;
  const pad = 6;
  const times = ts.map((t) => Number(BigInt(t.start_time_unix_nano) / 1_000_000n));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const dmax = Math.max(...ts.map((t) => t.duration_ms), 0.001);
  const x = (ms: number): number => pad + ((ms - t0) / Math.max(1, t1 - t0)) * (W - 2 * pad);
  const y = (d: number): number => H - pad - (d / dmax) * (H - 2 * pad);
  return (
    <figure class="scatter card" data-testid="trace-scatter">
      <figcaption>
        Duration × start time ({ts.length} traces; max {formatDuration(dmax)}; <span class="legend-error">●</span> with errors)
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="trace durations over time">
        {ts.map((t, i) => (
          <circle
            key={t.trace_id}
            data-testid="scatter-point"
            class={t.error_count ? "pt error" : "pt"}
            cx={x(times[i]!)}
            cy={y(t.duration_ms)}
            r={4}
            tabIndex={0}
            onClick={() => navigate(href(`/traces/${t.trace_id}`, {}))}
            onKeyDown={(e) => {
              if (e.key === "Enter") navigate(`/traces/${t.trace_id}`);
            }}
          >
            <title>
              {t.root_service}: {t.root_name} · {formatDuration(t.duration_ms)} · {formatTime(times[i]!)}
            </title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
