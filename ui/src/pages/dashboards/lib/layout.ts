// A dashboard's panels as sections of Grafana's 24-column grid: the panels before the first row,
// then each row panel with the panels under it (its own `panels` when collapsed). Pure.

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PanelModel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: Partial<GridPos>;
  collapsed?: boolean;
  panels?: PanelModel[];
  [key: string]: unknown;
}

export interface Placed {
  panel: PanelModel;
  /** Position inside its section (y counted from the section's top). */
  pos: GridPos;
  key: string;
}

export interface Section {
  /** The row panel heading the section (null for the panels above the first row). */
  row: PanelModel | null;
  collapsed: boolean;
  panels: Placed[];
  /** Grid rows the section needs. */
  height: number;
  key: string;
}

function pos(p: PanelModel): GridPos {
  const g = p.gridPos ?? {};
  const int = (v: unknown, d: number, lo: number, hi: number): number =>
    typeof v === "number" && Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.round(v))) : d;
  const w = int(g.w, 12, 1, 24);
  const x = int(g.x, 0, 0, 23);
  return { x: Math.min(x, 24 - w), y: int(g.y, 0, 0, 100000), w, h: int(g.h, 8, 1, 200) };
}

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function place(panels: PanelModel[], prefix: string): { placed: Placed[]; height: number } {
  if (!panels.length) return { placed: [], height: 0 };
  const top = Math.min(...panels.map((p) => pos(p).y));
  const wanted = panels
    .map((p, i) => {
      const g = pos(p);
      return { panel: p, pos: { ...g, y: g.y - top }, key: `${prefix}-${p.id ?? i}-${i}`, i };
    })
    .sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x || Number(!a.panel.__repeat) - Number(!b.panel.__repeat) || a.i - b.i);
  // a panel that would cover one placed before it moves down below it (as Grafana's grid does)
  const placed: Placed[] = [];
  for (const w of wanted) {
    const at = { ...w.pos };
    for (let hit = placed.find((q) => overlaps(q.pos, at)); hit; hit = placed.find((q) => overlaps(q.pos, at))) {
      at.y = hit.pos.y + hit.pos.h;
    }
    placed.push({ panel: w.panel, pos: at, key: w.key });
  }
  placed.sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x);
  const height = Math.max(...placed.map((p) => p.pos.y + p.pos.h));
  return { placed, height };
}

/** Sections of `panels` (the dashboard's top-level list), in order. Old dashboards with
 * `rows: [{panels, span}]` and no `panels` are turned into the same shape first. */
export function sections(panels: PanelModel[]): Section[] {
  const sorted = panels
    .map((p, i) => ({ p, i, g: pos(p) }))
    .sort((a, b) => a.g.y - b.g.y || a.g.x - b.g.x || a.i - b.i);
  const out: Array<{ row: PanelModel | null; members: PanelModel[] }> = [{ row: null, members: [] }];
  for (const { p } of sorted) {
    if (p.type === "row") out.push({ row: p, members: Array.isArray(p.panels) && p.collapsed ? p.panels : [] });
    else out[out.length - 1]?.members.push(p);
  }
  return out
    .filter((s, i) => i > 0 || s.members.length > 0)
    .map((s, i) => {
      const { placed, height } = place(s.members, `s${i}`);
      return { row: s.row, collapsed: Boolean(s.row?.collapsed), panels: placed, height, key: `s${i}-${s.row?.id ?? ""}` };
    });
}

