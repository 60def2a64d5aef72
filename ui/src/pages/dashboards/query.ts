// Running a panel's Prometheus targets: interpolation, Grafana's step, bounded concurrency,
// exemplars, and the reason a panel shows no data.
import { ApiError, promGet, queryInstant, queryRange, type QueryData } from "../../lib/api";
import { num, type Frame } from "../../panels/_util/frames";
import { interpolate, referencedNames, type VarValue } from "./lib/interpolate";
import { targetTiming } from "./lib/interval";
import { displayName } from "./lib/legend";
import { metricNames } from "./lib/selectors";
import { unsupportedDatasource } from "./lib/layout";

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  interval?: string;
  intervalFactor?: number;
  exemplar?: boolean;
  hide?: boolean;
  datasource?: unknown;
}

export interface PanelQuery {
  targets: Target[];
  datasource?: unknown;
  interval?: string;
  maxDataPoints?: number;
}

export interface Exemplar {
  traceId: string;
  value: number;
  /** Unix seconds. */
  time: number;
  labels: Record<string, string>;
}

export interface PanelResult {
  frames: Frame[];
  refIds: string[];
  /** Targets that failed: "A: bad_data: ..." */
  errors: string[];
  /** Why nothing came back, when nothing did. */
  noData: string | null;
  exemplars: Exemplar[];
  /** The queries as sent (interpolated), for the panel's inspector line. */
  queries: string[];
  /** Series left out (a panel draws at most MAX_SERIES). */
  dropped: number;
}

export const MAX_SERIES = 300;
const MAX_CONCURRENT = 6;
let running = 0;
const waiting: Array<() => void> = [];

