// Logs: search with filters in the URL (service, levels, text, trace/span ids, time range),
// server-paged newest first ("Load more" follows `next`, pinned to the search's `tail`), and a
// live tail (`?live=1`) that polls `after=<tail>` every 2 s and shows records oldest to newest
// like `tail -f`. The tail pauses on the button or when the user scrolls up from the bottom;
// while paused new lines are counted, not shown ("Paused — N new lines", Resume).
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { promGet } from "../../lib/api";
import { refreshTick, timeRange } from "../../lib/time";
import { place, setParams } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import { TimeRangePicker } from "../../components/TimeRangePicker";
import { LogRow, type LogRecord } from "./rows";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const PAGE = 100;
const POLL_MS = 2000;
/** Most records kept on screen (the oldest are dropped from a live tail, "Load more" stops). */
export const MAX_ROWS = 5000;

interface Page {
  logs: LogRecord[];
  next?: string | null;
  tail: string;
  more?: boolean;
}

function filters(params: URLSearchParams): Record<string, string> {
  const q: Record<string, string> = {};
  for (const k of ["service", "level", "trace_id", "span_id"]) if (params.get(k)) q[k] = params.get(k)!;
  if (params.get("q")) q.contains = params.get("q")!;
  return q;
}

export default function Page(): JSX.Element {
  const params = place.value.params;
  const { range } = timeRange("now-1h", "now");
  const live = params.get("live") === "1";
  const key = JSON.stringify(filters(params));
  const explicitRange = params.has("from") || params.has("to");
  const services = useSignal<string[]>([]);
  useEffect(() => {
    promGet<string[]>("/api/v1/logs/services").then(
      (s) => (services.value = s),
      () => (services.value = []),
    );
  }, []);
  return (
    <section class="page logs-page">
      <h1>Logs</h1>
      <Filters services={services.value} live={live} />
      {!live && params.get("trace_id") && !explicitRange ? (
        <p class="muted" data-testid="log-all-time">
          Searching all of time for this trace's records (pick a time range to narrow it).
        </p>
      ) : null}
      {live ? (
        <Tail key={`tail${key}`} query={filters(params)} />
      ) : (
        <Search
          key={`search${key}|${params.get("from")}|${params.get("to")}|${refreshTick.value}`}
          query={filters(params)}
          // a trace's logs are found by id: without an explicit range, search all of time
          range={params.get("trace_id") && !explicitRange ? null : range.value}
        />
      )}
    </section>
  );
}

function Filters(props: { services: string[]; live: boolean }): JSX.Element {
  const params = place.value.params;
  const text = useSignal(params.get("q") ?? "");
  const levels = (params.get("level") ?? "").split(",").filter(Boolean);
  useEffect(() => {
    text.value = params.get("q") ?? "";
  }, [params.get("q")]);
  return (
    <form
      class="log-filters card"
      data-testid="log-filters"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        setParams({ q: text.value }, { push: true });
      }}
    >
      <label>
        Service
        <select data-testid="log-service" value={params.get("service") ?? ""} onChange={(e) => setParams({ service: e.currentTarget.value }, { push: true })}>
          <option value="">any</option>
          {props.services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <fieldset class="log-levels" data-testid="log-levels">
        <legend>Level</legend>
        {LEVELS.map((l) => (
          <label key={l} class="check">
            <input
              type="checkbox"
              data-testid={`log-level-${l}`}
              checked={levels.includes(l)}
              onChange={(e) => {
                const next = e.currentTarget.checked ? [...levels, l] : levels.filter((x) => x !== l);
                setParams({ level: LEVELS.filter((x) => next.includes(x)).join(",") }, { push: true });
              }}
            />
            {l}
          </label>
        ))}
      </fieldset>
      <label class="grow">
        Text contains
        <input type="search" data-testid="log-text" value={text.value} placeholder="case-insensitive substring of the body" onInput={(e) => (text.value = e.currentTarget.value)} />
      </label>
      {params.get("trace_id") ? (
        <span class="chip" data-testid="log-trace-filter">
          trace <span class="mono">{params.get("trace_id")}</span>
          {params.get("span_id") ? (
            <>
              {" "}
              span <span class="mono">{params.get("span_id")}</span>
            </>
          ) : null}
          <button type="button" aria-label="remove the trace filter" onClick={() => setParams({ trace_id: null, span_id: null }, { push: true })}>
            ×
          </button>
        </span>
      ) : null}
      <div class="form-actions">
        {props.live ? null : <TimeRangePicker defaultFrom="now-1h" defaultTo="now" />}
        <button class="primary" type="submit" data-testid="log-search-submit">
          Search
        </button>
        <button type="button" data-testid="tail-toggle" aria-pressed={props.live} onClick={() => setParams({ live: props.live ? null : "1" }, { push: true })}>
          {props.live ? "Stop live tail" : "Live tail"}
        </button>
      </div>
    </form>
  );
}