/** Grafana's migration of schema < 16 dashboards (`rows` of panels with `span`) to gridPos. */
export function migrateRows(rows: unknown): PanelModel[] {
  if (!Array.isArray(rows)) return [];
  const out: PanelModel[] = [];
  let y = 0;
  rows.forEach((raw: Record<string, unknown>, r: number) => {
    const height = typeof raw.height === "number" ? raw.height : parseInt(String(raw.height ?? "250"), 10) || 250;
    const h = Math.ceil(height / 38);
    const title = typeof raw.title === "string" ? raw.title : "";
    if (rows.length > 1 || raw.showTitle) {
      out.push({ type: "row", id: 100000 + r, title, collapsed: Boolean(raw.collapse), gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
      y += 1;
    }
    let x = 0;
    const members = Array.isArray(raw.panels) ? (raw.panels as PanelModel[]) : [];
    let rowH = h;
    for (const p of members) {
      const w = Math.max(1, Math.min(24, Math.round(((typeof p.span === "number" ? p.span : 12) as number) * 2)));
      if (x + w > 24) {
        x = 0;
        y += rowH;
      }
      const placed: PanelModel = { ...p, gridPos: { x, y, w, h } };
      const row = out[out.length - 1];
      if (row?.type === "row" && row.collapsed) row.panels?.push(placed);
      else out.push(placed);
      x += w;
      rowH = h;
    }
    y += h;
  });
  return out;
}

/** Datasource references: a panel or target reads from tripod unless it names another type
 * ("loki", "tempo", Grafana's built-in "-- Grafana --"...). Returns the reason it cannot be
 * shown, or null. `${DS_PROMETHEUS}`, `$datasource`, uids and "default" all mean tripod. */
export function unsupportedDatasource(ds: unknown): string | null {
  if (ds === null || ds === undefined || ds === "") return null;
  if (typeof ds === "string") {
    if (/^-- (Grafana|Dashboard) --$/.test(ds)) return `data source "${ds}" is not supported`;
    return null;
  }
  if (typeof ds === "object") {
    const { type, uid } = ds as { type?: unknown; uid?: unknown };
    if (type === "datasource" && (uid === "grafana" || uid === "-- Grafana --" || uid === "-- Dashboard --")) {
      return `data source "${String(uid)}" is not supported`;
    }
    if (typeof type === "string" && type !== "" && type !== "prometheus" && type !== "datasource" && !type.startsWith("$")) {
      return `data source type "${type}" is not supported (only Prometheus queries run here)`;
    }
  }
  return null;
}

/** The value a repeated panel copy is for: the variable's name, one value and its text. */
export interface RepeatScope {
  name: string;
  value: string;
  text: string;
}

/** Panels with `repeat: "<var>"` copied once per selected value of that variable (All: every
 * option; at most 50), as Grafana does: side by side from the left edge (`repeatDirection` "h",
 * width max(24 / n, 24 / maxPerRow), maxPerRow default 4) wrapping to new lines, or stacked
 * ("v"); panels below move down. Each copy carries `__repeat` (its scope). `values(name)`
 * gives a variable's values and texts (null: no such variable). */
export function expandRepeats(
  panels: PanelModel[],
  values: (name: string) => Array<{ value: string; text: string }> | null,
): PanelModel[] {
  let out = panels.map((p) => ({ ...p }));
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    const name = typeof p.repeat === "string" ? p.repeat.replace(/^\$\{?|\}$/g, "") : "";
    if (!name || p.type === "row" || p.__repeat) continue;
    const vals = (values(name) ?? []).slice(0, 50);
    if (vals.length <= 1) {
      if (vals.length === 1) out[i] = { ...p, __repeat: { name, ...vals[0]! } };
      continue;
    }
    const g = pos(p);
    const vertical = p.repeatDirection === "v";
    // Grafana: width max(24 / n, 24 / maxPerRow) (maxPerRow default 4), from the left edge
    const maxPerRow = typeof p.maxPerRow === "number" && p.maxPerRow > 0 ? p.maxPerRow : 4;
    const w = vertical ? g.w : Math.max(1, Math.floor(Math.max(24 / vals.length, 24 / maxPerRow)));
    const perRow = vertical ? 1 : Math.max(1, Math.floor(24 / w));
    const copies: PanelModel[] = vals.map((v, k) => ({
      ...p,
      id: k === 0 ? p.id : (p.id ?? 0) * 1000 + k,
      gridPos: vertical
        ? { x: g.x, y: g.y + k * g.h, w, h: g.h }
        : { x: (k % perRow) * w, y: g.y + Math.floor(k / perRow) * g.h, w, h: g.h },
      __repeat: { name, ...v },
    }));
    const lines = vertical ? vals.length : Math.ceil(vals.length / perRow);
    const extra = (lines - 1) * g.h;
    out = [
      ...out.slice(0, i).map((q) => shift(q, g.y, extra)),
      ...copies,
      ...out.slice(i + 1).map((q) => shift(q, g.y, extra)),
    ];
    i += copies.length - 1;
  }
  return out;
}

function shift(p: PanelModel, fromY: number, by: number): PanelModel {
  if (!by) return p;
  const g = pos(p);
  return g.y > fromY ? { ...p, gridPos: { ...g, y: g.y + by } } : p;
}
