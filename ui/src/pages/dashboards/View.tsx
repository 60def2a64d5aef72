// One dashboard: the time picker, auto-refresh, variables and the 24-column grid of panels.
// Everything the user changes lives in the URL: from, to, refresh, var-<name>.
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { promGet } from "../../lib/api";
import { parseTime, refreshTick, timeRange } from "../../lib/time";
import { href, place, setParams } from "../../lib/url";
import { Empty, ErrorBox } from "../../components/ErrorBox";
import { RefreshPicker } from "../../components/RefreshPicker";
import { TimeRangePicker } from "../../components/TimeRangePicker";
import { Panel } from "../../panels/Panel";
import { ALL, interpolate, type VarValue } from "./lib/interpolate";
import { expandRepeats, migrateRows, sections, type PanelModel, type RepeatScope, type Section } from "./lib/layout";
import { VariableBar } from "./VariableBar";
import { resolveVariables, urlVars, varMap, type VarModel, type VarState } from "./variables";

interface Board {
  uid: string;
  title: string;
  file: string;
  dashboard: Record<string, unknown>;
}

const CELL = 30;
const GAP = 8;

function timeDefaults(d: Record<string, unknown>): [string, string] {
  const t = (d.time ?? {}) as { from?: unknown; to?: unknown };
  const ok = (v: unknown): v is string => typeof v === "string" && parseTime(v) !== null;
  return [ok(t.from) ? t.from : "now-6h", ok(t.to) ? t.to : "now"];
}

/** A variable's selected values and texts (All: every option), for repeated panels. */
function repeatValues(states: VarState[]): (name: string) => Array<{ value: string; text: string }> | null {
  return (name) => {
    const v = states.find((s) => s.name === name);
    if (!v) return null;
    if (v.value.values.includes(ALL)) return v.options.map((o) => ({ value: o.value, text: o.text }));
    return v.value.values.map((value, i) => ({ value, text: v.value.texts?.[i] ?? value }));
  };
}

/** The variables of one repeated copy: its variable holds only its own value. */
function scoped(vars: Map<string, VarValue>, scope: unknown): Map<string, VarValue> {
  const s = scope as RepeatScope | undefined;
  const v = s ? vars.get(s.name) : undefined;
  if (!s || !v) return vars;
  return new Map(vars).set(s.name, { ...v, values: [s.value], texts: [s.text] });
}

