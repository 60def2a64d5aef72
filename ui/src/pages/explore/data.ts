// Query results → what the views draw: aligned columns for uPlot, rows for the table.
import type { Labels, MatrixSeries, QueryData } from "../../lib/api";
import { formatTime } from "../../lib/time";

/** `name{a="1", b="2"}` as Prometheus prints a series (labels sorted, __name__ in front). */
export function seriesName(metric: Labels): string {
  const name = metric.__name__ ?? "";
  const labels = Object.keys(metric)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}="${(metric[k] ?? "").replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return labels.length || !name ? `${name}{${labels.join(", ")}}` : name;
}

/** Prometheus's sample value text → number ("NaN", "+Inf" included). */
export function sampleValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

export interface Aligned {
  /** Unix seconds, ascending. */
  times: number[];
  series: Array<{ label: string; values: Array<number | null> }>;
  /** Series left out beyond `maxSeries`. */
  dropped: number;
}

/** A matrix as uPlot's aligned columns: one shared time axis (the union of the series' times),
 * null where a series has no sample. At most `maxSeries` series. */
export function alignMatrix(result: MatrixSeries[], maxSeries = 200): Aligned {
  const kept = result.slice(0, maxSeries);
  const stamps = new Set<number>();
  for (const s of kept) for (const [t] of s.values) stamps.add(t);
  const times = [...stamps].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i]));
  const series = kept.map((s) => {
    const values: Array<number | null> = new Array(times.length).fill(null);
    for (const [t, v] of s.values) {
      const x = sampleValue(v);
      values[at.get(t) ?? 0] = Number.isFinite(x) ? x : null;
    }
    return { label: seriesName(s.metric), values };
  });
  return { times, series, dropped: result.length - kept.length };
}

export interface Row {
  labels: string;
  value: string;
}

/** An instant query's result as table rows (a matrix lists each series' samples). */
export function tableRows(data: QueryData, limit = 1000): { rows: Row[]; total: number } {
  switch (data.resultType) {
    case "vector":
      return {
        rows: data.result.slice(0, limit).map((s) => ({ labels: seriesName(s.metric), value: s.value[1] })),
        total: data.result.length,
      };
    case "matrix":
      return {
        rows: data.result.slice(0, limit).map((s) => ({
          labels: seriesName(s.metric),
          value: s.values.map(([t, v]) => `${v} @ ${formatTime(t * 1000, { ms: true })}`).join("\n"),
        })),
        total: data.result.length,
      };
    case "scalar":
    case "string":
      return { rows: [{ labels: data.resultType, value: data.result[1] }], total: 1 };
  }
}
