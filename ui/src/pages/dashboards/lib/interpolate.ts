// Template variables in queries, as Grafana's templateSrv.replace does it for the Prometheus
// data source: `$var`, `${var}`, `[[var]]`, `${var:format}`, `[[var:format]]`; multi-value and
// "All" values; the built-in macros ($__interval, $__rate_interval, $__range...). Pure.

export interface VarOption {
  text: string;
  value: string;
}

/** A variable's state as the dashboard uses it for interpolation. */
export interface VarValue {
  name: string;
  multi: boolean;
  includeAll: boolean;
  /** The custom "All" value (e.g. ".*"); used as it is, unescaped, when "All" is selected. */
  allValue?: string | null | undefined;
  /** Every option (without "All"), for "All" without an allValue. */
  options: VarOption[];
  /** The selected values ("$__all" for All). */
  values: string[];
  /** The selected texts, same order as values. */
  texts?: string[] | undefined;
}

export const ALL = "$__all";

/** The variable reference syntax of Grafana (variableRegex in templating/utils). */
export const VARIABLE_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Grafana's prometheusRegularEscape: a single value inside a PromQL string. */
export function promRegularEscape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "\\\\'");
}

/** Grafana's prometheusSpecialRegexEscape: a value inside a PromQL regex matcher string. */
export function promRegexEscape(value: string): string {
  return value.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
}

/** Grafana's kbn.regexEscape (the `:regex` format). */
export function regexEscape(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, "\\$&");
}

/** The Prometheus data source's default formatting (interpolateQueryExpr). */
function promDefault(values: string[], v: VarValue): string {
  if (!v.multi && !v.includeAll) return promRegularEscape(values.join(","));
  const escaped = values.map(promRegexEscape);
  if (escaped.length === 1) return escaped[0] ?? "";
  return `(${escaped.join("|")})`;
}

function formatValues(values: string[], texts: string[], format: string | undefined, v: VarValue): string {
  switch (format) {
    case undefined:
      return promDefault(values, v);
    case "raw":
      return values.join(",");
    case "regex":
      return values.length === 1 ? regexEscape(values[0] ?? "") : `(${values.map(regexEscape).join("|")})`;
    case "pipe":
      return values.join("|");
    case "csv":
      return values.join(",");
    case "distributed":
      return values.map((x, i) => (i === 0 ? x : `${v.name}=${x}`)).join(",");
    case "glob":
      return values.length === 1 ? (values[0] ?? "") : `{${values.join(",")}}`;
    case "json":
      return JSON.stringify(values.length === 1 ? values[0] : values);
    case "text":
      return texts.join(" + ");
    case "doublequote":
      return values.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(",");
    case "singlequote":
      return values.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(",");
    case "sqlstring":
      return values.map((x) => `'${x.replace(/'/g, "''")}'`).join(",");
    case "percentencode":
      return encodeURIComponent(values.length === 1 ? (values[0] ?? "") : `{${values.join(",")}}`);
    case "queryparam":
      return values.map((x) => `var-${v.name}=${encodeURIComponent(x)}`).join("&");
    case "lucene":
      return values.length === 1
        ? (values[0] ?? "").replace(/([!*+\-=<>\s&|()[\]{}^~?:\\/"])/g, "\\$1")
        : `(${values.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(" OR ")})`;
    default:
      return promDefault(values, v);
  }
}

/** The text one variable reference becomes; null when the name is unknown (left as written). */
export function formatVariable(v: VarValue, format: string | undefined): string {
  const all = v.values.includes(ALL);
  if (all && v.allValue !== undefined && v.allValue !== null && v.allValue !== "") {
    // Grafana uses a custom all value as it is, whatever the format (but `text`)
    return format === "text" ? "All" : v.allValue;
  }
  const values = all ? v.options.map((o) => o.value) : v.values;
  const texts = all ? ["All"] : (v.texts ?? v.values);
  return formatValues(values, texts, format, v);
}

/** `text` with every known variable and macro replaced. `macros` are plain strings
 * ($__interval → "15s"); unknown names stay as written, as in Grafana. `defaultFormat` applies
 * to references without their own (titles use "text", as Grafana's panel titles do). */
export function interpolate(
  text: string,
  vars: ReadonlyMap<string, VarValue>,
  macros: Record<string, string> = {},
  defaultFormat?: string,
): string {
  return text.replace(VARIABLE_RE, (match, n1?: string, n2?: string, f2?: string, n3?: string, _path?: string, f3?: string) => {
    const name = n1 ?? n2 ?? n3 ?? "";
    const format = f2 ?? f3 ?? defaultFormat;
    if (Object.prototype.hasOwnProperty.call(macros, name)) return macros[name] ?? match;
    const v = vars.get(name);
    if (!v) return match;
    return formatVariable(v, format);
  });
}

/** The variable names `text` refers to (to know which variables depend on which). */
export function referencedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(VARIABLE_RE)) out.add(m[1] ?? m[2] ?? m[4] ?? "");
  out.delete("");
  return out;
}
