// One trace: header (root, duration, spans, errors, services, logs link), minimap, search within
// the trace (works on virtualized rows: it searches the model, then expands and scrolls to the
// match), the waterfall, and the selected span's details.
import { useComputed, useSignal, useSignalEffect } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { ApiError, promGet } from "../../lib/api";
import { formatDuration, formatTime } from "../../lib/time";
import { href, param } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import { TraceModel, type TraceColumns } from "./_lib/model";
import { SpanDetails } from "./details";
import { Minimap, ROW, Waterfall } from "./waterfall";

function mark(name: string, start: string): void {
  try {
    performance.mark(name);
    performance.measure(name.replace(/-end$/, ""), start);
  } catch {
    /* marks are for benchmarks only */
  }
}

export function TraceView(props: { traceId: string }): JSX.Element {
  const traceId = props.traceId.toLowerCase();
  const model = useSignal<TraceModel | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    model.value = null;
    error.value = null;
    try {
      performance.clearMarks();
      performance.clearMeasures();
      performance.mark("waterfall-start");
    } catch {
      /* no performance API */
    }
    promGet<TraceColumns>(`/api/v1/traces/${encodeURIComponent(traceId)}`, { format: "columns" }, { signal: abort.signal })
      .then((data) => {
        mark("waterfall-fetch-end", "waterfall-start");
        const m = new TraceModel(data);
        mark("waterfall-model-end", "waterfall-start");
        model.value = m;
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted && model.value === null) error.value = e;
      });
    return () => abort.abort();
  }, [traceId]);
  if (error.value) {
    const notFound = error.value instanceof ApiError && error.value.status === 404;
    return (
      <section class="page">
        <p>
          <a href="/traces">← Traces</a>
        </p>
        {notFound ? (
          <p class="empty" data-testid="trace-not-found">
            Trace <code>{traceId}</code> is not in the store (never received, or dropped by retention).
          </p>
        ) : (
          <ErrorBox error={error.value} title="Cannot load the trace" />
        )}
      </section>
    );
  }
  if (!model.value) return <p class="empty" data-testid="trace-loading">Loading trace {traceId}…</p>;
  return <Loaded model={model.value} />;
}

