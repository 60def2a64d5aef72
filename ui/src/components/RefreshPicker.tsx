// Refresh now, and auto-refresh every N (the URL's `refresh`; the shell runs the timer).
import type { JSX } from "preact";
import { refreshNow, timeRange } from "../lib/time";

export const REFRESH_CHOICES = ["", "5s", "10s", "30s", "1m", "5m", "15m"];

export function RefreshPicker(): JSX.Element {
  const { refresh } = timeRange();
  return (
    <div class="refresh">
      <button type="button" onClick={refreshNow} title="Refresh now" aria-label="Refresh now">
        ⟳
      </button>
      <select
        aria-label="Auto-refresh"
        value={refresh.value}
        onChange={(e) => (refresh.value = e.currentTarget.value)}
      >
        {REFRESH_CHOICES.map((c) => (
          <option key={c} value={c}>
            {c ? `every ${c}` : "Off"}
          </option>
        ))}
      </select>
    </div>
  );
}
