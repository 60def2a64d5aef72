// Time: the global local/UTC toggle, formatting, relative ("now-1h") and absolute ranges, and
// the auto-refresh tick. The range of a view lives in the URL as `from`/`to` (Grafana's
// spelling: `from=now-6h&to=now`, or absolute unix milliseconds / ISO 8601), `refresh=30s`.
import { computed, effect, signal, type ReadonlySignal } from "@preact/signals";
import { param, place, setParams } from "./url";

export type Zone = "local" | "utc";
const ZONE_KEY = "tripod.tz";

function storedZone(): Zone {
  try {
    return localStorage.getItem(ZONE_KEY) === "utc" ? "utc" : "local";
  } catch {
    return "local";
  }
}

const storedTz = signal<Zone>(storedZone());
/** The zone times are shown in: the URL's `tz` (a pasted link shows what its author saw), else
 * the user's last choice (localStorage), else local. */
export const zone: ReadonlySignal<Zone> = computed(() => {
  const fromUrl = place.value.params.get("tz");
  return fromUrl === "utc" || fromUrl === "local" ? fromUrl : storedTz.value;
});

/** Switch local/UTC: remembered in localStorage, and written to the URL when it has a `tz`. */
export function setZone(z: Zone): void {
  storedTz.value = z;
  try {
    localStorage.setItem(ZONE_KEY, z);
  } catch {
    /* storage disabled */
  }
  if (place.value.params.has("tz")) setParams({ tz: z });
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

function parts(ms: number, z: Zone) {
  const d = new Date(ms);
  return z === "utc"
    ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(), ms: d.getUTCMilliseconds() }
    : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds(), ms: d.getMilliseconds() };
}

/** "2026-12-02 13:04:05" (+ ".123" with `ms`) in the current zone (+ " UTC" with `suffix`).
 * Reading `zone` inside makes a component re-render on the toggle. */
export function formatTime(ms: number, opts: { ms?: boolean; suffix?: boolean; zone?: Zone } = {}): string {
  const z = opts.zone ?? zone.value;
  const p = parts(ms, z);
  let s = `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  if (opts.ms) s += `.${pad(p.ms, 3)}`;
  if (opts.suffix && z === "utc") s += " UTC";
  return s;
}

/** "13:04:05" (+ ".123" with `ms`) in the current zone. */
export function formatClock(ms: number, opts: { ms?: boolean } = {}): string {
  const p = parts(ms, zone.value);
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${opts.ms ? `.${pad(p.ms, 3)}` : ""}`;
}

/** A duration for people: "850µs", "12.3ms", "4.20s", "3m 05s", "2h 10m", "3d 4h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const a = Math.abs(ms);
  if (a < 1) return `${Math.round(ms * 1000)}µs`;
  if (a < 1000) return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)}ms`;
  const s = ms / 1000;
  if (a < 60_000) return `${s.toFixed(2)}s`;
  if (a < 3_600_000) return `${Math.floor(s / 60)}m ${pad(Math.floor(s % 60))}s`;
  if (a < 86_400_000) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration ("90s", "1h30m", "500ms") in milliseconds; null if it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let used = 0;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * (UNITS[m[2] ?? ""] ?? NaN);
    used = re.lastIndex;
  }
  return used === t.length && Number.isFinite(total) ? total : null;
}

/** "5m" → "5m", 90000 → "1m30s": milliseconds as a Prometheus duration. */
export function durationText(ms: number): string {
  if (ms <= 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const [u, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out;
}

/** A time expression in unix milliseconds, or null: "now", "now-1h", "now-1h30m", "now+5m",
 * unix seconds or milliseconds, ISO 8601 ("2026-12-02T10:00:00Z"), or "YYYY-MM-DD HH:MM[:SS]"
 * read in the current zone. */
export function parseTime(text: string, now: number = Date.now(), z: Zone = zone.value): number | null {
  const t = text.trim();
  if (t === "now") return now;
  const rel = /^now\s*([+-])\s*(.+)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[2] ?? "");
    return d === null ? null : rel[1] === "-" ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n); // seconds before year 5138, else ms
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/.exec(t);
  if (local) {
    const [y, mo, d, h, mi, s, ms] = local.slice(1).map((x) => Number(x ?? 0)) as number[];
    const args = [y!, mo! - 1, d!, h!, mi!, s!, Number(String(ms).padEnd(3, "0").slice(0, 3))] as const;
    return z === "utc" ? Date.UTC(...args) : new Date(...args).getTime();
  }
  const iso = Date.parse(t);
  return Number.isNaN(iso) ? null : iso;
}

/** How a range endpoint reads back: relative expressions as they are, absolute ones as
 * "YYYY-MM-DD HH:MM:SS" in the current zone. */
export function timeText(expr: string): string {
  if (expr.startsWith("now")) return expr;
  const ms = parseTime(expr);
  return ms === null ? expr : formatTime(ms);
}

export interface Range {
  /** Unix milliseconds. */
  start: number;
  end: number;
}

/** The URL's time range (`from`, `to`, with defaults) and its resolved value. */
export interface TimeRangeState {
  from: ReturnType<typeof param>;
  to: ReturnType<typeof param>;
  refresh: ReturnType<typeof param>;
  /** The range in ms, resolved against "now" at the last refresh tick; null if unparseable. */
  range: ReadonlySignal<Range | null>;
}

/** The auto-refresh counter: +1 every `refresh` interval (the shell runs the timer) and on
 * `refreshNow()`. Read it in an effect to refetch. */
export const refreshTick = signal(0);
export function refreshNow(): void {
  refreshTick.value++;
}

const ranges = new Map<string, TimeRangeState>();

/** The time range of the current view, from `from`/`to` in the URL (default: the last hour). */
export function timeRange(defaultFrom = "now-1h", defaultTo = "now"): TimeRangeState {
  const key = `${defaultFrom}|${defaultTo}`;
  let state = ranges.get(key);
  if (!state) {
    const from = param("from", defaultFrom);
    const to = param("to", defaultTo);
    const range = computed<Range | null>(() => {
      void refreshTick.value;
      const now = Date.now();
      const start = parseTime(from.value, now);
      const end = parseTime(to.value, now);
      return start === null || end === null || start >= end ? null : { start, end };
    });
    state = { from, to, refresh: param("refresh", ""), range };
    ranges.set(key, state);
  }
  return state;
}

/** A step for a range query: about `points` points, rounded to a tidy value, at least 1 s. */
export function autoStep(range: Range, points = 250): number {
  const raw = (range.end - range.start) / points;
  const tidy = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000);
  return tidy.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** The shell's auto-refresh timer, driven by the URL's `refresh` (installed once by main.tsx). */
export function installRefreshTimer(): void {
  let timer: number | undefined;
  effect(() => {
    const every = parseDuration(place.value.params.get("refresh") ?? "");
    window.clearInterval(timer);
    timer = undefined;
    if (every !== null && every >= 1000) timer = window.setInterval(refreshNow, every);
  });
}