/** At most MAX_CONCURRENT queries in flight for the whole page. */
async function limited<T>(run: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

let namesCache: { at: number; names: Promise<Set<string>> } | null = null;

/** Every metric name ever received (cached for a minute). */
function knownNames(): Promise<Set<string>> {
  const now = Date.now();
  if (!namesCache || now - namesCache.at > 60_000) {
    const names = promGet<string[]>("/api/v1/label/__name__/values").then((l) => new Set(l));
    names.catch(() => (namesCache = null));
    namesCache = { at: now, names };
  }
  return namesCache.names;
}

/** Why a panel whose queries returned nothing is empty: a metric never received, else a
 * variable the queries use that has no value, else nothing in the range. */
export async function explainNoData(exprs: string[], empty: string[] = []): Promise<string> {
  const wanted = [...new Set(exprs.flatMap(metricNames))];
  if (wanted.length) {
    try {
      const known = await knownNames();
      const missing = wanted.filter((n) => !known.has(n));
      if (missing.length) {
        const list = missing.map((m) => `"${m}"`).join(", ");
        return missing.length === 1
          ? `metric ${list} has never been received`
          : `metrics ${list} have never been received`;
      }
    } catch {
      /* fall through to the generic reason */
    }
  }
  if (empty.length) {
    const list = empty.map((n) => `$${n}`).join(", ");
    return `${list} ${empty.length === 1 ? "has" : "have"} no value (the variable's query found nothing)`;
  }
  return "the query returns nothing in this time range";
}

function framesOf(data: QueryData, target: Target, expr: string, refId: string): Frame[] {
  const name = (labels: Record<string, string>): string => displayName(labels, target.legendFormat, expr);
  switch (data.resultType) {
    case "matrix":
      return data.result.map((s) => ({
        refId, labels: s.metric, name: name(s.metric),
        times: s.values.map((p) => p[0]), values: s.values.map((p) => num(p[1])),
      }));
    case "vector":
      return data.result.map((s) => ({
        refId, labels: s.metric, name: name(s.metric), times: [s.value[0]], values: [num(s.value[1])],
      }));
    case "scalar":
      return [{ refId, labels: {}, name: name({}), times: [data.result[0]], values: [num(data.result[1])] }];
    default:
      return [];
  }
}

interface ExemplarSet {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}

async function exemplarsOf(expr: string, start: number, end: number, signal: AbortSignal): Promise<Exemplar[]> {
  const sets = await promGet<ExemplarSet[] | null>("/api/v1/query_exemplars", { query: expr, start, end }, { signal });
  const out: Exemplar[] = [];
  for (const set of sets ?? []) {
    for (const e of set.exemplars ?? []) {
      const id = e.labels?.trace_id ?? e.labels?.traceID ?? e.labels?.traceId;
      if (!id || out.length >= 500) continue;
      out.push({ traceId: id, value: num(String(e.value)), time: e.timestamp, labels: { ...set.seriesLabels, ...e.labels } });
    }
  }
  return out;
}

/** Whether a target asks for exemplars: `exemplar: true`, or a histogram's buckets. */
export function wantsExemplars(t: Target, expr: string): boolean {
  return t.exemplar === true || (t.exemplar !== false && /_bucket\b/.test(expr));
}

/** Run every visible target of a panel over [from, to] (ms), `width` pixels wide. */
export async function runPanel(
  panel: PanelQuery,
  vars: ReadonlyMap<string, VarValue>,
  from: number,
  to: number,
  width: number,
  signal: AbortSignal,
  opts: { exemplars: boolean; scrapeInterval?: string } = { exemplars: false },
): Promise<PanelResult> {
  const result: PanelResult = { frames: [], refIds: [], errors: [], noData: null, exemplars: [], queries: [], dropped: 0 };
  const targets = panel.targets.filter((t) => !t.hide && typeof t.expr === "string" && t.expr.trim() !== "");
  const panelInterval = panel.interval ? interpolate(panel.interval, vars) : undefined;
  const maxDataPoints = panel.maxDataPoints && panel.maxDataPoints > 0 ? panel.maxDataPoints : Math.max(50, Math.round(width));
  await Promise.all(
    targets.map(async (t, i) => {
      const refId = t.refId ?? String.fromCharCode(65 + i);
      result.refIds.push(refId);
      const dsProblem = unsupportedDatasource(t.datasource ?? panel.datasource);
      if (dsProblem) {
        result.errors.push(`${refId}: ${dsProblem}`);
        return;
      }
      const timing = targetTiming({
        from, to, maxDataPoints, panelInterval,
        targetInterval: t.interval ? interpolate(t.interval, vars) : undefined,
        intervalFactor: t.intervalFactor, scrapeInterval: opts.scrapeInterval,
      });
      const expr = interpolate(t.expr ?? "", vars, timing.macros);
      result.queries.push(expr);
      const instant = t.instant === true && t.range !== true;
      try {
        const data = await limited(() =>
          instant ? queryInstant(expr, to / 1000, { signal }) : queryRange(expr, timing.start, timing.end, timing.step, { signal }),
        );
        result.frames.push(...framesOf(data, t, expr, refId));
        if (opts.exemplars && !instant && wantsExemplars(t, expr)) {
          const found = await limited(() => exemplarsOf(expr, from / 1000, to / 1000, signal)).catch(() => []);
          result.exemplars.push(...found);
        }
      } catch (e) {
        if (signal.aborted) throw e;
        const msg = e instanceof ApiError ? (e.error || e.message) : String(e);
        const type = e instanceof ApiError ? `${e.errorType}: ` : "";
        result.errors.push(`${refId}: ${type}${msg}`);
      }
    }),
  );
  // several targets over the same histogram ask for the same exemplars: keep one of each
  const seen = new Set<string>();
  result.exemplars = result.exemplars.filter((e) => {
    const k = `${e.traceId}|${e.time}|${e.value}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  result.refIds.sort();
  result.frames.sort((a, b) => (a.refId < b.refId ? -1 : a.refId > b.refId ? 1 : 0));
  if (result.frames.length > MAX_SERIES) {
    result.dropped = result.frames.length - MAX_SERIES;
    result.frames = result.frames.slice(0, MAX_SERIES);
  }
  if (!result.frames.length && !result.errors.length) {
    const used = new Set(targets.flatMap((t) => [...referencedNames(t.expr ?? "")]));
    const empty = [...used].filter((n) => vars.get(n)?.values.length === 0);
    result.noData = targets.length ? await explainNoData(result.queries, empty) : "the panel has no queries";
  }
  return result;
}
