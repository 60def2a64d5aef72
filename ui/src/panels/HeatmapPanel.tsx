// Heatmap of Prometheus histogram buckets: our own canvas, one cell per (time, bucket), darker
// for more; a tooltip names the time, the bucket's bounds and the count.
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { formatClock, formatTime, zone } from "../lib/time";
import type { Frame } from "./_util/frames";
import { bucketsToHeatmap, type HeatmapData } from "./_util/heatmap";
import { formatValue } from "./_util/units";

const LEFT = 64;
const BOTTOM = 20;

function cellColor(v: number, max: number): string {
  // light to dark blue, on a square-root scale so small buckets stay visible
  const f = max > 0 ? Math.sqrt(v / max) : 0;
  const light = [222, 235, 247];
  const dark = [8, 48, 107];
  const c = light.map((l, i) => Math.round(l + ((dark[i] ?? 0) - l) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function boundText(le: string, unit: string): string {
  return le === "+Inf" ? "+Inf" : formatValue(Number(le), unit);
}

export function HeatmapPanel(props: { frames: Frame[]; cumulative: boolean; unit: string; height: number; title: string }): JSX.Element {
  const data: HeatmapData = useMemo(
    () =>
      bucketsToHeatmap(
        props.frames.map((f) => ({ metric: f.labels, values: f.times.map((t, i) => [t, String(f.values[i] ?? "NaN")] as [number, string]) })),
        props.cumulative,
      ),
    [props.frames, props.cumulative],
  );
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [tip, setTip] = useState<{ x: number; y: number; text: string[] } | null>(null);
  const z = zone.value;
  const height = Math.max(60, props.height - 8);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c || width <= 0) return;
    const ratio = window.devicePixelRatio || 1;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const plotW = width - LEFT;
    const plotH = height - BOTTOM;
    const cols = data.times.length;
    const rows = data.bounds.length;
    if (!cols || !rows || plotW <= 0 || plotH <= 0) return;
    const cw = plotW / cols;
    const rh = plotH / rows;
    for (let r = 0; r < rows; r++) {
      const row = data.counts[r] ?? [];
      for (let col = 0; col < cols; col++) {
        const v = row[col];
        if (v === null || v === undefined || v <= 0) continue;
        ctx.fillStyle = cellColor(v, data.max);
        ctx.fillRect(LEFT + col * cw, plotH - (r + 1) * rh, Math.max(1, cw - 0.5), Math.max(1, rh - 0.5));
      }
    }
    ctx.fillStyle = "#5b6475";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    const every = Math.max(1, Math.ceil(rows / Math.max(1, Math.floor(plotH / 14))));
    for (let r = 0; r < rows; r += every) ctx.fillText(boundText(data.bounds[r] ?? "", props.unit), LEFT - 4, plotH - (r + 0.5) * rh);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const ticks = Math.max(1, Math.floor(plotW / 90));
    for (let k = 0; k <= ticks; k++) {
      const col = Math.min(cols - 1, Math.round((k / ticks) * (cols - 1)));
      const t = data.times[col];
      if (t !== undefined) ctx.fillText(formatClock(t * 1000), LEFT + (col + 0.5) * cw, plotH + 4);
    }
  }, [data, width, height, props.unit, z]);

  const onMove = (e: MouseEvent): void => {
    const c = canvas.current;
    if (!c) return;
    const rect = c.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const plotW = width - LEFT;
    const plotH = height - BOTTOM;
    const col = Math.floor(((x - LEFT) / plotW) * data.times.length);
    const row = Math.floor(((plotH - y) / plotH) * data.bounds.length);
    if (x < LEFT || y > plotH || col < 0 || row < 0 || col >= data.times.length || row >= data.bounds.length) {
      setTip(null);
      return;
    }
    const lower = row > 0 ? boundText(data.bounds[row - 1] ?? "", props.unit) : "0";
    const upper = boundText(data.bounds[row] ?? "", props.unit);
    const v = data.counts[row]?.[col];
    setTip({
      x: Math.min(x + 12, width - 180),
      y: Math.max(0, y - 10),
      text: [formatTime((data.times[col] ?? 0) * 1000), `bucket ${lower} – ${upper}`, `count ${v === null || v === undefined ? "–" : formatValue(v, "short")}`],
    });
  };

  return (
    <div ref={box} class="heatmap" data-testid="heatmap" data-rows={data.bounds.length} data-columns={data.times.length}>
      <canvas
        ref={canvas}
        style={{ width: `${width}px`, height: `${height}px` }}
        role="img"
        aria-label={`${props.title}: heatmap of ${data.bounds.length} buckets over ${data.times.length} steps`}
        onMouseMove={onMove}
        onMouseLeave={() => setTip(null)}
      />
      {tip && (
        <div class="chart-tip" style={{ left: `${tip.x}px`, top: `${tip.y}px` }}>
          {tip.text.map((t, i) => (
            <div key={i}>{t}</div>
          ))}
        </div>
      )}
    </div>
  );
}
