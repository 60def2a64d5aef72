// Grafana's reducers (reduceOptions.calcs) over one series, and threshold colours. Pure.

export function reduce(values: Array<number | null>, calc: string | undefined): number | null {
  const present = values.filter((v): v is number => v !== null && v !== undefined && !Number.isNaN(v));
  switch (calc ?? "lastNotNull") {
    case "last":
      return values.length ? (values[values.length - 1] ?? null) : null;
    case "first":
      return values.length ? (values[0] ?? null) : null;
    case "firstNotNull":
      return present[0] ?? null;
    case "mean":
      return present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
    case "sum":
      return present.length ? present.reduce((a, b) => a + b, 0) : null;
    case "max":
      return present.length ? Math.max(...present) : null;
    case "min":
      return present.length ? Math.min(...present) : null;
    case "count":
      return present.length;
    case "range":
      return present.length ? Math.max(...present) - Math.min(...present) : null;
    case "delta": {
      let d = 0;
      for (let i = 1; i < present.length; i++) {
        const step = (present[i] ?? 0) - (present[i - 1] ?? 0);
        d += step >= 0 ? step : (present[i] ?? 0); // counter resets, as Grafana's delta
      }
      return present.length ? d : null;
    }
    case "diff":
      return present.length ? (present[present.length - 1] ?? 0) - (present[0] ?? 0) : null;
    case "lastNotNull":
    default:
      return present.length ? (present[present.length - 1] ?? null) : null;
  }
}

const NAMED: Record<string, string> = {
  green: "#37872d", "dark-green": "#19730e", "semi-dark-green": "#37872d", "light-green": "#73bf69",
  red: "#c4162a", "dark-red": "#a1001a", "semi-dark-red": "#c4162a", "light-red": "#f2495c",
  orange: "#fa6400", "dark-orange": "#e55400", "light-orange": "#ff9830",
  yellow: "#e0b400", "dark-yellow": "#cc9d00", "light-yellow": "#fade2a",
  blue: "#1f60c4", "dark-blue": "#1250b0", "light-blue": "#5794f2",
  purple: "#8f3bb8", "dark-purple": "#7c2ea3", "light-purple": "#b877d9",
  text: "#1d2330", transparent: "transparent",
};

/** A Grafana colour (named, #hex, rgb()/rgba()) as CSS, or null if it is not one. */
export function cssColor(color: unknown): string | null {
  if (typeof color !== "string") return null;
  const c = color.trim();
  if (NAMED[c]) return NAMED[c] ?? null;
  if (/^#[0-9a-fA-F]{3,8}$/.test(c)) return c;
  if (/^rgba?\(\s*[\d.]+\s*,\s*[\d.]+\s*,\s*[\d.]+\s*(,\s*[\d.]+\s*)?\)$/.test(c)) return c;
  return null;
}

export interface ThresholdStep {
  value: number | null;
  color: string;
}

/** The threshold steps of a field config (absolute mode; the base step has value null). */
export function thresholdSteps(config: unknown): ThresholdStep[] {
  const steps = (config as { thresholds?: { steps?: unknown } } | undefined)?.thresholds?.steps;
  if (!Array.isArray(steps)) return [];
  return steps
    .map((s: { value?: unknown; color?: unknown }) => ({
      value: typeof s?.value === "number" ? s.value : null,
      color: cssColor(s?.color) ?? "",
    }))
    .filter((s) => s.color !== "");
}

/** The colour of `v`: the last step whose value is at most `v` (the base step otherwise). */
export function thresholdColor(v: number | null, steps: ThresholdStep[]): string | null {
  if (!steps.length || v === null) return null;
  let color = steps[0]?.color ?? null;
  for (const s of steps) if (s.value === null || v >= s.value) color = s.color;
  return color;
}
