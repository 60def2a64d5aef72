// A virtualized list of fixed-height rows: renders only the rows in view (plus `overscan`), so
// 100,000 rows scroll like 50. The container scrolls; give it a height through `height` or CSS.
import { useSignal } from "@preact/signals";
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function VirtualList<T>(props: {
  items: ReadonlyArray<T>;
  rowHeight: number;
  /** Height of the scrolling box in px (default: fill the parent via CSS `.vlist`). */
  height?: number;
  overscan?: number;
  row: (item: T, index: number) => ComponentChildren;
  /** Scroll so this row is visible (e.g. the current search hit). */
  scrollTo?: number | null;
  class?: string;
  ariaLabel?: string;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const top = useSignal(0);
  const view = useSignal(props.height ?? 600);
  const over = props.overscan ?? 10;
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const measure = (): void => {
      view.value = el.clientHeight || view.value;
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const el = box.current;
    const i = props.scrollTo;
    if (!el || i === null || i === undefined) return;
    const y = i * props.rowHeight;
    if (y < el.scrollTop || y + props.rowHeight > el.scrollTop + el.clientHeight) {
      el.scrollTop = Math.max(0, y - el.clientHeight / 2);
    }
  }, [props.scrollTo]);
  const first = Math.max(0, Math.floor(top.value / props.rowHeight) - over);
  const last = Math.min(props.items.length, Math.ceil((top.value + view.value) / props.rowHeight) + over);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vlist-row" role="listitem" style={{ top: `${i * props.rowHeight}px`, height: `${props.rowHeight}px` }}>
        {props.row(props.items[i] as T, i)}
      </div>,
    );
  }
  return (
    <div
      ref={box}
      class={`vlist ${props.class ?? ""}`}
      role="list"
      aria-label={props.ariaLabel}
      style={props.height ? { height: `${props.height}px` } : undefined}
      onScroll={(e) => (top.value = e.currentTarget.scrollTop)}
    >
      <div class="vlist-inner" style={{ height: `${props.items.length * props.rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
