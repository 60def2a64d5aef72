// The metric names a PromQL expression selects, to explain a panel with no data ("metric X
// has never been received"). A small tokenizer, not a parser: strings, label matchers, ranges,
// function and aggregation names and grouping label lists are skipped. Pure.

const KEYWORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
  "and", "or", "unless", "atan2", "start", "end", "inf", "nan", "sum", "min", "max", "avg",
  "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
  "limitk", "limit_ratio",
]);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;

function skipString(expr: string, i: number): number {
  const quote = expr[i];
  let j = i + 1;
  while (j < expr.length && expr[j] !== quote) j += expr[j] === "\\" && quote !== "`" ? 2 : 1;
  return j + 1;
}

function closing(expr: string, i: number, open: string, close: string): number {
  let depth = 0;
  for (let j = i; j < expr.length; j++) {
    const c = expr[j];
    if (c === '"' || c === "'" || c === "`") {
      j = skipString(expr, j) - 1;
    } else if (c === open) {
      depth++;
    } else if (c === close) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return expr.length;
}

/** `{__name__="x"}` / `{__name__=~"x"}`: the name when it is a plain `=` match. */
function nameInMatchers(body: string): string | null {
  const m = /__name__\s*=\s*(["'`])((?:\\.|(?!\1).)*)\1/.exec(body);
  return m ? (m[2] ?? null) : null;
}

/** The metric names selected by `expr`, in order of appearance, without repeats. */
export function metricNames(expr: string): string[] {
  const out: string[] = [];
  const add = (n: string): void => {
    if (!out.includes(n)) out.push(n);
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? "";
    if (c === '"' || c === "'" || c === "`") {
      i = skipString(expr, i);
      continue;
    }
    if (c === "#") {
      const nl = expr.indexOf("\n", i);
      i = nl < 0 ? expr.length : nl + 1;
      continue;
    }
    if (c === "{") {
      const end = closing(expr, i, "{", "}");
      const name = nameInMatchers(expr.slice(i + 1, end - 1));
      if (name) add(name);
      i = end;
      continue;
    }
    if (c === "[") {
      i = closing(expr, i, "[", "]");
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // numbers and durations (5m, 1e3, 0x1f) are never names
      const m = /[0-9.]+(?:[eE][+-]?\d+)?[a-zA-Z0-9_]*/y;
      m.lastIndex = i;
      m.exec(expr);
      i = Math.max(m.lastIndex, i + 1);
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(expr);
    if (!ident) {
      i++;
      continue;
    }
    const word = ident[0];
    let j = IDENT.lastIndex;
    while (j < expr.length && /\s/.test(expr[j] ?? "")) j++;
    const next = expr[j];
    if (GROUPING.has(word.toLowerCase())) {
      i = next === "(" ? closing(expr, j, "(", ")") : j;
      continue;
    }
    if (next === "(" || KEYWORDS.has(word.toLowerCase())) {
      i = IDENT.lastIndex;
      continue;
    }
    add(word);
    i = IDENT.lastIndex;
  }
  return out;
}
