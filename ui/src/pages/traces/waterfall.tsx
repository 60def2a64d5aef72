// The virtualized waterfall: only the rows in view (plus a margin) are in the DOM, so a trace
// of 10,000+ spans renders and scrolls like one of 50. Rows are absolutely positioned inside a
// box as tall as all rows; a scroll moves a signal and re-renders ~60 row elements.
import { useSignal, type ReadonlySignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { formatDuration } from "../../lib/time";
import { serviceColor } from "./_lib/colors";
import { ERROR, type TraceModel } from "./_lib/model";

export const ROW = 24;
const OVERSCAN = 15;

export interface WaterfallProps {
  model: TraceModel;
  rows: Int32Array;
  collapsed: ReadonlySet<number>;
  selected: number;
  matches: ReadonlySet<number>;
  current: number;
  /** Row position to bring into view (changes of this value scroll). */
  scrollTo: { row: number; seq: number } | null;
  onToggle: (span: number) => void;
  onSelect: (span: number) => void;
  onScroll: (top: number, height: number) => void;
  scrollRef: { current: HTMLDivElement | null };
}

export function Waterfall(p: WaterfallProps): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const top = useSignal(0);
  const height = useSignal(600);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    p.scrollRef.current = el;
    const measure = (): void => {
      height.value = el.clientHeight || height.value;
      p.onScroll(el.scrollTop, height.value);
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const el = box.current;
    const target = p.scrollTo;
    if (!el || !target) return;
    const y = target.row * ROW;
    if (y < el.scrollTop || y + ROW > el.scrollTop + el.clientHeight) {
      el.scrollTop = Math.max(0, y - el.clientHeight / 3);
    }
  }, [p.scrollTo?.seq]);
  const { model, rows } = p;
  // indentation shrinks for deep trees so names stay visible (at most ~220 px in all)
  const indent = Math.min(12, 220 / Math.max(1, model.maxDepth));
  const first = Math.max(0, Math.floor(top.value / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top.value + height.value) / ROW) + OVERSCAN);
  const items: JSX.Element[] = [];
  for (let r = first; r < last; r++) {
    const s = rows[r]!;
    const left = (model.start(s) / model.total) * 100;
    const width = Math.max(0.15, (model.duration(s) / model.total) * 100);
    const error = model.data.columns.status[s] === ERROR;
    const kids = model.hasChildren(s);
    const folded = p.collapsed.has(s);
    const cls = ["span-row", s === p.selected ? "selected" : "", p.matches.has(s) ? "match" : "", s === p.current ? "current" : "", error ? "error" : ""]
      .filter(Boolean)
      .join(" ");
    const service = model.service(s);
    items.push(
      <div
        key={r % 512 /* a pool of row elements reused while scrolling: no DOM churn */}
        class={cls}
        role="listitem"
        aria-current={s === p.selected ? "true" : undefined}
        data-testid="span-row"
        data-span-id={model.spanId(s)}
        data-match={p.matches.has(s) ? (s === p.current ? "current" : "yes") : undefined}
        style={{ top: `${r * ROW}px` }}
        onClick={() => p.onSelect(s)}
      >
        <div class="span-label" title={`depth ${model.depth[s]!}`} style={{ paddingLeft: `${4 + model.depth[s]! * indent}px` }}>
          {kids ? (
            <button
              class="span-toggle"
              data-testid="span-toggle"
              aria-expanded={!folded}
              aria-label={folded ? "expand" : "collapse"}
              title={folded ? `expand (${model.size[s]! - 1} spans)` : "collapse"}
              onClick={(e) => {
                e.stopPropagation();
                p.onToggle(s);
              }}
            >
              {folded ? "▸" : "▾"}
            </button>
          ) : (
            <span class="span-toggle-space" />
          )}
          <span class="svc-dot" style={{ background: serviceColor(service) }} />
          <span class="span-service">{service}</span>
          <span class="span-name">{model.name(s)}</span>
          {folded ? <span class="badge">+{model.size[s]! - 1}</span> : null}
          {error ? <span class="badge bad">error</span> : null}
        </div>
        <div class="span-timeline">
          <div class={error ? "span-bar error" : "span-bar"} style={{ left: `${left}%`, width: `${width}%`, background: error ? undefined : serviceColor(service) }} />
          <span class="span-dur" style={left > 70 ? { right: `${100 - left + 0.5}%` } : { left: `${Math.min(left + width, 99) + 0.5}%` }}>
            {formatDuration(model.duration(s) / 1e6)}
          </span>
        </div>
      </div>,
    );
  }
  return (
    <div
      ref={box}
      class="waterfall"
      role="list"
      aria-label="spans"
      data-testid="waterfall"
      data-rows={rows.length}
      onScroll={(e) => {
        top.value = e.currentTarget.scrollTop;
        p.onScroll(e.currentTarget.scrollTop, e.currentTarget.clientHeight);
      }}
    >
      <div class="waterfall-inner" style={{ height: `${rows.length * ROW}px` }}>
        {items}
      </div>
    </div>
  );
}

/** The whole trace in a strip: one line per visible row, the view as a frame; click to jump. */
export function Minimap(p: { model: TraceModel; rows: Int32Array; view: ReadonlySignal<{ top: number; height: number }>; onJump: (row: number) => void }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const H = 64;
  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext("2d");
    if (!el || !ctx) return;
    const w = (el.width = el.clientWidth || 800);
    el.height = H;
    ctx.clearRect(0, 0, w, H);
    const n = p.rows.length;
    const step = Math.max(1, Math.floor(n / (H * 4)));
    for (let r = 0; r < n; r += step) {
      const s = p.rows[r]!;
      const y = (r / Math.max(1, n)) * H;
      const x = (p.model.start(s) / p.model.total) * w;
      const bw = Math.max(1, (p.model.duration(s) / p.model.total) * w);
      ctx.fillStyle = p.model.data.columns.status[s] === ERROR ? "#c62828" : serviceColor(p.model.service(s));
      ctx.fillRect(x, y, bw, Math.max(1, H / n));
    }
  }, [p.model, p.rows]);
  const n = Math.max(1, p.rows.length * ROW);
  const frameTop = (p.view.value.top / n) * H;
  const frameH = Math.max(3, (p.view.value.height / n) * H);
  return (
    <div
      class="minimap"
      data-testid="minimap"
      title="click to jump"
      onClick={(e) => {
        const rect = e.currentTarget.getBoundingClientRect();
        p.onJump(Math.floor(((e.clientY - rect.top) / H) * p.rows.length));
      }}
    >
      <canvas ref={canvas} height={H} aria-hidden="true" />
      <div class="minimap-frame" style={{ top: `${frameTop}px`, height: `${Math.min(H, frameH)}px` }} />
    </div>
  );
}
