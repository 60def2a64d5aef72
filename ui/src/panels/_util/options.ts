// Reading a panel's JSON (fieldConfig, options, legacy fields) into typed values. Pure.
import { thresholdSteps, type ThresholdStep } from "./reduce";

export interface FieldDefaults {
  unit: string;
  decimals: number | null;
  min: number | null;
  max: number | null;
  steps: ThresholdStep[];
  mappings: unknown[];
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
}

function numOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** fieldConfig.defaults, with the fallbacks of old panels (graph `yaxes[0].format`,
 * singlestat `format`). */
export function fieldDefaults(panel: Json): FieldDefaults {
  const d = obj(obj(panel.fieldConfig).defaults);
  const yaxis = Array.isArray(panel.yaxes) ? obj(panel.yaxes[0]) : {};
  const unit = [d.unit, yaxis.format, panel.format].find((u) => typeof u === "string" && u !== "") as string | undefined;
  return {
    unit: unit ?? "",
    decimals: numOrNull(d.decimals) ?? numOrNull(panel.decimals),
    min: numOrNull(d.min),
    max: numOrNull(d.max),
    steps: thresholdSteps(d),
    mappings: Array.isArray(d.mappings) ? d.mappings : [],
  };
}

export function options(panel: Json): Json {
  return obj(panel.options);
}

/** The reducer of stat/gauge/bar gauge panels (reduceOptions.calcs[0], singlestat valueName). */
export function calc(panel: Json): string {
  const calcs = obj(options(panel).reduceOptions).calcs;
  if (Array.isArray(calcs) && typeof calcs[0] === "string") return calcs[0];
  const legacy: Record<string, string> = { current: "lastNotNull", avg: "mean", total: "sum" };
  if (typeof panel.valueName === "string") return legacy[panel.valueName] ?? panel.valueName;
  return "lastNotNull";
}

/** Grafana's value mappings (value and range kinds): the text (and colour) for `v`. */
export function mapValue(v: number | null, mappings: unknown[]): { text: string; color: string | null } | null {
  if (v === null) return null;
  for (const raw of mappings) {
    const m = obj(raw);
    const opts = obj(m.options);
    if (m.type === "value") {
      const hit = obj(opts[String(v)]);
      if (typeof hit.text === "string") return { text: hit.text, color: typeof hit.color === "string" ? hit.color : null };
    } else if (m.type === "range") {
      const from = numOrNull(opts.from);
      const to = numOrNull(opts.to);
      const result = obj(opts.result);
      if ((from === null || v >= from) && (to === null || v <= to) && typeof result.text === "string") {
        return { text: result.text, color: typeof result.color === "string" ? result.color : null };
      }
    }
  }
  return null;
}
