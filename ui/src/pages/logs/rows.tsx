// One log record as a row: time, level, service, body, links to its trace and span; a click
// expands its fields (attributes, a JSON body as fields, resource, ids).
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { formatTime } from "../../lib/time";
import { href } from "../../lib/url";

export interface LogRecord {
  id: string;
  time_unix_nano: string;
  observed_time_unix_nano: string;
  service: string;
  severity_number: number;
  severity_text: string;
  level: string;
  body: unknown;
  trace_id: string;
  span_id: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: Record<string, unknown>;
}

const LEVEL_CLASS: Record<string, string> = { error: "bad", fatal: "bad", warn: "warn", info: "ok" };

export function timeMs(r: LogRecord): number {
  const ns = r.time_unix_nano !== "0" ? r.time_unix_nano : r.observed_time_unix_nano;
  return Number(BigInt(ns) / 1_000_000n);
}

function bodyText(body: unknown): string {
  return typeof body === "string" ? body : JSON.stringify(body);
}

/** The body's fields when it is (or holds) a JSON object; else null. */
function bodyFields(body: unknown): Record<string, unknown> | null {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  if (typeof body === "string" && body.trimStart().startsWith("{")) {
    try {
      const v: unknown = JSON.parse(body);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  return null;
}

function Fields(props: { title: string; values: Record<string, unknown>; testid?: string }): JSX.Element | null {
  const entries = Object.entries(props.values);
  if (!entries.length) return null;
  return (
    <div class="log-fields" data-testid={props.testid}>
      <h4>{props.title}</h4>
      <table class="grid kv">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th class="mono">{k}</th>
              <td class="mono">{typeof v === "string" ? v : JSON.stringify(v, null, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LogRow(props: { record: LogRecord }): JSX.Element {
  const r = props.record;
  const open = useSignal(false);
  const fields = open.value ? bodyFields(r.body) : null;
  return (
    <li class={`log-row level-${r.level}`} data-testid="log-row" data-log-id={r.id} data-trace-id={r.trace_id || undefined} data-span-id={r.span_id || undefined}>
      <div class="log-line">
        <button type="button" class="log-expand" aria-expanded={open.value} aria-label={open.value ? "hide fields" : "show fields"} data-testid="log-expand" onClick={() => (open.value = !open.value)}>
          {open.value ? "▾" : "▸"}
        </button>
        <span class="log-time mono">{formatTime(timeMs(r), { ms: true })}</span>
        <span class={`badge log-level ${LEVEL_CLASS[r.level] ?? ""}`}>{r.level}</span>
        <span class="log-service">{r.service}</span>
        <span class="log-body mono">{bodyText(r.body)}</span>
        {r.trace_id ? (
          <a class="log-trace" data-testid="log-trace-link" href={href(`/traces/${r.trace_id}`, { span: r.span_id || null })} title={`trace ${r.trace_id}`}>
            trace
          </a>
        ) : null}
      </div>
      {open.value ? (
        <div class="log-details" data-testid="log-details">
          {fields ? <Fields title="Body fields" values={fields} testid="log-body-fields" /> : null}
          <Fields title="Attributes" values={r.attributes} testid="log-attributes" />
          <Fields
            title="Record"
            values={{
              severity: `${r.severity_text || "-"} (${r.severity_number})`,
              time: formatTime(timeMs(r), { ms: true, suffix: true }),
              ...(r.trace_id ? { trace_id: r.trace_id } : {}),
              ...(r.span_id ? { span_id: r.span_id } : {}),
            }}
          />
          {r.trace_id ? (
            <p class="log-links">
              <a href={href(`/traces/${r.trace_id}`, { span: r.span_id || null })}>Open the trace{r.span_id ? " at this span" : ""}</a>
              {" · "}
              <a href={href("/logs", { trace_id: r.trace_id })}>All logs of this trace</a>
            </p>
          ) : null}
          <Fields title="Resource" values={r.resource} />
        </div>
      ) : null}
    </li>
  );
}
