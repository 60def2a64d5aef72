// The time range of the current view: quick relative ranges and a from/to form accepting
// "now-2h", ISO 8601 or "YYYY-MM-DD HH:MM" in the current zone. Writes `from`/`to` in the URL.
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { parseTime, timeRange, timeText, zone } from "../lib/time";
import { setParams } from "../lib/url";

export const QUICK_RANGES: ReadonlyArray<[string, string]> = [
  ["now-5m", "Last 5 minutes"],
  ["now-15m", "Last 15 minutes"],
  ["now-30m", "Last 30 minutes"],
  ["now-1h", "Last 1 hour"],
  ["now-3h", "Last 3 hours"],
  ["now-6h", "Last 6 hours"],
  ["now-12h", "Last 12 hours"],
  ["now-24h", "Last 24 hours"],
  ["now-2d", "Last 2 days"],
  ["now-7d", "Last 7 days"],
];

export function rangeLabel(from: string, to: string): string {
  if (to === "now") {
    const quick = QUICK_RANGES.find(([f]) => f === from);
    if (quick) return quick[1];
    const rel = /^now-(\d+[smhdwy])$/.exec(from);
    if (rel) return `Last ${rel[1]}`;
  }
  return `${timeText(from)} → ${timeText(to)}`;
}

export function TimeRangePicker(props: { defaultFrom?: string; defaultTo?: string }): JSX.Element {
  const { from, to } = timeRange(props.defaultFrom, props.defaultTo);
  const open = useSignal(false);
  const draftFrom = useSignal("");
  const draftTo = useSignal("");
  const problem = useSignal("");
  void zone.value; // re-render the label on the local/UTC toggle
  const box = useRef<HTMLDivElement>(null);
  // a click outside the popover or Escape closes it
  useEffect(() => {
    if (!open.value) return undefined;
    const onDown = (e: MouseEvent): void => {
      if (box.current && !box.current.contains(e.target as Node)) open.value = false;
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === "Escape") open.value = false;
    };
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open.value]);

  const toggle = (): void => {
    draftFrom.value = timeText(from.value);
    draftTo.value = timeText(to.value);
    problem.value = "";
    open.value = !open.value;
  };
  const apply = (f: string, t: string): void => {
    setParams({ from: f, to: t }, { push: true });
    open.value = false;
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    const f = draftFrom.value.trim();
    const t = draftTo.value.trim();
    const fs = parseTime(f);
    const ts = parseTime(t);
    if (fs === null) problem.value = `"${f}" is not a time: use now-1h, 2026-12-02 10:00 or ISO 8601`;
    else if (ts === null) problem.value = `"${t}" is not a time: use now, 2026-12-02 11:00 or ISO 8601`;
    else if (fs >= ts) problem.value = "the start must be before the end";
    else apply(f.startsWith("now") ? f : String(fs), t.startsWith("now") ? t : String(ts));
  };
  return (
    <div class="picker" ref={box}>
      <button type="button" class="picker-button" aria-expanded={open.value} onClick={toggle} title="Time range">
        {rangeLabel(from.value, to.value)}
      </button>
      {open.value && (
        <div class="picker-pop" role="dialog" aria-label="Time range">
          <form onSubmit={submit} class="picker-form">
            <label>
              From <input value={draftFrom.value} onInput={(e) => (draftFrom.value = e.currentTarget.value)} />
            </label>
            <label>
              To <input value={draftTo.value} onInput={(e) => (draftTo.value = e.currentTarget.value)} />
            </label>
            {problem.value && <p class="error-text">{problem.value}</p>}
            <button type="submit">Apply</button>
          </form>
          <ul class="picker-quick">
            {QUICK_RANGES.map(([f, label]) => (
              <li key={f}>
                <button type="button" class={from.value === f && to.value === "now" ? "active" : ""} onClick={() => apply(f, "now")}>
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
