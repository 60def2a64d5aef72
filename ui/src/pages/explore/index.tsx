// Explore: a PromQL editor (CodeMirror, loaded when this page opens), a graph (range query)
// and a table (instant query). The query, the view, the range and the step live in the URL:
// /explore?q=<query>&view=graph|table&from=now-1h&to=now&step=30s
import { signal, useSignal, useSignalEffect } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ErrorBox } from "../../components/ErrorBox";
import { RefreshPicker } from "../../components/RefreshPicker";
import { TimeRangePicker } from "../../components/TimeRangePicker";
import { TimeSeriesChart, formatValue } from "../../components/TimeSeriesChart";
import { ApiError, queryInstant, queryRange, type QueryData } from "../../lib/api";
import { autoStep, durationText, formatTime, parseDuration, refreshTick, timeRange } from "../../lib/time";
import { param, setParams } from "../../lib/url";
import { alignMatrix, tableRows, type Aligned, type Row } from "./data";
import type { PromEditor } from "./editor";

const q = param("q");
const view = param("view", "graph");
const stepParam = param("step");

/** Counts runs, so running the same query again refetches. */
const runs = signal(0);

type Result =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "error"; error: unknown }
  | { kind: "graph"; data: Aligned; step: number; took: number; resultType: string }
  | { kind: "table"; rows: Row[]; total: number; took: number; at: number; resultType: string };

function Caret(props: { query: string; error: ApiError }): JSX.Element | null {
  const offset = props.error.offsetIn(props.query);
  if (offset === null) return null;
  const lineStart = props.query.lastIndexOf("\n", offset - 1) + 1;
  const lineEnd = props.query.indexOf("\n", offset);
  const line = props.query.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  return (
    <pre class="caret" aria-label={`error at character ${offset + 1}`}>
      {line}
      {"\n"}
      {" ".repeat(offset - lineStart)}^
    </pre>
  );
}

function Editor(props: { onRun: (text: string) => void; editor: { current: PromEditor | null } }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const failed = useSignal<unknown>(null);
  const ready = useSignal(false);
  useEffect(() => {
    let alive = true;
    import("./editor").then(
      ({ createEditor }) => {
        if (!alive || !box.current) return;
        props.editor.current = createEditor({ parent: box.current, doc: q.value, onRun: props.onRun });
        ready.value = true;
      },
      (err: unknown) => (failed.value = err),
    );
    return () => {
      alive = false;
      props.editor.current?.destroy();
      props.editor.current = null;
    };
  }, []);
  // back/forward or a pasted link change `q`: the editor follows
  useSignalEffect(() => {
    const text = q.value;
    if (ready.value) props.editor.current?.setText(text);
  });
  return (
    <div class="explore-editor">
      <div ref={box} />
      {!ready.value && !failed.value && <div class="empty">Loading the editor…</div>}
      {failed.value !== null && <ErrorBox error={failed.value} title="The editor failed to load" />}
    </div>
  );
}

