// Resolving a dashboard's template variables (in order: a variable may use the ones before it)
// into the values queries are interpolated with. Values come from the URL (`var-name`, repeated
// for several, `$__all` for All, as Grafana's links), else the dashboard's `current`, else the
// first option.
import { promGet, queryInstant } from "../../lib/api";
import { ALL, interpolate, type VarOption, type VarValue } from "./lib/interpolate";
import { calculateInterval, intervalToMs, msToText } from "./lib/interval";
import { applyRegex, customOptions, parseVarQuery, queryResultText, queryText, sortOptions, type InstantSample } from "./lib/varquery";

export interface VarModel {
  name?: string;
  type?: string;
  label?: string;
  hide?: number;
  query?: unknown;
  current?: { text?: unknown; value?: unknown };
  options?: Array<{ text?: unknown; value?: unknown }>;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  regex?: string;
  sort?: number;
  auto?: boolean;
  auto_count?: number;
  auto_min?: string;
  description?: string;
}

export interface VarState {
  model: VarModel;
  name: string;
  /** The options offered (without All). */
  options: VarOption[];
  value: VarValue;
  /** What the picker shows as selected (`$__all`, `$__auto` kept as they are). */
  picked: string[];
  error: string | null;
}

export const MAX_OPTIONS = 10000;
export const AUTO = "$__auto";
const SUPPORTED = new Set(["query", "custom", "interval", "datasource", "constant", "textbox"]);

function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (v === undefined || v === null) return [];
  return [String(v)];
}

async function queryOptions(text: string, from: number, to: number, signal: AbortSignal): Promise<string[]> {
  const q = parseVarQuery(text);
  const start = Math.floor(from / 1000);
  const end = Math.ceil(to / 1000);
  switch (q.kind) {
    case "label_values":
      return promGet<string[]>(`/api/v1/label/${encodeURIComponent(q.label)}/values`, { "match[]": q.match ? [q.match] : undefined, start, end }, { signal });
    case "label_names":
      return promGet<string[]>("/api/v1/labels", { "match[]": q.match ? [q.match] : undefined, start, end }, { signal });
    case "metrics": {
      const names = await promGet<string[]>("/api/v1/label/__name__/values", { start, end }, { signal });
      let re: RegExp;
      try {
        re = new RegExp(q.regex);
      } catch {
        throw new Error(`metrics(${q.regex}): not a valid regular expression`);
      }
      return names.filter((n) => re.test(n));
    }
    case "query_result": {
      const data = await queryInstant(q.expr, end, { signal });
      if (data.resultType === "vector") return data.result.map((s) => queryResultText(s as InstantSample));
      if (data.resultType === "scalar" || data.resultType === "string") return [`${data.resultType} ${data.result[1]} ${data.result[0] * 1000}`];
      return [];
    }
    case "invalid":
      throw new Error(q.reason);
  }
}

/** The values a variable starts with: the URL's (still options, or any when it has none), else
 * its `current`, else All (when included), else the first option. */
export function selection(model: VarModel, options: VarOption[], fromUrl: string[] | undefined): string[] {
  const known = new Set(options.map((o) => o.value));
  const valid = (vals: string[]): string[] => vals.filter((v) => v === ALL || known.has(v) || options.length === 0);
  const allowAll = (vals: string[]): string[] => (model.includeAll ? vals : vals.filter((v) => v !== ALL));
  if (fromUrl && fromUrl.length) {
    const vals = allowAll(valid(fromUrl.map((v) => (v === "All" && !known.has("All") ? ALL : v))));
    if (vals.length) return model.multi ? vals : vals.slice(0, 1);
  }
  const current = allowAll(valid(strings(model.current?.value).map((v) => (v === "$__all" ? ALL : v))));
  if (current.length) return model.multi ? current : current.slice(0, 1);
  if (model.includeAll) return [ALL];
  return options.length ? [options[0]?.value ?? ""] : [];
}

/** Every variable of `models`, resolved in order. Never throws for one variable: its error is
 * kept and its value is what it can be. */
export async function resolveVariables(
  models: VarModel[],
  fromUrl: Map<string, string[]>,
  from: number,
  to: number,
  signal: AbortSignal,
): Promise<VarState[]> {
  const out: VarState[] = [];
  const values = new Map<string, VarValue>();
  const rangeMs = to - from;
  const macros = { __range: `${Math.round(rangeMs / 1000)}s`, __range_s: String(Math.round(rangeMs / 1000)), __range_ms: String(rangeMs) };
  for (const model of models) {
    const name = typeof model.name === "string" ? model.name : "";
    if (!name) continue;
    const type = model.type ?? "query";
    let options: VarOption[] = [];
    let error: string | null = null;
    const raw = queryText(model.query);
    try {
      if (!SUPPORTED.has(type)) {
        error = `variable type "${type}" is not supported`;
      } else if (type === "query") {
        const text = interpolate(raw, values, macros);
        const found = await queryOptions(text, from, to, signal);
        options = sortOptions(applyRegex(found.slice(0, MAX_OPTIONS), model.regex), model.sort);
      } else if (type === "custom" || type === "interval") {
        options = customOptions(raw);
        if (type === "interval" && model.auto) options.unshift({ text: "auto", value: AUTO });
      } else if (type === "datasource") {
        options = [{ text: "tripod", value: "tripod" }];
      } else if (type === "constant") {
        options = [{ text: raw, value: raw }];
      }
    } catch (e) {
      if (signal.aborted) throw e;
      error = e instanceof Error ? e.message : String(e);
    }
    let picked: string[];
    if (type === "textbox") {
      const given = fromUrl.get(name);
      picked = given?.length ? given.slice(0, 1) : strings(model.current?.value ?? raw).slice(0, 1);
      if (!picked.length) picked = [""];
    } else if (type === "constant") {
      picked = [raw];
    } else {
      picked = selection(model, options, fromUrl.get(name));
    }
    let resolved = picked;
    if (type === "interval" && model.auto) {
      // Grafana also names the auto value $__auto_interval_<name>
      const auto = msToText(calculateInterval(rangeMs, model.auto_count ?? 30, intervalToMs(model.auto_min ?? "10s")));
      const name2 = `__auto_interval_${name}`;
      const hidden: VarValue = { name: name2, multi: false, includeAll: false, options: [], values: [auto] };
      values.set(name2, hidden);
      out.push({ model: { name: name2, type: "constant", hide: 2 }, name: name2, options: [], value: hidden, picked: [auto], error: null });
      if (picked[0] === AUTO) resolved = [auto];
    }
    const textOf = new Map(options.map((o) => [o.value, o.text]));
    const value: VarValue = {
      name,
      multi: Boolean(model.multi),
      includeAll: Boolean(model.includeAll),
      allValue: model.allValue ?? null,
      options,
      values: resolved,
      texts: resolved.map((v) => (v === ALL ? "All" : (textOf.get(v) ?? v))),
    };
    values.set(name, value);
    out.push({ model, name, options, value, picked, error });
  }
  return out;
}

/** Variables as the interpolation map. */
export function varMap(states: VarState[]): Map<string, VarValue> {
  return new Map(states.map((s) => [s.name, s.value]));
}

/** `var-<name>` values of the URL. */
export function urlVars(params: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of params) {
    if (!k.startsWith("var-")) continue;
    const name = k.slice(4);
    out.set(name, [...(out.get(name) ?? []), v]);
  }
  return out;
}
