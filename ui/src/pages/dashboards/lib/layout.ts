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

function place(panels: PanelModel[], prefix: string): { placed: Placed[]; height: number } {
  if (!panels.length) return { placed: [], height: 0 };
  const top = Math.min(...panels.map((p) => pos(p).y));
  const placed = panels
    .map((p, i) => {
      const g = pos(p);
      return { panel: p, pos: { ...g, y: g.y - top }, key: `${prefix}-${p.id ?? i}-${i}` };
    })
    .sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x);
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