export default function Page(): JSX.Element {
  const { range } = timeRange();
  const editor = useRef<PromEditor | null>(null);
  const result = useSignal<Result>({ kind: "idle" });

  const run = (text: string): void => {
    const t = text.trim();
    if (t !== q.value) q.push(t);
    runs.value++;
  };

  useSignalEffect(() => {
    const query = q.value.trim();
    const mode = view.value === "table" ? "table" : "graph";
    const r = range.value;
    const stepText = stepParam.value;
    void runs.value;
    void refreshTick.value;
    if (!query) {
      result.value = { kind: "idle" };
      return undefined;
    }
    if (!r) {
      result.value = { kind: "error", error: new ApiError(400, "bad_data", "the time range is not valid") };
      return undefined;
    }
    const abort = new AbortController();
    const started = performance.now();
    result.value = { kind: "loading" };
    editor.current?.markError(null);
    const done = (data: QueryData, step: number): void => {
      const took = performance.now() - started;
      if (mode === "graph") {
        if (data.resultType !== "matrix") {
          // a scalar or string from a range query: still a graph, one series
          result.value = { kind: "graph", data: { times: [], series: [], dropped: 0 }, step, took, resultType: data.resultType };
          return;
        }
        result.value = { kind: "graph", data: alignMatrix(data.result), step, took, resultType: data.resultType };
      } else {
        const { rows, total } = tableRows(data);
        result.value = { kind: "table", rows, total, took, at: r.end, resultType: data.resultType };
      }
    };
    const fail = (error: unknown): void => {
      if (abort.signal.aborted) return;
      result.value = { kind: "error", error };
      if (error instanceof ApiError) editor.current?.markError(error.offsetIn(query));
    };
    if (mode === "graph") {
      const step = (stepText ? parseDuration(stepText) : null) ?? autoStep(r);
      queryRange(query, r.start / 1000, r.end / 1000, step / 1000, { signal: abort.signal }).then(
        (d) => !abort.signal.aborted && done(d, step),
        fail,
      );
    } else {
      queryInstant(query, r.end / 1000, { signal: abort.signal }).then((d) => !abort.signal.aborted && done(d, 0), fail);
    }
    return () => abort.abort();
  });

  const res = result.value;
  const r = range.value;
  return (
    <section class="page explore">
      <div class="toolbar">
        <h1 class="grow">Explore</h1>
        <TimeRangePicker />
        <RefreshPicker />
      </div>
      <div class="explore-query">
        <Editor onRun={run} editor={editor} />
        <button type="button" class="primary" onClick={() => run(editor.current?.text() ?? q.value)} title="Run (Enter, Shift-Enter or Ctrl-Enter)">
          Run
        </button>
      </div>
      <div class="toolbar explore-options">
        <div role="tablist" aria-label="View" class="tabs">
          {(["graph", "table"] as const).map((v) => (
            <button
              key={v}
              type="button"
              role="tab"
              aria-selected={(view.value === "table" ? "table" : "graph") === v}
              onClick={() => view.push(v)}
            >
              {v === "graph" ? "Graph" : "Table"}
            </button>
          ))}
        </div>
        {view.value !== "table" && (
          <label class="step">
            Step{" "}
            <input
              size={6}
              placeholder={r ? durationText(autoStep(r)) : "auto"}
              value={stepParam.value}
              onChange={(e) => (stepParam.value = e.currentTarget.value.trim())}
              aria-label="Resolution step (empty: automatic)"
            />
          </label>
        )}
        <span class="grow" />
        <StatusLine res={res} />
      </div>
      <Output res={res} onZoom={(a, b) => setParams({ from: String(a), to: String(b) }, { push: true })} />
    </section>
  );
}

function StatusLine(props: { res: Result }): JSX.Element | null {
  const res = props.res;
  if (res.kind === "graph") {
    return (
      <span class="muted">
        {res.data.series.length + res.data.dropped} series · step {durationText(res.step)} · {Math.round(res.took)} ms
      </span>
    );
  }
  if (res.kind === "table") {
    return (
      <span class="muted">
        {res.resultType} · {res.total} result{res.total === 1 ? "" : "s"} at {formatTime(res.at)} · {Math.round(res.took)} ms
      </span>
    );
  }
  return null;
}

function Output(props: { res: Result; onZoom: (startMs: number, endMs: number) => void }): JSX.Element {
  const res = props.res;
  switch (res.kind) {
    case "idle":
      return (
        <div class="empty">
          Type a PromQL query and press Enter. Try <a href="/explore?q=up">up</a> or{" "}
          <a href={`/explore?q=${encodeURIComponent("sum by (job) (rate(http_server_request_duration_seconds_count[5m]))")}`}>
            the request rate per job
          </a>
          .
        </div>
      );
    case "loading":
      return <div class="empty">Running…</div>;
    case "error":
      return (
        <div>
          <ErrorBox error={res.error} />
          {res.error instanceof ApiError && <Caret query={q.value} error={res.error} />}
        </div>
      );
    case "graph":
      if (!res.data.series.length) {
        return <div class="empty">{res.resultType === "matrix" ? "The query returned no series in this range." : `A ${res.resultType} has no graph: use the table.`}</div>;
      }
      return (
        <div class="card">
          {res.data.dropped > 0 && (
            <p class="muted">
              Showing the first {res.data.series.length} series of {res.data.series.length + res.data.dropped}.
            </p>
          )}
          <TimeSeriesChart times={res.data.times} series={res.data.series} height={320} onSelectRange={props.onZoom} ariaLabel="query result graph" />
        </div>
      );
    case "table":
      if (!res.rows.length) return <div class="empty">The query returned no results at this time.</div>;
      return (
        <div class="card">
          {res.total > res.rows.length && <p class="muted">Showing {res.rows.length} of {res.total} results.</p>}
          <table class="grid">
            <thead>
              <tr>
                <th>Series</th>
                <th class="num">Value</th>
              </tr>
            </thead>
            <tbody>
              {res.rows.map((row, i) => (
                <tr key={i}>
                  <td class="mono">{row.labels}</td>
                  <td class="num mono pre">{row.value.includes("\n") ? row.value : formatCell(row.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

function formatCell(text: string): string {
  const n = Number(text);
  return Number.isFinite(n) && text.trim() !== "" ? text : text || formatValue(n);
}
