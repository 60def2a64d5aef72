// Prometheus histogram buckets (series with an `le` label) as heatmap cells. Pure.

export interface HeatmapData {
  /** Unix seconds of each column. */
  times: number[];
  /** The upper bound of each row, as the `le` label reads ("0.005", ..., "+Inf"). */
  bounds: string[];
  /** counts[row][column]; null where a bucket had no sample. */
  counts: Array<Array<number | null>>;
  max: number;
}

export interface BucketSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

function leValue(le: string): number {
  return le === "+Inf" || le === "Inf" || le === "inf" ? Infinity : Number(le);
}

/** Rows sorted by `le`, columns on the union of timestamps. With `cumulative` (a target with
 * `format: heatmap`), each bucket's count is its own share: the next lower bucket is
 * subtracted, as Grafana's transformToHistogramOverTime does. Series without a numeric `le`
 * are left out; buckets with the same `le` (several series) are added up. */
export function bucketsToHeatmap(series: BucketSeries[], cumulative: boolean): HeatmapData {
  const byLe = new Map<string, Map<number, number>>();
  const times = new Set<number>();
  for (const s of series) {
    const le = s.metric.le;
    if (le === undefined || Number.isNaN(leValue(le))) continue;
    const row = byLe.get(le) ?? new Map<number, number>();
    byLe.set(le, row);
    for (const [t, v] of s.values) {
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      times.add(t);
      row.set(t, (row.get(t) ?? 0) + n);
    }
  }
  const bounds = [...byLe.keys()].sort((a, b) => leValue(a) - leValue(b));
  const cols = [...times].sort((a, b) => a - b);
  const counts = bounds.map((le) => cols.map((t) => byLe.get(le)?.get(t) ?? null));
  if (cumulative) {
    for (let r = counts.length - 1; r > 0; r--) {
      const row = counts[r] ?? [];
      const below = counts[r - 1] ?? [];
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        const b = below[c];
        if (v !== null && v !== undefined && b !== null && b !== undefined) row[c] = Math.max(0, v - b);
      }
    }
  }
  let max = 0;
  for (const row of counts) for (const v of row) if (v !== null && v > max) max = v;
  return { times: cols, bounds, counts, max };
}
