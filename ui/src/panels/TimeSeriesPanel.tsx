// Time series (and the old "graph" panel): uPlot through the shell's TimeSeriesChart, units
// from fieldConfig, exemplar dots that open the trace.
import type { JSX } from "preact";
import { useMemo } from "preact/hooks";
import type uPlot from "uplot";
import { TimeSeriesChart, PALETTE, type ChartSeries } from "../components/TimeSeriesChart";
import { formatTime } from "../lib/time";
import { setParams } from "../lib/url";
import type { Exemplar } from "../pages/dashboards/query";
import { align, type Frame } from "./_util/frames";
import { formatValue } from "./_util/units";

/** Exemplars as links over the chart (`/traces/<id>`). The links are made once per chart and
 * only moved on each redraw, so a pointer (or a test) aiming at one keeps the same element.
 * Their layer sits beside the chart (whose role is img, which must hold no links), placed over
 * its plotting area. */
function exemplarPlugin(exemplars: Exemplar[], format: (v: number | null | undefined) => string): uPlot.Plugin {
  let links: HTMLAnchorElement[] = [];
  let layer: HTMLDivElement | null = null;
  return {
    hooks: {
      init: (u) => {
        layer = document.createElement("div");
        layer.className = "exemplar-layer";
        links = exemplars.map((e) => {
          const a = document.createElement("a");
          a.className = "exemplar-dot";
          a.href = `/traces/${encodeURIComponent(e.traceId)}`;
          a.setAttribute("data-testid", "exemplar");
          a.setAttribute("data-trace-id", e.traceId);
          a.setAttribute("aria-label", `exemplar ${format(e.value)}: open trace ${e.traceId}`);
          a.title = `trace ${e.traceId}\n${format(e.value)} at ${formatTime(e.time * 1000)}`;
          layer?.appendChild(a);
          return a;
        });
        const host = u.root.closest(".ts-panel") ?? u.over;
        host.appendChild(layer);
      },
      destroy: () => {
        layer?.remove();
        layer = null;
      },
      draw: (u) => {
        const w = u.over.clientWidth;
        const h = u.over.clientHeight;
        const host = layer?.parentElement;
        if (layer && host && host !== u.over) {
          const o = u.over.getBoundingClientRect();
          const p = host.getBoundingClientRect();
          layer.style.left = `${o.left - p.left}px`;
          layer.style.top = `${o.top - p.top}px`;
          layer.style.width = `${w}px`;
          layer.style.height = `${h}px`;
        }
        exemplars.forEach((e, i) => {
          const a = links[i];
          if (!a) return;
          const x = u.valToPos(e.time, "x");
          const y = u.valToPos(e.value, "y");
          const inside = x >= 0 && x <= w && y >= 0 && y <= h;
          a.hidden = !inside;
          if (inside) {
            a.style.left = `${x}px`;
            a.style.top = `${y}px`;
          }
        });
      },
    },
  };
}

export function TimeSeriesPanel(props: {
  frames: Frame[];
  exemplars: Exemplar[];
  unit: string;
  decimals: number | null;
  height: number;
  legend: boolean;
  title: string;
}): JSX.Element {
  const { times, series } = useMemo(() => {
    const { times, columns } = align(props.frames);
    const series: ChartSeries[] = props.frames.map((f, i) => ({
      label: f.name,
      values: columns[i] ?? [],
      color: PALETTE[i % PALETTE.length] ?? "#2f6fde",
    }));
    return { times, series };
  }, [props.frames]);
  const format = useMemo(() => (v: number | null | undefined) => formatValue(v, props.unit, props.decimals), [props.unit, props.decimals]);
  const plugins = useMemo(() => (props.exemplars.length ? [exemplarPlugin(props.exemplars, format)] : []), [props.exemplars, format]);
  // uPlot's legend flows inline: about four entries a line, scrolling after four lines
  const legendRows = props.legend && series.length ? Math.min(4, Math.ceil(series.length / 4)) : 0;
  const height = Math.max(80, props.height - 8 - legendRows * 22);
  return (
    <div class="ts-panel" data-exemplars={props.exemplars.length}>
      <TimeSeriesChart
        times={times}
        series={series}
        height={height}
        format={format}
        plugins={plugins}
        legend={props.legend}
        ariaLabel={`${props.title}: time series`}
        onSelectRange={(a, b) => setParams({ from: String(a), to: String(b) }, { push: true })}
      />
    </div>
  );
}
