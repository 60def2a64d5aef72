import "./dom-shim";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VNode } from "preact";
import { ApiError, withParams } from "../src/lib/api";
import { markdown, safeUrl } from "../src/lib/markdown";
import { autoStep, durationText, formatTime, parseDuration, parseTime } from "../src/lib/time";
import { href, navigate, param, place, setParams } from "../src/lib/url";
import { alignMatrix, seriesName, tableRows } from "../src/pages/explore/data";

type Node = VNode<Record<string, unknown>> | string | number | null | undefined | Node[];

/** Every element of a vnode tree, depth first. */
function elements(nodes: Node): Array<VNode<Record<string, unknown>>> {
  const out: Array<VNode<Record<string, unknown>>> = [];
  const walk = (n: Node): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n === null || n === undefined || typeof n !== "object") return;
    out.push(n);
    walk(n.props.children as Node);
  };
  walk(nodes);
  return out;
}

function text(nodes: Node): string {
  if (Array.isArray(nodes)) return nodes.map(text).join("");
  if (nodes === null || nodes === undefined) return "";
  if (typeof nodes !== "object") return String(nodes);
  return text(nodes.props.children as Node);
}

test("markdown keeps markup as text and never emits raw HTML", () => {
  const src = '# Title <img src=x onerror="alert(1)">\n\n<script>alert(1)</script> **bold** `code`\n\n- a\n- [b](https://example.com/x)';
  const tree = markdown(src) as Node;
  const els = elements(tree);
  const tags = new Set(els.map((e) => e.type));
  assert.deepEqual([...tags].sort(), ["a", "code", "h1", "li", "p", "strong", "ul"]);
  for (const e of els) {
    assert.equal(e.props.dangerouslySetInnerHTML, undefined);
    for (const key of Object.keys(e.props)) assert.ok(!/^on/i.test(key), `no event handler prop ${key}`);
  }
  assert.match(text(tree), /<script>alert\(1\)<\/script>/);
  assert.match(text(tree), /onerror="alert\(1\)"/);
  const link = els.find((e) => e.type === "a");
  assert.equal(link?.props.href, "https://example.com/x");
  assert.equal(link?.props.rel, "noopener noreferrer");
});

test("markdown links with dangerous schemes become plain text", () => {
  for (const url of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example/x"]) {
    const els = elements(markdown(`[click](${url})`) as Node);
    assert.equal(els.filter((e) => e.type === "a").length, 0, url);
  }
  assert.equal(safeUrl(" javascript:alert(1)"), null);
  assert.equal(safeUrl("java\u0000script:x"), null);
  assert.equal(safeUrl("/traces/abc?x=1"), "/traces/abc?x=1");
  assert.equal(safeUrl("mailto:ops@example.com"), "mailto:ops@example.com");
});

test("relative and absolute times", () => {
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  assert.equal(parseTime("now", now), now);
  assert.equal(parseTime("now-1h", now), now - 3_600_000);
  assert.equal(parseTime("now-1h30m", now), now - 5_400_000);
  assert.equal(parseTime("now+5m", now), now + 300_000);
  assert.equal(parseTime("2026-12-02T10:00:00Z", now), Date.UTC(2026, 11, 2, 10));
  assert.equal(parseTime("2026-12-02 10:00", now, "utc"), Date.UTC(2026, 11, 2, 10));
  assert.equal(parseTime("1796205600", now), 1_796_205_600_000);
  assert.equal(parseTime("1796205600000", now), 1_796_205_600_000);
  for (const bad of ["now-", "now-1x", "yesterday", ""]) assert.equal(parseTime(bad, now), null, bad);
  assert.equal(formatTime(Date.UTC(2026, 11, 2, 9, 5, 7, 12), { zone: "utc", ms: true, suffix: true }), "2026-12-02 09:05:07.012 UTC");
});

test("durations and steps", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("5x"), null);
  assert.equal(durationText(90_000), "1m30s");
  assert.equal(autoStep({ start: 0, end: 3_600_000 }), 15_000);
  assert.equal(autoStep({ start: 0, end: 7 * 86_400_000 }), 3_600_000);
});

test("the position of a PromQL parse error, as tripod serve words it", () => {
  const e = new ApiError(400, "bad_data", 'invalid parameter "query": 1:12: parse error: unexpected character');
  assert.equal(e.line, 1);
  assert.equal(e.column, 12);
  assert.equal(e.offsetIn("rate(up[5m)"), 11);
  assert.equal(new ApiError(400, "bad_data", "2:3: parse error: x").offsetIn("sum(\n  rate(x[5m]))"), 7);
  assert.equal(new ApiError(422, "execution", "query timed out").offsetIn("up"), null);
});

test("URL state: params, defaults, links", () => {
  navigate("/explore?q=up");
  assert.equal(place.value.path, "/explore");
  const q = param("q");
  const view = param("view", "graph");
  assert.equal(q.value, "up");
  assert.equal(view.value, "graph");
  view.value = "table";
  assert.equal(window.location.search, "?q=up&view=table");
  view.value = "graph"; // the default leaves the URL
  assert.equal(window.location.search, "?q=up");
  setParams({ from: "now-6h", q: null });
  assert.equal(window.location.search, "?from=now-6h");
  assert.equal(href("/traces", { service: "a b", empty: "", none: null }), "/traces?service=a+b");
  assert.equal(withParams("/api/v1/series", { "match[]": ["a", "b"], x: undefined }), "/api/v1/series?match%5B%5D=a&match%5B%5D=b");
});

test("query results become graph columns and table rows", () => {
  assert.equal(seriesName({ __name__: "up", job: "a", instance: 'x"y' }), 'up{instance="x\\"y", job="a"}');
  assert.equal(seriesName({}), "{}");
  const aligned = alignMatrix([
    { metric: { job: "a" }, values: [[10, "1"], [20, "2"]] },
    { metric: { job: "b" }, values: [[20, "NaN"], [30, "+Inf"]] },
  ]);
  assert.deepEqual(aligned.times, [10, 20, 30]);
  assert.deepEqual(aligned.series.map((s) => s.values), [[1, 2, null], [null, null, null]]);
  const rows = tableRows({ resultType: "scalar", result: [10, "3"] });
  assert.deepEqual(rows, { rows: [{ labels: "scalar", value: "3" }], total: 1 });
});
