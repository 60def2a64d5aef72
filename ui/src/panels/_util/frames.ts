// Query results as series ("frames") the panels draw, and the table a panel shows. Pure.

export type Labels = Record<string, string>;

/** One series of one target: aligned `times` (unix seconds) and `values`. */
export interface Frame {
  refId: string;
  name: string;
  labels: Labels;
  times: number[];
  values: Array<number | null>;
}

/** Prometheus's number spelling ("NaN", "+Inf") as a number. */
export function num(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** The union of the frames' timestamps, and each frame's values on it (null where absent). */
export function align(frames: Frame[]): { times: number[]; columns: Array<Array<number | null>> } {
  const all = new Set<number>();
  for (const f of frames) for (const t of f.times) all.add(t);
  const times = [...all].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = frames.map((f) => {
    const col: Array<number | null> = new Array<number | null>(times.length).fill(null);
    f.times.forEach((t, i) => {
      const v = f.values[i];
      col[index.get(t) ?? 0] = v === undefined || v === null || Number.isNaN(v) ? null : v;
    });
    return col;
  });
  return { times, columns };
}

export interface Table {
  columns: string[];
  /** Cells: label values as strings, values as numbers (null: no sample). */
  rows: Array<Array<string | number | null>>;
  /** How many leading columns are labels (the rest are values, one per target). */
  labelColumns: number;
}

/** Frames as a table: one row per label set, the labels as columns (sorted, `__name__` out
 * unless the series differ by name), one "Value" column per target ("Value #A" when there are
 * several), each holding the frame's last value (Grafana's table format for instant data). */
export function toTable(frames: Frame[], refIds: string[]): Table {
  const names = new Set(frames.map((f) => f.labels.__name__ ?? ""));
  const keys = new Set<string>();
  for (const f of frames) for (const k of Object.keys(f.labels)) if (k !== "__name__" || names.size > 1) keys.add(k);
  const labelCols = [...keys].sort((a, b) => (a === "__name__" ? -1 : b === "__name__" ? 1 : a.localeCompare(b)));
  const valueCols = refIds.length > 1 ? refIds.map((r) => `Value #${r}`) : ["Value"];
  const rows = new Map<string, Array<string | number | null>>();
  for (const f of frames) {
    const cells = labelCols.map((k) => f.labels[k] ?? "");
    const key = JSON.stringify(cells);
    const row = rows.get(key) ?? [...cells, ...valueCols.map(() => null)];
    const col = refIds.length > 1 ? refIds.indexOf(f.refId) : 0;
    let last: number | null = null;
    for (let i = f.values.length - 1; i >= 0; i--) {
      const v = f.values[i];
      if (v !== null && v !== undefined && !Number.isNaN(v)) {
        last = v;
        break;
      }
    }
    row[labelCols.length + Math.max(0, col)] = last;
    rows.set(key, row);
  }
  return { columns: [...labelCols, ...valueCols], rows: [...rows.values()], labelColumns: labelCols.length };
}
