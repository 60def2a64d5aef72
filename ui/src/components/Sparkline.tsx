// A tiny SVG line of values (no axes): for lists and cards. Gaps (null/NaN) break the line.
import type { JSX } from "preact";

export function Sparkline(props: {
  values: ReadonlyArray<number | null>;
  width?: number;
  height?: number;
  /** Fixed y range; default: the data's min..max. */
  min?: number;
  max?: number;
  label?: string;
  class?: string;
}): JSX.Element {
  const w = props.width ?? 120;
  const h = props.height ?? 28;
  const finite = props.values.filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = props.min ?? (finite.length ? Math.min(...finite) : 0);
  const hi = props.max ?? (finite.length ? Math.max(...finite) : 1);
  const span = hi - lo || 1;
  const n = props.values.length;
  let d = "";
  let pen = false;
  props.values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = n > 1 ? (i / (n - 1)) * (w - 2) + 1 : w / 2;
    const y = h - 1 - ((v - lo) / span) * (h - 2);
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return (
    <svg class={`sparkline ${props.class ?? ""}`} width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label ?? "trend"}>
      {d ? <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" /> : <line x1="0" y1={h - 1} x2={w} y2={h - 1} class="sparkline-empty" />}
    </svg>
  );
}
