// Step and interval macros computed as Grafana computes them for a Prometheus panel, so a
// dashboard shows here the series it shows in Grafana. Pure functions (no DOM), unit-tested.
//
// Grafana: rangeutil.calculateInterval (panel query runner) picks the panel's interval from the
// range, the max data points (the panel's width in pixels) and the lower limit (the panel's
// "Min interval", else the data source's scrape interval); the Prometheus data source then
// adjusts it per target (target.interval "Min step", intervalFactor, 11,000 points at most) and
// sets $__interval, $__rate_interval, $__range and their _ms/_s forms.

/** Grafana's kbn.roundInterval: milliseconds to a tidy interval. */
export function roundInterval(ms: number): number {
  const table: Array<[number, number]> = [
    [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000],
    [3500, 2000], [7500, 5000], [12500, 10000], [17500, 15000], [25000, 20000],
    [45000, 30000], [90000, 60000], [210000, 120000], [450000, 300000], [750000, 600000],
    [1050000, 900000], [1500000, 1200000], [2700000, 1800000], [5400000, 3600000],
    [9000000, 7200000], [16200000, 10800000], [32400000, 21600000], [86400000, 43200000],
    [604800000, 86400000], [1814400000, 604800000], [3628800000, 2592000000],
  ];
  for (const [below, tidy] of table) if (ms < below) return tidy;
  return 31536000000;
}

const UNIT_MS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000,
};

/** Grafana's interval strings ("15s", "1m", "1h30m", "500ms", a bare number of seconds, with an
 * optional ">" prefix) in milliseconds; null when it is not one. */
export function intervalToMs(text: string | number | undefined | null): number | null {
  if (text === undefined || text === null) return null;
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : null;
  const t = text.trim().replace(/^>/, "");
  if (!t) return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let used = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? NaN);
    used = re.lastIndex;
  }
  return used === t.length && Number.isFinite(total) ? total : null;
}

/** Grafana's rangeutil.secondsToHms: the largest whole unit, truncated (90 s → "1m",
 * 7 days → "7d", 0.5 s → "500ms"). */
export function msToText(ms: number): string {
  const s = ms / 1000;
  const y = Math.floor(s / 31536000);
  if (y) return `${y}y`;
  const d = Math.floor((s % 31536000) / 86400);
  if (d) return `${d}d`;
  const h = Math.floor((s % 86400) / 3600);
  if (h) return `${h}h`;
  const m = Math.floor((s % 3600) / 60);
  if (m) return `${m}m`;
  const sec = Math.floor(s % 60);
  if (sec) return `${sec}s`;
  return `${Math.floor(ms)}ms`;
}

/** The panel's interval: range / max data points, rounded, at least `lowLimit` (ms). */
export function calculateInterval(rangeMs: number, maxDataPoints: number, lowLimitMs: number | null): number {
  let ms = roundInterval(rangeMs / Math.max(1, maxDataPoints));
  if (lowLimitMs !== null && lowLimitMs > ms) ms = lowLimitMs;
  return ms;
}

export interface TargetTiming {
  /** Seconds between points of the range query. */
  step: number;
  /** Query start and end (unix seconds), aligned to the step as Grafana aligns them. */
  start: number;
  end: number;
  /** The values of the built-in macros for this target. */
  macros: Record<string, string>;
}

export interface TimingInput {
  /** Unix milliseconds. */
  from: number;
  to: number;
  /** Max data points: the panel's `maxDataPoints`, else its width in pixels. */
  maxDataPoints: number;
  /** The panel's "Min interval" (`panel.interval`), already interpolated; may be empty. */
  panelInterval?: string | undefined;
  /** The target's "Min step" (`target.interval`), already interpolated; may be empty. */
  targetInterval?: string | undefined;
  intervalFactor?: number | undefined;
  /** The data source's scrape interval (`timeInterval`); default 15s. */
  scrapeInterval?: string | undefined;
}

/** Step, aligned range and macros of one Prometheus target (Grafana's PrometheusDatasource
 * createQuery, adjustInterval, getRateIntervalScopedVariable, getRangeScopedVars, alignRange). */
export function targetTiming(input: TimingInput): TargetTiming {
  const scrapeMs = intervalToMs(input.scrapeInterval ?? "") ?? 15_000;
  const lowLimit = intervalToMs(input.panelInterval ?? "") ?? scrapeMs;
  const rangeMs = input.to - input.from;
  const intervalMs = calculateInterval(rangeMs, input.maxDataPoints, lowLimit);
  let interval = intervalMs / 1000;
  const targetMs = intervalToMs(input.targetInterval ?? "");
  const minInterval = targetMs !== null ? targetMs / 1000 : interval;
  const scrape = targetMs !== null ? targetMs / 1000 : scrapeMs / 1000 || 15;
  const factor = input.intervalFactor && input.intervalFactor > 0 ? input.intervalFactor : 1;
  const start = input.from / 1000;
  const end = input.to / 1000;
  const range = Math.ceil(end - start);
  let safe = range / 11000;
  if (safe > 1) safe = Math.ceil(safe);
  const adjusted = Math.max(interval * factor, minInterval, safe);
  let intervalText = msToText(intervalMs);
  if (adjusted !== interval) {
    interval = adjusted;
    intervalText = `${interval}s`;
  }
  const rate = Math.max(interval + scrape, 4 * scrape);
  const rangeS = Math.round(rangeMs / 1000);
  const step = interval;
  return {
    step,
    start: Math.floor(start / step) * step,
    end: Math.floor(end / step) * step,
    macros: {
      __interval: intervalText,
      __interval_ms: String(Math.round(interval * 1000)),
      __rate_interval: `${rate}s`,
      __range: `${rangeS}s`,
      __range_s: String(rangeS),
      __range_ms: String(rangeMs),
    },
  };
}

/** A panel's own range: `timeFrom` ("1h": the last hour up to now, whatever the dashboard
 * shows) and `timeShift` ("1d": the range moved back a day), as Grafana's panel time overrides.
 * `info` is what the panel header shows ("Last 1h timeshift -1d"), empty without overrides. */
export function panelTime(
  timeFrom: unknown,
  timeShift: unknown,
  from: number,
  to: number,
  now: number,
): { from: number; to: number; info: string } {
  let f = from;
  let t = to;
  const parts: string[] = [];
  const fromMs = typeof timeFrom === "string" ? intervalToMs(timeFrom.replace(/^now-/, "")) : null;
  if (fromMs !== null && fromMs > 0) {
    f = now - fromMs;
    t = now;
    parts.push(`Last ${String(timeFrom).replace(/^now-/, "")}`);
  }
  const shiftMs = typeof timeShift === "string" ? intervalToMs(timeShift) : null;
  if (shiftMs !== null && shiftMs > 0) {
    f -= shiftMs;
    t -= shiftMs;
    parts.push(`timeshift -${String(timeShift)}`);
  }
  return { from: f, to: t, info: parts.join(" ") };
}
