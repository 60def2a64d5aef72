// The query language of Grafana's Prometheus variables (label_values, label_names, metrics,
// query_result), parsed into API calls; plus the variable regex and sort. Pure.

export type VarQuery =
  | { kind: "label_names"; match: string | null }
  | { kind: "label_values"; label: string; match: string | null }
  | { kind: "metrics"; regex: string }
  | { kind: "query_result"; expr: string }
  | { kind: "invalid"; reason: string };

const LABEL_NAMES = /^label_names\(\s*(.*?)\s*\)\s*$/s;
const LABEL_VALUES = /^label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)\s*$/s;
const METRICS = /^metrics\((.+)\)\s*$/s;
const QUERY_RESULT = /^query_result\((.+)\)\s*$/s;

/** The query text of a variable: a string, or newer Grafana's `{query: "...", qryType}`. */
export function queryText(raw: unknown): string {
  if (typeof raw === "string") return raw;
  if (raw && typeof raw === "object" && typeof (raw as { query?: unknown }).query === "string") {
    return (raw as { query: string }).query;
  }
  return "";
}

/** Parse an (already interpolated) variable query as Grafana's Prometheus data source does. */
export function parseVarQuery(text: string): VarQuery {
  const t = text.trim();
  let m = LABEL_NAMES.exec(t);
  if (m) return { kind: "label_names", match: m[1] ? m[1] : null };
  m = LABEL_VALUES.exec(t);
  if (m) return { kind: "label_values", label: m[2] ?? "", match: m[1] ? m[1].trim() : null };
  m = METRICS.exec(t);
  if (m) return { kind: "metrics", regex: (m[1] ?? "").trim() };
  m = QUERY_RESULT.exec(t);
  if (m) return { kind: "query_result", expr: (m[1] ?? "").trim() };
  if (!t) return { kind: "invalid", reason: "the variable has no query" };
  // Grafana runs any other text as a query and lists the results, like query_result
  return { kind: "query_result", expr: t };
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** How query_result lists one sample: `name{a="b"} 3 1700000000000` (Grafana's format). */
export function queryResultText(s: InstantSample): string {
  const { __name__: name = "", ...rest } = s.metric;
  const labels = Object.keys(rest)
    .map((k) => `${k}="${rest[k]}"`)
    .join(",");
  return `${name}{${labels}} ${s.value[1]} ${Math.round(s.value[0] * 1000)}`;
}

/** A variable's `regex` (e.g. "/.*instance=\"([^\"]+)\".* /") applied to the found texts:
 * without groups the text is kept when it matches; with groups the first group (or the
 * `text`/`value` named groups) is taken. Bad regexes keep everything. */
export function applyRegex(texts: string[], regex: string | undefined): Array<{ text: string; value: string }> {
  if (!regex) return texts.map((t) => ({ text: t, value: t }));
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(regex);
  let re: RegExp;
  try {
    re = m ? new RegExp(m[1] ?? "", (m[2] ?? "").replace("g", "")) : new RegExp(regex);
  } catch {
    return texts.map((t) => ({ text: t, value: t }));
  }
  const out: Array<{ text: string; value: string }> = [];
  for (const t of texts) {
    const found = re.exec(t);
    if (!found) continue;
    const groups = found.groups;
    if (groups && (groups.text !== undefined || groups.value !== undefined)) {
      const value = groups.value ?? groups.text ?? t;
      out.push({ text: groups.text ?? value, value });
    } else if (found.length > 1) {
      const value = found[1] ?? "";
      out.push({ text: value, value });
    } else {
      out.push({ text: t, value: t });
    }
  }
  return out;
}

/** Unique options sorted as Grafana's variable `sort` (0 none, 1/2 alphabetical, 3/4 numerical,
 * 5/6 alphabetical case-insensitive; odd ascending, even descending). */
export function sortOptions(options: Array<{ text: string; value: string }>, sort: number | undefined): Array<{ text: string; value: string }> {
  const seen = new Set<string>();
  const unique = options.filter((o) => (seen.has(o.value) ? false : (seen.add(o.value), true)));
  if (!sort) return unique;
  const desc = sort % 2 === 0;
  let cmp: (a: { text: string }, b: { text: string }) => number;
  if (sort === 3 || sort === 4) {
    const num = (t: string): number => {
      const m = /\d+(\.\d+)?/.exec(t);
      return m ? Number(m[0]) : -Infinity;
    };
    cmp = (a, b) => num(a.text) - num(b.text);
  } else if (sort === 5 || sort === 6) {
    cmp = (a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase());
  } else {
    cmp = (a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  }
  unique.sort(cmp);
  return desc ? unique.reverse() : unique;
}

/** Options of a `custom` variable: "a, b, c" or "text : value" pairs (Grafana's syntax,
 * commas escaped as "\,"). */
export function customOptions(query: string): Array<{ text: string; value: string }> {
  const parts = query.match(/(?:\\,|[^,])+/g) ?? [];
  return parts
    .map((p) => p.trim().replace(/\\,/g, ","))
    .filter((p) => p !== "")
    .map((p) => {
      const kv = /^(.+?)\s+:\s+(.+)$/.exec(p);
      return kv ? { text: kv[1] ?? p, value: kv[2] ?? p } : { text: p, value: p };
    });
}
