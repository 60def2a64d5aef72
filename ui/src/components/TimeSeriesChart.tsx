// A uPlot time-series chart: legend, hover tooltip, drag to select a range, the local/UTC
// toggle on its axis. uPlot is imported here only, so it lands in the chunks of the pages that
// draw charts (Explore, Dashboards), never in the shell.
import { useEffect, useRef } from "preact/hooks";
import type { JSX } from "preact";
import uPlot from "uplot";
import { formatTime, zone, type Zone } from "../lib/time";

export interface ChartSeries {
  label: string;
  /** One value per entry of `times` (null: no sample). */
  values: Array<number | null>;
  color?: string;
}

export const PALETTE = [
  "#2f6fde", "#e8743b", "#19a979", "#945ecf", "#ed4a7b", "#13a4b4", "#c9a000", "#6c8893",
  "#bf399e", "#5899da", "#8c564b", "#2e7d32",
];

/** uPlot's `tzDate` for the zone: UTC shows UTC wall time on the axis. */
export function tzDate(z: Zone): (ts: number) => Date {
  return z === "utc" ? (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") : (ts) => new Date(ts * 1000);
}

/** A value for people: 1.23k, 4.5M, 0.0012, ... */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a === 0 || a >= 0.01) return String(Number(v.toPrecision(4)));
  return v.toExponential(2);
}

/** 24-hour tick labels in the zone of the toggle: seconds for short ranges, the date for long
 * ones (uPlot's default is a 12-hour clock). */
function timeTicks(u: uPlot, splits: number[]): string[] {
  const min = u.scales.x?.min ?? 0;
  const max = u.scales.x?.max ?? 0;
  const span = max - min;
  return splits.map((ts) => {
    const full = formatTime(ts * 1000); // "YYYY-MM-DD HH:MM:SS"
    if (span <= 600) return full.slice(11, 19);
    if (span <= 2 * 86400) return full.slice(11, 16);
    return `${full.slice(5, 10)} ${full.slice(11, 16)}`;
  });
}

function tooltipPlugin(format: (v: number | null | undefined) => string, colors: string[]): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement("div");
        tip.className = "chart-tip";
        tip.hidden = true;
        u.over.appendChild(tip);
      },
      setCursor: (u) => {
        const i = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (i === null || i === undefined || left < 0) {
          tip.hidden = true;
          return;
        }
        const t = u.data[0][i];
        tip.textContent = "";
        const head = document.createElement("div");
        head.className = "chart-tip-time";
        head.textContent = t === undefined ? "" : formatTime(t * 1000);
        tip.appendChild(head);
        // the focused series, else every series with a value (at most 8)
        const rows: number[] = [];
        for (let s = 1; s < u.series.length; s++) {
          const v = u.data[s]?.[i];
          if (v === null || v === undefined) continue;
          if (u.series[s]?.show === false) continue;
          rows.push(s);
        }
        rows.sort((a, b) => Number(u.data[b]?.[i] ?? 0) - Number(u.data[a]?.[i] ?? 0));
        for (const s of rows.slice(0, 8)) {
          const row = document.createElement("div");
          const dot = document.createElement("span");
          dot.className = "chart-tip-dot";
          dot.style.background = colors[s - 1] ?? "#888";
          row.append(dot, `${u.series[s]?.label ?? ""}: ${format(u.data[s]?.[i])}`);
          tip.appendChild(row);
        }
        if (rows.length > 8) tip.append(`… ${rows.length - 8} more`);
        tip.hidden = false;
        const w = u.over.clientWidth;
        tip.style.left = `${left > w / 2 ? left - tip.offsetWidth - 12 : left + 12}px`;
        tip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}

export function TimeSeriesChart(props: {
  /** Unix seconds, ascending. */
  times: number[];
  series: ChartSeries[];
  height?: number;
  /** Format of y values (axis, legend, tooltip). */
  format?: (v: number | null | undefined) => string;
  /** Called with the range (ms) the user dragged over. */
  onSelectRange?: (startMs: number, endMs: number) => void;
  /** Extra uPlot plugins (e.g. exemplar dots drawn in the `draw` hook). */
  plugins?: uPlot.Plugin[];
  /** Show uPlot's legend under the chart (default true). */
  legend?: boolean;
  stacked?: boolean;
  ariaLabel?: string;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const z = zone.value;
  const format = props.format ?? formatValue;
  const select = useRef(props.onSelectRange);
  select.current = props.onSelectRange;

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const colors = props.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length] ?? "#2f6fde");
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: props.height ?? 260,
      tzDate: tzDate(z),
      cursor: { focus: { prox: 16 }, drag: { x: true, y: false, setScale: false } },
      focus: { alpha: 0.4 },
      legend: { show: props.legend ?? true, live: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#5b6475", grid: { stroke: "#eceff4" }, values: (u, splits) => timeTicks(u, splits) },
        { stroke: "#5b6475", grid: { stroke: "#eceff4" }, values: (_u, vals) => vals.map((v) => format(v)),
          // wide enough for the longest tick label ("1.50 K req/s")
          size: (_u, vals) => Math.max(60, 16 + 7 * Math.max(0, ...(vals ?? []).map((v) => String(v).length))) },
      ],
      series: [
        { value: (_u, v) => (v === null ? "–" : formatTime(v * 1000)) },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: colors[i],
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => format(v),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 2 && select.current) {
              const a = u.posToVal(u.select.left, "x");
              const b = u.posToVal(u.select.left + u.select.width, "x");
              select.current(Math.round(a * 1000), Math.round(b * 1000));
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
      plugins: [tooltipPlugin(format, colors), ...(props.plugins ?? [])],
    };
    const data: uPlot.AlignedData = [props.times, ...props.series.map((s) => s.values)];
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (el.clientWidth > 0) u.setSize({ width: el.clientWidth, height: props.height ?? 260 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [props.times, props.series, props.height, z, props.plugins, props.legend]);

  return <div ref={box} class="chart" role="img" aria-label={props.ariaLabel ?? "time series chart"} />;
}