function Loaded(props: { model: TraceModel }): JSX.Element {
  const m = props.model;
  const spanParam = param("span");
  const findParam = param("find");
  const collapsed = useSignal<ReadonlySet<number>>(new Set());
  const draft = useSignal(findParam.value);
  const current = useSignal(0);
  const scrollTo = useSignal<{ row: number; seq: number } | null>(null);
  const view = useSignal({ top: 0, height: 600 });
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const rendered = useRef(false);
  // the search covers attributes and events: fetched once (attributes=true) when first needed
  const attrs = useSignal<"none" | "loading" | "ready" | "failed">(m.searchesAttributes ? "ready" : "none");
  const ensureAttributes = (): void => {
    if (attrs.value !== "none") return;
    attrs.value = "loading";
    promGet<TraceColumns>(`/api/v1/traces/${m.data.traceId}`, { format: "columns", attributes: "true" }).then(
      (full) => {
        m.addAttributes(full);
        attrs.value = "ready";
      },
      () => (attrs.value = "failed"),
    );
  };
  const searching = findParam.value !== "" && (attrs.value === "none" || attrs.value === "loading");
  if (findParam.value && attrs.value === "none") ensureAttributes();

  const rows = useComputed(() => m.visible(collapsed.value));
  const matches = useMemo(() => (searching ? [] : m.search(findParam.value)), [m, findParam.value, searching]);
  const matchSet = useMemo(() => new Set(matches), [matches]);
  const selected = spanParam.value ? m.indexOf(spanParam.value) : -1;
  const currentSpan = matches.length ? (matches[Math.min(current.value, matches.length - 1)] ?? -1) : -1;

  useEffect(() => {
    if (!rendered.current) {
      rendered.current = true;
      requestAnimationFrame(() => mark("waterfall-render-end", "waterfall-start"));
    }
  }, []);

  const reveal = (span: number): void => {
    const up = m.ancestors(span).filter((a) => collapsed.value.has(a));
    if (up.length) {
      const next = new Set(collapsed.value);
      up.forEach((a) => next.delete(a));
      collapsed.value = next;
    }
    const row = rows.value.indexOf(span);
    if (row >= 0) scrollTo.value = { row, seq: (scrollTo.value?.seq ?? 0) + 1 };
  };

  // a new search jumps to its first match; a deep link to a span scrolls to it once
  useEffect(() => {
    current.value = 0;
    if (matches[0] !== undefined) reveal(matches[0]);
  }, [matches]);
  useEffect(() => {
    if (selected >= 0) reveal(selected);
  }, []);
  useSignalEffect(() => {
    draft.value = findParam.value;
  });

  const step = (delta: number): void => {
    if (!matches.length) return;
    const k = (current.value + delta + matches.length) % matches.length;
    current.value = k;
    reveal(matches[k]!);
  };
  const toggle = (s: number): void => {
    const next = new Set(collapsed.value);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    collapsed.value = next;
  };
  /** Fold every subtree whose root is at `depth` or deeper (null: unfold everything). */
  const collapseDepth = (depth: number | null): void => {
    const next = new Set<number>();
    if (depth !== null) for (let s = 0; s < m.n; s++) if (m.depth[s]! >= depth && m.hasChildren(s)) next.add(s);
    collapsed.value = next;
  };

  const root = m.order[0] ?? 0;
  const services = m.data.services;
  return (
    <section class="page trace-page" data-testid="trace-view" data-trace-id={m.data.traceId}>
      <p class="crumbs">
        <a href="/traces">← Traces</a>
      </p>
      <header class="trace-head">
        <h1>
          <span class="mono">{m.service(root)}</span>: {m.name(root)}
        </h1>
        <div class="trace-facts">
          <span>{formatTime(m.startMs, { ms: true, suffix: true })}</span>
          <span>duration {formatDuration(m.total / 1e6)}</span>
          <span data-testid="trace-span-count">{m.n} spans</span>
          {m.errors ? <span class="badge bad">{m.errors} errors</span> : null}
          <span>{services.length} services</span>
          <span class="mono muted">{m.data.traceId}</span>
          <a data-testid="trace-compare-link" href={href("/traces/compare", { a: m.data.traceId })}>
            Compare with…
          </a>
          <a data-testid="trace-logs-link" href={href("/logs", { trace_id: m.data.traceId })}>
            Logs for this trace
          </a>
        </div>
        {m.data.truncated ? (
          <p class="error-box">This trace has more spans than the server sends in one answer; the first {m.n} are shown.</p>
        ) : null}
      </header>
      <div class="trace-tools toolbar">
        <form
          class="trace-find"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (draft.value !== findParam.value) findParam.value = draft.value;
            else step(1);
          }}
        >
          <input
            type="search"
            data-testid="trace-search"
            aria-label="search in this trace"
            placeholder="Find in trace (name, service, id, attributes)"
            value={draft.value}
            onFocus={ensureAttributes}
            onInput={(e) => (draft.value = e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && e.shiftKey) {
                e.preventDefault();
                step(-1);
              }
            }}
          />
          <span class="match-count" data-testid="trace-search-count" aria-live="polite">
            {searching ? "searching…" : findParam.value ? (matches.length ? `${Math.min(current.value, matches.length - 1) + 1} of ${matches.length}` : "0 of 0") : ""}
          </span>
          <button type="button" data-testid="trace-search-prev" disabled={!matches.length} onClick={() => step(-1)} aria-label="previous match">
            ↑
          </button>
          <button type="button" data-testid="trace-search-next" disabled={!matches.length} onClick={() => step(1)} aria-label="next match">
            ↓
          </button>
        </form>
        <span class="grow" />
        <button type="button" data-testid="expand-all" onClick={() => collapseDepth(null)}>
          Expand all
        </button>
        <button type="button" data-testid="collapse-all" onClick={() => collapseDepth(0)}>
          Collapse all
        </button>
        <button type="button" onClick={() => collapseDepth(1)}>
          Collapse to level 2
        </button>
      </div>
      <Minimap
        model={m}
        rows={rows.value}
        view={view}
        onJump={(row) => {
          const el = scrollRef.current;
          if (el) el.scrollTop = Math.max(0, row * ROW - el.clientHeight / 2);
        }}
      />
      <div class="trace-body">
        <div class="trace-axis">
          <span>Service · operation</span>
          <span class="axis-ticks">
            {[0, 0.25, 0.5, 0.75, 1].map((f) => (
              <span key={f} style={{ left: `${f * 100}%` }}>
                {formatDuration((m.total * f) / 1e6)}
              </span>
            ))}
          </span>
        </div>
        <Waterfall
          model={m}
          rows={rows.value}
          collapsed={collapsed.value}
          selected={selected}
          matches={matchSet}
          current={currentSpan}
          scrollTo={scrollTo.value}
          onToggle={toggle}
          onSelect={(s) => (spanParam.value = m.spanId(s))}
          onScroll={(top, height) => {
            if (view.value.top !== top || view.value.height !== height) view.value = { top, height };
          }}
          scrollRef={scrollRef}
        />
        {selected >= 0 ? <SpanDetails model={m} span={selected} onClose={() => (spanParam.value = "")} /> : null}
      </div>
    </section>
  );
}
