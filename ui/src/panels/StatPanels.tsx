// Stat, gauge and bar gauge: one reduced value per series, coloured by thresholds.
import type { JSX } from "preact";
import { Sparkline } from "../components/Sparkline";
import type { Frame } from "./_util/frames";
import { mapValue, type FieldDefaults } from "./_util/options";
import { cssColor, reduce, thresholdColor } from "./_util/reduce";
import { formatValue } from "./_util/units";

export interface Reduced {
  name: string;
  value: number | null;
  text: string;
  color: string | null;
  values: Array<number | null>;
}

const MAX_VALUES = 24;

export function reduceFrames(frames: Frame[], calc: string, field: FieldDefaults): Reduced[] {
  return frames.slice(0, MAX_VALUES).map((f) => {
    const value = reduce(f.values, calc);
    const mapped = mapValue(value, field.mappings);
    return {
      name: f.name,
      value,
      text: mapped?.text ?? formatValue(value, field.unit, field.decimals),
      color: cssColor(mapped?.color) ?? thresholdColor(value, field.steps),
      values: f.values,
    };
  });
}

export function StatPanel(props: { items: Reduced[]; sparkline: boolean; background: boolean; height: number }): JSX.Element {
  const showName = props.items.length > 1;
  return (
    <div class="stat-grid">
      {props.items.map((it, i) => (
        <div
          key={i}
          class={`stat${props.background && it.color ? " stat-bg" : ""}`}
          data-testid="stat-value"
          style={props.background && it.color ? { background: it.color } : undefined}
        >
          {showName && <div class="stat-name">{it.name}</div>}
          <div class="stat-value" style={!props.background && it.color ? { color: it.color } : undefined}>
            {it.text}
          </div>
          {props.sparkline && it.values.length > 1 && (
            <Sparkline values={it.values} width={160} height={Math.min(40, Math.max(16, props.height / 5))} class="stat-spark" />
          )}
        </div>
      ))}
    </div>
  );
}

/** An arc of 240°, Grafana's gauge shape. */
function arc(fraction: number, r: number): string {
  const start = (150 * Math.PI) / 180;
  const end = start + (240 * Math.PI * Math.min(1, Math.max(0, fraction))) / 180;
  const x1 = 50 + r * Math.cos(start);
  const y1 = 50 + r * Math.sin(start);
  const x2 = 50 + r * Math.cos(end);
  const y2 = 50 + r * Math.sin(end);
  const large = end - start > Math.PI ? 1 : 0;
  return `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${r} ${r} 0 ${large} 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`;
}

function bounds(field: FieldDefaults, items: Reduced[], fallbackMax: number): [number, number] {
  const min = field.min ?? 0;
  const seen = items.map((i) => i.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = field.max ?? (field.unit === "percentunit" ? 1 : field.unit === "percent" ? 100 : Math.max(fallbackMax, ...seen));
  return [min, max > min ? max : min + 1];
}

export function GaugePanel(props: { items: Reduced[]; field: FieldDefaults }): JSX.Element {
  const [min, max] = bounds(props.field, props.items, 100);
  return (
    <div class="gauge-row">
      {props.items.map((it, i) => {
        const fraction = it.value === null ? 0 : (it.value - min) / (max - min);
        return (
          <figure key={i} class="gauge" data-testid="gauge-value">
            <svg viewBox="0 0 100 80" role="img" aria-label={`${it.name}: ${it.text}`}>
              <path d={arc(1, 40)} class="gauge-track" />
              {it.value !== null && <path d={arc(fraction, 40)} class="gauge-fill" style={{ stroke: it.color ?? "#37872d" }} />}
              <text x="50" y="54" class="gauge-text">
                {it.text}
              </text>
            </svg>
            {props.items.length > 1 && <figcaption>{it.name}</figcaption>}
          </figure>
        );
      })}
    </div>
  );
}

export function BarGaugePanel(props: { items: Reduced[]; field: FieldDefaults }): JSX.Element {
  const [min, max] = bounds(props.field, props.items, 0);
  return (
    <div class="bargauge" tabIndex={0} role="group" aria-label="bar gauge values">
      {props.items.map((it, i) => {
        const pct = it.value === null ? 0 : Math.min(100, Math.max(0, ((it.value - min) / (max - min)) * 100));
        return (
          <div key={i} class="bargauge-row" data-testid="bargauge-value">
            <span class="bargauge-name">{it.name}</span>
            <span class="bargauge-track">
              <span class="bargauge-bar" style={{ width: `${pct}%`, background: it.color ?? "#2f6fde" }} />
            </span>
            <span class="bargauge-text">{it.text}</span>
          </div>
        );
      })}
    </div>
  );
}
