// Table: one row per label set, one value column per target, sortable by a header click.
import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { toTable, type Frame } from "./_util/frames";
import { formatValue } from "./_util/units";

const MAX_ROWS = 1000;

export function TablePanel(props: { frames: Frame[]; refIds: string[]; unit: string; decimals: number | null; height: number }): JSX.Element {
  const table = useMemo(() => toTable(props.frames, props.refIds), [props.frames, props.refIds]);
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    const r = [...table.rows];
    if (sort) {
      r.sort((a, b) => {
        const x = a[sort.col];
        const y = b[sort.col];
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
        return sort.desc ? -c : c;
      });
    }
    return r.slice(0, MAX_ROWS);
  }, [table, sort]);
  return (
    <div class="table-panel" tabIndex={0} style={{ maxHeight: `${props.height - 8}px` }}>
      <table class="grid">
        <thead>
          <tr>
            {table.columns.map((c, i) => (
              <th key={i} class={i >= table.labelColumns ? "num" : ""} aria-sort={sort?.col === i ? (sort.desc ? "descending" : "ascending") : "none"}>
                <button type="button" class="th-sort" onClick={() => setSort({ col: i, desc: sort?.col === i ? !sort.desc : i >= table.labelColumns })}>
                  {c}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {row.map((cell, i) => (
                <td key={i} class={i >= table.labelColumns ? "num" : ""}>
                  {i >= table.labelColumns ? formatValue(cell as number | null, props.unit, props.decimals) : String(cell ?? "")}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {table.rows.length > MAX_ROWS && <p class="empty">showing {MAX_ROWS} of {table.rows.length} rows</p>}
    </div>
  );
}