function Grid(props: { board: Board; vars: VarState[] }): JSX.Element {
  const d = props.board.dashboard;
  const panels = useMemo<PanelModel[]>(() => {
    const base = Array.isArray(d.panels) ? (d.panels as PanelModel[]) : migrateRows(d.rows);
    const values = repeatValues(props.vars);
    const inner = base.map((p) => (p.type === "row" && Array.isArray(p.panels) ? { ...p, panels: expandRepeats(p.panels, values) } : p));
    return expandRepeats(inner, values);
  }, [d, props.vars]);
  const secs = useMemo<Section[]>(() => sections(panels), [panels]);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1200);
  const [defFrom, defTo] = timeDefaults(d);
  const { range } = timeRange(defFrom, defTo);
  const tick = refreshTick.value;
  const vars = useMemo(() => varMap(props.vars), [props.vars]);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    setWidth(el.clientWidth || 1200);
    const ro = new ResizeObserver(() => el.clientWidth > 0 && setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const r = range.value;
  if (!r) return <ErrorBox error={new Error("the time range is not valid: the start must be a time before the end")} />;
  return (
    <div ref={box} class="dgrid-box">
      {!secs.length && <Empty>This dashboard has no panels.</Empty>}
      {secs.map((s) => {
        const collapsed = open[s.key] === undefined ? s.collapsed : !open[s.key];
        return (
          <div key={s.key} class="dsection">
            {s.row && (
              <h2 class="drow">
                <button
                  type="button"
                  aria-expanded={!collapsed}
                  data-testid="row-toggle"
                  onClick={() => setOpen({ ...open, [s.key]: collapsed })}
                >
                  <span aria-hidden="true">{collapsed ? "▸" : "▾"}</span> {interpolate(String(s.row.title ?? ""), vars, {}, "text")}
                  {collapsed && <span class="muted"> ({s.panels.length} panels)</span>}
                </button>
              </h2>
            )}
            {!collapsed && s.height > 0 && (
              <div class="dgrid" style={{ gridTemplateRows: `repeat(${s.height}, ${CELL}px)` }}>
                {s.panels.map((pl) => (
                  <div
                    key={pl.key}
                    class="dcell"
                    style={{ gridColumn: `${pl.pos.x + 1} / span ${pl.pos.w}`, gridRow: `${pl.pos.y + 1} / span ${pl.pos.h}` }}
                  >
                    <Panel
                      panel={pl.panel}
                      vars={pl.panel.__repeat ? scoped(vars, pl.panel.__repeat) : vars}
                      from={r.start}
                      to={r.end}
                      tick={tick}
                      width={(width * pl.pos.w) / 24 - GAP}
                      height={pl.pos.h * CELL + (pl.pos.h - 1) * GAP}
                    />
                  </div>
                ))}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

export function DashboardView(props: { uid: string }): JSX.Element {
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [vars, setVars] = useState<VarState[] | null>(null);
  const [varError, setVarError] = useState<unknown>(null);

  useEffect(() => {
    const abort = new AbortController();
    promGet<Board>(`/api/v1/ui/dashboards/${encodeURIComponent(props.uid)}`, undefined, { signal: abort.signal }).then(
      (b) => {
        setBoard(b);
        const refresh = typeof b.dashboard.refresh === "string" ? b.dashboard.refresh : "";
        if (refresh && !place.value.params.has("refresh")) setParams({ refresh });
      },
      (e: unknown) => !abort.signal.aborted && setError(e),
    );
    return () => abort.abort();
  }, [props.uid]);

  const d = board?.dashboard;
  const [defFrom, defTo] = d ? timeDefaults(d) : ["now-6h", "now"];
  const { from, to } = timeRange(defFrom, defTo);
  const fromText = from.value;
  const toText = to.value;
  const urlVarKey = JSON.stringify([...urlVars(place.value.params)]);

  useEffect(() => {
    if (!d) return undefined;
    const models = (((d.templating ?? {}) as { list?: unknown }).list ?? []) as VarModel[];
    const abort = new AbortController();
    const now = Date.now();
    const start = parseTime(fromText, now) ?? now - 6 * 3600_000;
    const end = parseTime(toText, now) ?? now;
    resolveVariables(Array.isArray(models) ? models : [], new Map(JSON.parse(urlVarKey) as Array<[string, string[]]>), start, end, abort.signal).then(
      (v) => {
        setVars(v);
        setVarError(null);
      },
      (e: unknown) => !abort.signal.aborted && setVarError(e),
    );
    return () => abort.abort();
  }, [d, fromText, toText, urlVarKey]);

  if (error !== null) {
    return (
      <section class="page">
        <p>
          <a href={href("/dashboards")}>← Dashboards</a>
        </p>
        <ErrorBox error={error} title={`cannot open dashboard ${props.uid}`} />
      </section>
    );
  }
  if (!board || !d) return <section class="page"><Empty>Loading dashboard…</Empty></section>;
  return (
    <section class="page dashboard" data-testid="dashboard" data-uid={board.uid}>
      <div class="toolbar">
        <a href={href("/dashboards")} class="muted">
          Dashboards
        </a>
        <span class="muted">/</span>
        <h1 class="dash-title">{board.title}</h1>
        <span class="grow" />
        <TimeRangePicker defaultFrom={defFrom} defaultTo={defTo} />
        <RefreshPicker />
      </div>
      {vars && <VariableBar vars={vars} />}
      {varError !== null && <ErrorBox error={varError} title="variables" />}
      {vars ? <Grid board={board} vars={vars} /> : <Empty>Loading variables…</Empty>}
    </section>
  );
}
