// Series names: a target's legendFormat (`{{label}}`), else Prometheus's `name{a="b"}`. Pure.

export type Labels = Record<string, string>;

/** Grafana's renderLegendFormat: `{{ label }}` → the label's value; a missing (or empty)
 * label is replaced by its name, as Grafana does. */
export function renderLegend(format: string, labels: Labels): string {
  return format.replace(/\{\{\s*(.+?)\s*\}\}/g, (_m, name: string) => labels[name] || name);
}

/** `metric{a="b", c="d"}` (labels sorted, `__name__` as the prefix); `{}` when there is
 * nothing, as Grafana's getOriginalMetricName. */
export function seriesName(labels: Labels): string {
  const name = labels.__name__ ?? "";
  const rest = Object.keys(labels)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${name}{${rest.join(", ")}}`;
}

/** The name of one series: the legend format when given (not "__auto"), else the labels; a
 * series with no labels at all is named by its query, as Grafana does. */
export function displayName(labels: Labels, legendFormat: string | undefined, expr: string): string {
  if (legendFormat && legendFormat !== "__auto") return renderLegend(legendFormat, labels);
  if (Object.keys(labels).length === 0) return expr;
  return seriesName(labels);
}
