// The selected span: identity, timing, status, attributes, events, links, resource, and links
// to its logs. Fetched from /api/v1/traces/<id>/spans/<span_id> when selected.
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { promGet } from "../../lib/api";
import { formatDuration, formatTime } from "../../lib/time";
import { href } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import type { TraceModel } from "./_lib/model";

interface SpanJson {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ms: number;
  attributes: Record<string, unknown>;
  status: { code: string; message: string };
  events: Array<{ name: string; time_unix_nano: string; attributes: Record<string, unknown> }>;
  links: Array<{ trace_id: string; span_id: string; attributes?: Record<string, unknown> }>;
  resource: Record<string, unknown>;
  scope: Record<string, unknown>;
}

export function valueText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function KeyValues(props: { values: Record<string, unknown>; testid?: string }): JSX.Element {
  const entries = Object.entries(props.values);
  if (!entries.length) return <p class="muted">none</p>;
  return (
    <table class="grid kv" data-testid={props.testid}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th class="mono">{k}</th>
            <td class="mono">{valueText(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const nsToMs = (ns: string): number => Number(BigInt(ns) / 1000n) / 1000;

export function SpanDetails(props: { model: TraceModel; span: number; onClose: () => void }): JSX.Element {
  const m = props.model;
  const spanId = m.spanId(props.span);
  const traceId = m.data.traceId;
  const span = useSignal<SpanJson | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    span.value = null;
    error.value = null;
    promGet<SpanJson>(`/api/v1/traces/${traceId}/spans/${spanId}`, undefined, { signal: abort.signal }).then(
      (s) => (span.value = s),
      (e: unknown) => {
        if (!abort.signal.aborted) error.value = e;
      },
    );
    return () => abort.abort();
  }, [traceId, spanId]);
  const s = span.value;
  const startMs = m.startMs + m.start(props.span) / 1e6;
  return (
    <aside class="span-details card" data-testid="span-details" aria-label="span details">
      <div class="details-head">
        <h2>{m.name(props.span)}</h2>
        <button type="button" aria-label="close details" onClick={props.onClose}>
          ×
        </button>
      </div>
      <dl class="facts">
        <dt>service</dt>
        <dd>{m.service(props.span)}</dd>
        <dt>kind</dt>
        <dd>{m.kind(props.span)}</dd>
        <dt>start</dt>
        <dd>
          {formatTime(startMs, { ms: true, suffix: true })} (+{formatDuration(m.start(props.span) / 1e6)})
        </dd>
        <dt>duration</dt>
        <dd>{formatDuration(m.duration(props.span) / 1e6)}</dd>
        <dt>status</dt>
        <dd data-testid="span-status">
          <span class={m.status(props.span) === "error" ? "badge bad" : "badge"}>{m.status(props.span)}</span> {m.statusMessage(props.span)}
        </dd>
        <dt>span id</dt>
        <dd class="mono">{spanId}</dd>
      </dl>
      <p class="details-links">
        <a data-testid="span-logs-link" href={href("/logs", { trace_id: traceId, span_id: spanId })}>
          Logs for this span
        </a>
      </p>
      {error.value ? <ErrorBox error={error.value} title="Cannot load the span" /> : null}
      {s ? (
        <>
          <h3>Attributes</h3>
          <KeyValues values={s.attributes} testid="span-attributes" />
          <h3>Events ({s.events.length})</h3>
          {s.events.length ? (
            <ul class="events" data-testid="span-events">
              {s.events.map((ev, i) => (
                <li key={i}>
                  <span class="mono">+{formatDuration(nsToMs(ev.time_unix_nano) - startMs)}</span> <strong>{ev.name}</strong>
                  {Object.keys(ev.attributes ?? {}).length ? <KeyValues values={ev.attributes} /> : null}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">none</p>
          )}
          {s.links.length ? (
            <>
              <h3>Links</h3>
              <ul>
                {s.links.map((l, i) => (
                  <li key={i}>
                    <a href={href(`/traces/${l.trace_id}`, { span: l.span_id })} class="mono">
                      {l.trace_id}/{l.span_id}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <details>
            <summary>Resource</summary>
            <KeyValues values={s.resource} />
          </details>
          <details>
            <summary>Scope</summary>
            <KeyValues values={s.scope} />
          </details>
        </>
      ) : error.value ? null : (
        <p class="muted">Loading attributes…</p>
      )}
    </aside>
  );
}
