// Compare two traces (`/traces/compare?a=<traceId>&b=<traceId>`): both are loaded in the
// column-wise form and summed per (service, operation): span count, errors, total and mean
// duration in A and in B, sorted by the largest change in total time. Operations found in only
// one trace are marked added/removed.
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { promGet } from "../../lib/api";
import { formatDuration, formatTime } from "../../lib/time";
import { param, setParams } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import { ERROR, TraceModel, type TraceColumns } from "./_lib/model";

interface Stat {
  count: number;
  errors: number;
  total: number; // ns
}

export interface OpDiff {
  key: string;
  service: string;
  name: string;
  a: Stat;
  b: Stat;
}

const empty = (): Stat => ({ count: 0, errors: 0, total: 0 });

/** Per (service, operation) sums of two traces, the largest change in total time first. */
export function diffTraces(a: TraceModel, b: TraceModel): OpDiff[] {
  const ops = new Map<string, OpDiff>();
  const add = (m: TraceModel, side: "a" | "b"): void => {
    for (let i = 0; i < m.n; i++) {
      const service = m.service(i);
      const name = m.name(i);
      const key = `${service}\u0000${name}`;
      let d = ops.get(key);
      if (!d) {
        d = { key, service, name, a: empty(), b: empty() };
        ops.set(key, d);
      }
      const s = d[side];
      s.count++;
      s.total += m.duration(i);
      if (m.data.columns.status[i] === ERROR) s.errors++;
    }
  };
  add(a, "a");
  add(b, "b");
  return [...ops.values()].sort((x, y) => Math.abs(y.b.total - y.a.total) - Math.abs(x.b.total - x.a.total));
}

function useTrace(id: string): { model: TraceModel | null; error: unknown } {
  const model = useSignal<TraceModel | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    model.value = null;
    error.value = null;
    if (!/^[0-9a-fA-F]{32}$/.test(id)) {
      error.value = new Error(`"${id}" is not a trace id (32 hex digits)`);
      return undefined;
    }
    const abort = new AbortController();
    promGet<TraceColumns>(`/api/v1/traces/${id.toLowerCase()}`, { format: "columns" }, { signal: abort.signal }).then(
      (d) => (model.value = new TraceModel(d)),
      (e: unknown) => {
        if (!abort.signal.aborted) error.value = e;
      },
    );
    return () => abort.abort();
  }, [id]);
  return { model: model.value, error: error.value };
}

const ms = (ns: number): string => formatDuration(ns / 1e6);

function Side(props: { label: string; id: string; model: TraceModel | null; error: unknown }): JSX.Element {
  const m = props.model;
  return (
    <div class="card compare-side" data-testid={`compare-${props.label.toLowerCase()}`}>
      <h2>
        {props.label}: <a href={`/traces/${props.id}`} class="mono">{props.id}</a>
      </h2>
      {props.error ? <ErrorBox error={props.error} /> : null}
      {m ? (
        <p class="muted">
          {m.service(m.order[0] ?? 0)}: {m.name(m.order[0] ?? 0)} · {formatTime(m.startMs)} · {ms(m.total)} · {m.n} spans · {m.errors} errors
        </p>
      ) : props.error ? null : (
        <p class="muted">Loading…</p>
      )}
    </div>
  );
}

export function CompareView(): JSX.Element {
  const a = param("a");
  const b = param("b");
  const ta = useTrace(a.value);
  const tb = useTrace(b.value);
  const draftA = useSignal(a.value);
  const draftB = useSignal(b.value);
  const rows = ta.model && tb.model ? diffTraces(ta.model, tb.model) : [];
  return (
    <section class="page compare-page" data-testid="trace-compare-view">
      <p class="crumbs">
        <a href="/traces">← Traces</a>
      </p>
      <h1>Compare two traces</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ a: draftA.value.trim(), b: draftB.value.trim() }, { push: true });
        }}
      >
        <label>
          A <input class="mono" size={34} aria-label="trace A" value={draftA.value} onInput={(e) => (draftA.value = e.currentTarget.value)} />
        </label>
        <label>
          B <input class="mono" size={34} aria-label="trace B" value={draftB.value} onInput={(e) => (draftB.value = e.currentTarget.value)} />
        </label>
        <button type="submit">Compare</button>
      </form>
      <div class="compare-sides">
        <Side label="A" id={a.value} model={ta.model} error={ta.error} />
        <Side label="B" id={b.value} model={tb.model} error={tb.error} />
      </div>
      {rows.length ? (
        <table class="grid compare-table" data-testid="compare-table">
          <thead>
            <tr>
              <th>Service · operation</th>
              <th class="num">Spans A</th>
              <th class="num">Spans B</th>
              <th class="num">Errors A / B</th>
              <th class="num">Total A</th>
              <th class="num">Total B</th>
              <th class="num">Δ total</th>
              <th class="num">Mean A</th>
              <th class="num">Mean B</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const only = r.a.count === 0 ? "added" : r.b.count === 0 ? "removed" : "";
              const delta = r.b.total - r.a.total;
              return (
                <tr key={r.key} class={only} data-testid="compare-row" data-change={only || "both"}>
                  <td>
                    <span class="muted">{r.service}</span> {r.name} {only ? <span class={only === "added" ? "badge ok" : "badge bad"}>only in {only === "added" ? "B" : "A"}</span> : null}
                  </td>
                  <td class="num">{r.a.count}</td>
                  <td class="num">{r.b.count}</td>
                  <td class="num">
                    {r.a.errors} / {r.b.errors}
                  </td>
                  <td class="num">{ms(r.a.total)}</td>
                  <td class="num">{ms(r.b.total)}</td>
                  <td class={delta > 0 ? "num slower" : delta < 0 ? "num faster" : "num"}>
                    {delta > 0 ? "+" : delta < 0 ? "−" : ""}
                    {ms(Math.abs(delta))}
                  </td>
                  <td class="num">{r.a.count ? ms(r.a.total / r.a.count) : "–"}</td>
                  <td class="num">{r.b.count ? ms(r.b.total / r.b.count) : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