function Search(props: { query: Record<string, string>; range: { start: number; end: number } | null }): JSX.Element {
  const rows = useSignal<LogRecord[]>([]);
  const next = useSignal<string | null>(null);
  const tail = useSignal<string | null>(null);
  const loading = useSignal(true);
  const error = useSignal<unknown>(null);
  const load = (cursor: string | null, abort?: AbortController): void => {
    const q: Record<string, string> = { ...props.query, limit: String(PAGE) };
    if (props.range) {
      q.start = String(props.range.start / 1000);
      q.end = String(props.range.end / 1000);
    }
    if (cursor && tail.value) {
      q.cursor = cursor;
      q.tail = tail.value;
    }
    loading.value = true;
    promGet<Page>("/api/v1/logs", q, abort ? { signal: abort.signal } : {})
      .then((d) => {
        rows.value = cursor ? [...rows.value, ...d.logs] : d.logs;
        next.value = d.next ?? null;
        tail.value = d.tail;
        error.value = null;
      })
      .catch((e: unknown) => {
        if (!abort?.signal.aborted) error.value = e;
      })
      .finally(() => (loading.value = false));
  };
  useEffect(() => {
    const abort = new AbortController();
    load(null, abort);
    return () => abort.abort();
  }, []);
  return (
    <>
      {error.value ? <ErrorBox error={error.value} title="Log search failed" /> : null}
      {rows.value.length === 0 ? (
        <p class="empty" data-testid="logs-empty">
          {loading.value ? "Searching…" : "No log records match. Widen the time range or remove a filter."}
        </p>
      ) : (
        <ul class="log-list" data-testid="log-list">
          {rows.value.map((r) => (
            <LogRow key={r.id} record={r} />
          ))}
        </ul>
      )}
      <p class="log-footer">
        <span data-testid="log-count">{rows.value.length} records</span>
        {next.value && rows.value.length < MAX_ROWS ? (
          <button type="button" data-testid="log-load-more" disabled={loading.value} onClick={() => load(next.value)}>
            Load more
          </button>
        ) : null}
        {next.value && rows.value.length >= MAX_ROWS ? <span class="muted"> (showing the newest {MAX_ROWS}; narrow the search for older records)</span> : null}
      </p>
    </>
  );
}

function Tail(props: { query: Record<string, string> }): JSX.Element {
  const rows = useSignal<LogRecord[]>([]);
  const held = useSignal<LogRecord[]>([]);
  const paused = useSignal(false);
  const error = useSignal<unknown>(null);
  const started = useSignal(false);
  const box = useRef<HTMLUListElement>(null);
  const stick = useRef(true);

  const add = (list: LogRecord[]): void => {
    const all = [...rows.value, ...list];
    rows.value = all.length > MAX_ROWS ? all.slice(all.length - MAX_ROWS) : all;
  };

  useEffect(() => {
    let cursor: string | null = null;
    let timer: number | undefined;
    let stopped = false;
    const abort = new AbortController();
    const poll = async (): Promise<void> => {
      try {
        if (cursor === null) {
          // start with the newest page, shown oldest first, and the tail cursor it is pinned to
          const first = await promGet<Page>("/api/v1/logs", { ...props.query, limit: String(PAGE) }, { signal: abort.signal });
          rows.value = [...first.logs].reverse();
          cursor = first.tail;
          started.value = true;
        }
        let more = true;
        while (more && !stopped) {
          const page: Page = await promGet<Page>("/api/v1/logs", { ...props.query, after: cursor, limit: String(PAGE * 5) }, { signal: abort.signal });
          cursor = page.tail;
          more = page.more === true;
          if (page.logs.length) {
            if (paused.value) held.value = [...held.value, ...page.logs].slice(-MAX_ROWS);
            else add(page.logs);
          }
        }
        error.value = null;
      } catch (e) {
        if (!abort.signal.aborted) error.value = e;
      }
      if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      abort.abort();
      window.clearTimeout(timer);
    };
  }, []);

  // follow the newest line while live
  useLayoutEffect(() => {
    const el = box.current;
    if (el && !paused.value && stick.current) el.scrollTop = el.scrollHeight;
  }, [rows.value, paused.value]);

  const pause = (): void => {
    paused.value = true;
  };
  const resume = (): void => {
    add(held.value);
    held.value = [];
    stick.current = true;
    paused.value = false;
  };

  return (
    <div class={paused.value ? "tail paused" : "tail live"}>
      <div class="tail-bar">
        <span class={paused.value ? "tail-state paused" : "tail-state live"} data-testid="tail-state" data-state={paused.value ? "paused" : "live"} role="status" aria-live="polite">
          {paused.value ? "PAUSED" : "● LIVE"}
        </span>
        {paused.value ? (
          <button type="button" class="primary" data-testid="tail-resume" onClick={resume}>
            Resume
          </button>
        ) : (
          <button type="button" data-testid="tail-pause" onClick={pause}>
            Pause
          </button>
        )}
        <span class="muted">polling every {POLL_MS / 1000} s · newest at the bottom · scroll up to pause</span>
      </div>
      {paused.value ? (
        <div class="tail-banner" data-testid="tail-banner" role="alert">
          Paused — {held.value.length} new {held.value.length === 1 ? "line" : "lines"}
          <button type="button" onClick={resume}>
            Resume
          </button>
        </div>
      ) : null}
      {error.value ? <ErrorBox error={error.value} title="Live tail: the last poll failed (retrying)" /> : null}
      <ul
        ref={box}
        class="log-list tail-list"
        data-testid="log-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
          stick.current = atBottom;
          if (!atBottom && !paused.value) pause();
        }}
      >
        {rows.value.map((r) => (
          <LogRow key={r.id} record={r} />
        ))}
      </ul>
      {started.value && rows.value.length === 0 ? (
        <p class="empty" data-testid="logs-empty">
          Waiting for log records that match…
        </p>
      ) : null}
    </div>
  );
}
