// Unit tests of the dashboards view's pure modules (run by test_ui_lib.py: esbuild bundles
// ui/src/pages/dashboards/lib and ui/src/panels/_util into lib.mjs next to this file's copy).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as lib from "./lib.mjs";

const vars = (list) => new Map(list.map((v) => [v.name, v]));
const opt = (...values) => values.map((v) => ({ text: v, value: v }));

test("roundInterval follows Grafana's table", () => {
  assert.equal(lib.roundInterval(3600), 5000);
  assert.equal(lib.roundInterval(604800), 600000);
  assert.equal(lib.roundInterval(14), 10);
  assert.equal(lib.roundInterval(4e10), 31536000000);
});

test("step and macros of a one-hour panel 1000 px wide: the scrape interval is the floor", () => {
  const t = lib.targetTiming({ from: 1_700_000_000_000, to: 1_700_003_600_000, maxDataPoints: 1000 });
  assert.equal(t.step, 15);
  assert.deepEqual(t.macros, {
    __interval: "15s", __interval_ms: "15000", __rate_interval: "60s",
    __range: "3600s", __range_s: "3600", __range_ms: "3600000",
  });
  assert.equal(t.start % 15, 0);
  assert.equal(t.end, Math.floor(1_700_003_600 / 15) * 15);
});

test("step of a seven-day panel, with intervalFactor, Min step and the 11,000 points cap", () => {
  const week = { from: 0, to: 7 * 86400_000, maxDataPoints: 1000 };
  const t = lib.targetTiming(week);
  assert.equal(t.step, 600);
  assert.equal(t.macros.__interval, "10m");
  assert.equal(t.macros.__rate_interval, "615s");
  const f = lib.targetTiming({ ...week, intervalFactor: 2 });
  assert.equal(f.step, 1200);
  assert.equal(f.macros.__interval, "1200s");
  const m = lib.targetTiming({ from: 0, to: 3600_000, maxDataPoints: 1000, targetInterval: "1m" });
  assert.equal(m.step, 60);
  assert.equal(m.macros.__rate_interval, "240s");
  const cap = lib.targetTiming({ from: 0, to: 30 * 86400_000, maxDataPoints: 100000 });
  assert.equal(cap.step, 236);
  assert.equal(cap.macros.__interval, "236s");
  const p = lib.targetTiming({ from: 0, to: 3600_000, maxDataPoints: 1000, panelInterval: "2m", scrapeInterval: "30s" });
  assert.equal(p.step, 120);
  assert.equal(p.macros.__rate_interval, "150s");
});

test("interval strings", () => {
  assert.equal(lib.intervalToMs("1h30m"), 5400000);
  assert.equal(lib.intervalToMs(">10s"), 10000);
  assert.equal(lib.intervalToMs("30"), 30000);
  assert.equal(lib.intervalToMs("abc"), null);
  assert.equal(lib.msToText(90000), "1m");
  assert.equal(lib.msToText(500), "500ms");
});

test("a single-value variable is escaped for a PromQL string", () => {
  const v = vars([{ name: "job", multi: false, includeAll: false, options: [], values: ["a'b\\c"] }]);
  assert.equal(lib.interpolate('up{job="$job"}', v), 'up{job="a\\\\\'b\\\\c"}');
  assert.equal(lib.interpolate("x ${job} [[job]] ${job:raw}", v), "x a\\\\'b\\\\c a\\\\'b\\\\c a'b\\c");
});

test("multi-value and All: regex-escaped alternatives, allValue as it is", () => {
  const base = { name: "i", multi: true, includeAll: true, options: opt("a.b", "c", "d") };
  const two = vars([{ ...base, values: ["a.b", "c"] }]);
  assert.equal(lib.interpolate('up{i=~"$i"}', two), 'up{i=~"(a\\\\.b|c)"}');
  assert.equal(lib.interpolate("${i:pipe}|${i:regex}|${i:csv}|${i:glob}|${i:json}", two), 'a.b|c|(a\\.b|c)|a.b,c|{a.b,c}|["a.b","c"]');
  const one = vars([{ ...base, values: ["a.b"] }]);
  assert.equal(lib.interpolate("$i", one), "a\\\\.b");
  const allCustom = vars([{ ...base, allValue: ".*", values: ["$__all"] }]);
  assert.equal(lib.interpolate('up{i=~"$i"}', allCustom), 'up{i=~".*"}');
  const all = vars([{ ...base, values: ["$__all"] }]);
  assert.equal(lib.interpolate("$i", all), "(a\\\\.b|c|d)");
  assert.equal(lib.interpolate("${i:text}", all), "All");
  assert.equal(lib.interpolate("Route $i, raw ${i:raw}", two, {}, "text"), "Route a.b + c, raw a.b,c");
});

test("macros are replaced, unknown names stay as written", () => {
  const out = lib.interpolate("rate(x[$__rate_interval]) [$__range] $__range_s $nope ${nope}", new Map(), { __rate_interval: "60s", __range: "3600s", __range_s: "3600" });
  assert.equal(out, "rate(x[60s]) [3600s] 3600 $nope ${nope}");
  assert.deepEqual([...lib.referencedNames('x{a="$a", b="${b:regex}"} [[c]]')], ["a", "b", "c"]);
});

test("legends", () => {
  assert.equal(lib.renderLegend("{{http_route}} {{ code }}", { http_route: "/a", code: "500" }), "/a 500");
  assert.equal(lib.renderLegend("{{missing}}", {}), "missing");
  assert.equal(lib.displayName({ __name__: "up", job: "a", instance: "b" }, "", "up"), 'up{instance="b", job="a"}');
  assert.equal(lib.displayName({}, undefined, "sum(up)"), "sum(up)");
  assert.equal(lib.displayName({ job: "x" }, "__auto", "q"), '{job="x"}');
});

test("metric names in PromQL", () => {
  assert.deepEqual(lib.metricNames('sum by (le) (rate(h_bucket{job="$job", le=~"a|b"}[$__rate_interval]))'), ["h_bucket"]);
  assert.deepEqual(lib.metricNames("a / on (service, slo) group_left b"), ["a", "b"]);
  assert.deepEqual(lib.metricNames('{__name__="up", job="x"}'), ["up"]);
  assert.deepEqual(lib.metricNames('label_replace(up, "dst", "$1", "src", "(.*)") offset 5m'), ["up"]);
  assert.deepEqual(lib.metricNames("count(up) by (job) + topk(10, sum without (x) (c:rate5m)) * 1e3"), ["up", "c:rate5m"]);
  assert.deepEqual(lib.metricNames("histogram_quantile(0.9, x) > bool 3 and y unless z"), ["x", "y", "z"]);
});

test("variable queries", () => {
  assert.deepEqual(lib.parseVarQuery('label_values(m{job="a"}, instance)'), { kind: "label_values", label: "instance", match: 'm{job="a"}' });
  assert.deepEqual(lib.parseVarQuery("label_values(job)"), { kind: "label_values", label: "job", match: null });
  assert.deepEqual(lib.parseVarQuery("label_names()"), { kind: "label_names", match: null });
  assert.deepEqual(lib.parseVarQuery("metrics(http_.*)"), { kind: "metrics", regex: "http_.*" });
  assert.deepEqual(lib.parseVarQuery("query_result(topk(3, up))"), { kind: "query_result", expr: "topk(3, up)" });
  assert.equal(lib.queryText({ query: "label_values(job)", refId: "X" }), "label_values(job)");
  assert.equal(lib.queryResultText({ metric: { __name__: "up", job: "a" }, value: [1700000000, "1"] }), 'up{job="a"} 1 1700000000000');
  assert.deepEqual(lib.applyRegex(['up{job="a"} 1 1', 'up{job="b"} 1 1'], '/job="([^"]+)"/'), opt("a", "b"));
  assert.deepEqual(lib.applyRegex(["x1", "y2"], "/(?<text>[a-z])(?<value>\\d)/"), [{ text: "x", value: "1" }, { text: "y", value: "2" }]);
  assert.deepEqual(lib.applyRegex(["ab", "cd"], "/^a/"), opt("ab"));
  assert.deepEqual(lib.sortOptions(opt("b10", "a2", "b10", "C1"), 3).map((o) => o.text), ["C1", "a2", "b10"]);
  assert.deepEqual(lib.sortOptions(opt("b", "a", "C"), 2).map((o) => o.text), ["b", "a", "C"]);
  assert.deepEqual(lib.sortOptions(opt("b", "a", "C"), 5).map((o) => o.text), ["a", "b", "C"]);
  assert.deepEqual(lib.customOptions("a, b\\,c ,x : y"), [{ text: "a", value: "a" }, { text: "b,c", value: "b,c" }, { text: "x", value: "y" }]);
});

test("histogram buckets become heatmap cells", () => {
  const series = [
    { metric: { le: "+Inf" }, values: [[10, "5"], [20, "9"]] },
    { metric: { le: "0.1" }, values: [[10, "2"], [20, "4"]] },
    { metric: { le: "0.5" }, values: [[10, "4"]] },
    { metric: { job: "no le" }, values: [[10, "1"]] },
  ];
  const cells = lib.bucketsToHeatmap(series, true);
  assert.deepEqual(cells.bounds, ["0.1", "0.5", "+Inf"]);
  assert.deepEqual(cells.times, [10, 20]);
  assert.deepEqual(cells.counts, [[2, 4], [2, null], [1, 9]]);
  assert.equal(cells.max, 9);
  assert.deepEqual(lib.bucketsToHeatmap(series, false).counts, [[2, 4], [4, null], [5, 9]]);
});

test("units", () => {
  assert.equal(lib.formatValue(0.25, "s"), "250 ms");
  assert.equal(lib.formatValue(90, "s"), "1.5 min");
  assert.equal(lib.formatValue(1536, "bytes"), "1.5 KiB");
  assert.equal(lib.formatValue(0.05, "percentunit"), "5%");
  assert.equal(lib.formatValue(42.123, "percent"), "42.1%");
  assert.equal(lib.formatValue(1500, "reqps"), "1.5 K req/s");
  assert.equal(lib.formatValue(2500000, "short"), "2.5 Mil");
  assert.equal(lib.formatValue(12, "ms"), "12 ms");
  assert.equal(lib.formatValue(0.5, "s", 3), "500.000 ms");
  assert.equal(lib.formatValue(null, "s"), "–");
  assert.equal(lib.formatValue(Infinity, "short"), "+Inf");
});

test("grid sections: panels above the first row, open rows, collapsed rows with their own panels", () => {
  const panels = [
    { id: 1, type: "stat", gridPos: { x: 12, y: 0, w: 12, h: 4 } },
    { id: 2, type: "text", gridPos: { x: 0, y: 0, w: 12, h: 4 } },
    { id: 3, type: "row", title: "open", gridPos: { x: 0, y: 4, w: 24, h: 1 } },
    { id: 4, type: "timeseries", gridPos: { x: 0, y: 5, w: 30, h: 8 } },
    { id: 5, type: "row", title: "shut", collapsed: true, gridPos: { x: 0, y: 13, w: 24, h: 1 },
      panels: [{ id: 6, type: "table", gridPos: { x: 6, y: 14, w: 6, h: 3 } }] },
  ];
  const s = lib.sections(panels);
  assert.deepEqual(s.map((x) => [x.row?.title ?? null, x.collapsed, x.height, x.panels.map((p) => p.panel.id)]), [
    [null, false, 4, [2, 1]], ["open", false, 8, [4]], ["shut", true, 3, [6]],
  ]);
  assert.deepEqual(s[1].panels[0].pos, { x: 0, y: 0, w: 24, h: 8 });
  assert.deepEqual(s[2].panels[0].pos, { x: 6, y: 0, w: 6, h: 3 });
  assert.deepEqual(lib.sections([]), []);
});

test("old dashboards with rows of spans get grid positions", () => {
  const out = lib.migrateRows([
    { title: "A", height: "250px", panels: [{ id: 1, span: 6 }, { id: 2, span: 6 }, { id: 3, span: 12 }] },
    { title: "B", collapse: true, height: 100, panels: [{ id: 4, span: 12 }] },
  ]);
  assert.deepEqual(out.map((p) => [p.type ?? p.id, p.gridPos]), [
    ["row", { x: 0, y: 0, w: 24, h: 1 }], [1, { x: 0, y: 1, w: 12, h: 7 }], [2, { x: 12, y: 1, w: 12, h: 7 }],
    [3, { x: 0, y: 8, w: 24, h: 7 }], ["row", { x: 0, y: 15, w: 24, h: 1 }],
  ]);
  assert.deepEqual(out[4].panels.map((p) => p.gridPos), [{ x: 0, y: 16, w: 24, h: 3 }]);
});

test("data source references: Prometheus ones are ours, others are named", () => {
  for (const ds of [null, undefined, "${DS_PROMETHEUS}", "$datasource", "Prometheus", { uid: "${datasource}" },
    { type: "prometheus", uid: "abc" }, { type: "datasource", uid: "-- Mixed --" }, { type: "$dstype" }]) {
    assert.equal(lib.unsupportedDatasource(ds), null, JSON.stringify(ds));
  }
  assert.match(lib.unsupportedDatasource({ type: "loki", uid: "x" }), /"loki" is not supported/);
  assert.match(lib.unsupportedDatasource("-- Grafana --"), /not supported/);
  assert.match(lib.unsupportedDatasource({ type: "datasource", uid: "grafana" }), /not supported/);
});

test("tables: one row per label set, one value column per target", () => {
  const f = (refId, labels, values) => ({ refId, labels, name: "", times: values.map((_, i) => i), values });
  const t = lib.toTable([f("A", { route: "/a", __name__: "x" }, [1, 2]), f("B", { route: "/a", __name__: "x" }, [5, null]), f("A", { route: "/b", __name__: "x" }, [3])], ["A", "B"]);
  assert.deepEqual(t.columns, ["route", "Value #A", "Value #B"]);
  assert.deepEqual(t.rows, [["/a", 2, 5], ["/b", 3, null]]);
  assert.equal(t.labelColumns, 1);
  assert.deepEqual(lib.toTable([f("A", {}, [7])], ["A"]).rows, [[7]]);
  const aligned = lib.align([f("A", {}, [1, NaN]), { ...f("B", {}, [9]), times: [5] }]);
  assert.deepEqual(aligned, { times: [0, 1, 5], columns: [[1, null, null], [null, null, 9]] });
});

test("reducers, thresholds and value mappings", () => {
  const v = [null, 4, 1, null, 3, null];
  assert.equal(lib.reduce(v, "lastNotNull"), 3);
  assert.equal(lib.reduce(v, "last"), null);
  assert.equal(lib.reduce(v, "mean"), 8 / 3);
  assert.equal(lib.reduce(v, "max"), 4);
  assert.equal(lib.reduce(v, "count"), 3);
  assert.equal(lib.reduce([], "sum"), null);
  assert.equal(lib.reduce([1, 5, 2, 4], "delta"), 4 + 2 + 2);
  const steps = lib.thresholdSteps({ thresholds: { steps: [{ value: null, color: "green" }, { value: 80, color: "red" }, { value: 90, color: "javascript:x" }] } });
  assert.deepEqual(steps, [{ value: null, color: "#37872d" }, { value: 80, color: "#c4162a" }]);
  assert.equal(lib.thresholdColor(79, steps), "#37872d");
  assert.equal(lib.thresholdColor(95, steps), "#c4162a");
  assert.equal(lib.cssColor("url(x)"), null);
  assert.equal(lib.cssColor("rgba(1, 2, 3, 0.5)"), "rgba(1, 2, 3, 0.5)");
  const mappings = [{ type: "value", options: { "1": { text: "UP", color: "green" } } }, { type: "range", options: { from: 2, to: null, result: { text: "many" } } }];
  assert.deepEqual(lib.mapValue(1, mappings), { text: "UP", color: "green" });
  assert.deepEqual(lib.mapValue(7, mappings), { text: "many", color: null });
  assert.equal(lib.mapValue(0, mappings), null);
  assert.equal(lib.fieldDefaults({ yaxes: [{ format: "ms" }] }).unit, "ms");
  assert.equal(lib.calc({ valueName: "avg" }), "mean");
  assert.equal(lib.calc({ options: { reduceOptions: { calcs: ["max"] } } }), "max");
});

test("repeated panels: one copy per value, side by side or stacked, panels below move down", () => {
  const values = (name) => (name === "inst" ? [{ value: "a", text: "A" }, { value: "b", text: "B" }, { value: "c", text: "C" }] : name === "one" ? [{ value: "x", text: "x" }] : null);
  const panels = [
    { id: 1, type: "stat", repeat: "inst", gridPos: { x: 6, y: 0, w: 12, h: 4 } },
    { id: 2, type: "text", gridPos: { x: 0, y: 4, w: 24, h: 2 } },
  ];
  const h = lib.expandRepeats(panels, values);
  assert.deepEqual(h.map((p) => [p.id, p.gridPos, p.__repeat?.value ?? null]), [
    [1, { x: 0, y: 0, w: 8, h: 4 }, "a"], [1001, { x: 8, y: 0, w: 8, h: 4 }, "b"], [1002, { x: 16, y: 0, w: 8, h: 4 }, "c"],
    [2, { x: 0, y: 4, w: 24, h: 2 }, null],
  ]);
  const wrap = lib.expandRepeats([{ ...panels[0], maxPerRow: 2 }, panels[1]], values);
  assert.deepEqual(wrap.map((p) => p.gridPos), [
    { x: 0, y: 0, w: 12, h: 4 }, { x: 12, y: 0, w: 12, h: 4 }, { x: 0, y: 4, w: 12, h: 4 }, { x: 0, y: 8, w: 24, h: 2 },
  ]);
  const v = lib.expandRepeats([{ ...panels[0], repeatDirection: "v" }, panels[1]], values);
  assert.deepEqual(v.map((p) => p.gridPos.y), [0, 4, 8, 12]);
  assert.equal(lib.expandRepeats([{ ...panels[0], repeat: "one" }], values)[0].__repeat.value, "x");
  assert.equal(lib.expandRepeats([{ ...panels[0], repeat: "nope" }], values)[0].__repeat, undefined);
});

test("panel time overrides", () => {
  const now = 10_000_000_000;
  assert.deepEqual(lib.panelTime(undefined, undefined, 5, 9, now), { from: 5, to: 9, info: "" });
  assert.deepEqual(lib.panelTime("1h", undefined, 5, 9, now), { from: now - 3600_000, to: now, info: "Last 1h" });
  assert.deepEqual(lib.panelTime(null, "1d", 100_000_000, 200_000_000, now), { from: 100_000_000 - 86400_000, to: 200_000_000 - 86400_000, info: "timeshift -1d" });
  assert.equal(lib.panelTime("now-5m", "1h", 0, 1, now).info, "Last 5m timeshift -1h");
});

test("overlapping panels move down below the one placed first", () => {
  const s = lib.sections([
    { id: 1, type: "stat", gridPos: { x: 0, y: 0, w: 12, h: 4 } },
    { id: 2, type: "stat", gridPos: { x: 6, y: 2, w: 12, h: 4 } },
    { id: 3, type: "stat", gridPos: { x: 18, y: 0, w: 6, h: 2 } },
  ]);
  assert.deepEqual(s[0].panels.map((p) => [p.panel.id, p.pos.x, p.pos.y]), [[1, 0, 0], [3, 18, 0], [2, 6, 4]]);
  assert.equal(s[0].height, 8);
});

test("a variable's starting values: URL, then current, then All or the first option", () => {
  const options = opt("a", "b", "c");
  const single = { multi: false, includeAll: false, current: { value: "b" } };
  assert.deepEqual(lib.selection(single, options, undefined), ["b"]);
  assert.deepEqual(lib.selection(single, options, ["c"]), ["c"]);
  assert.deepEqual(lib.selection(single, options, ["gone"]), ["b"]);
  assert.deepEqual(lib.selection({ ...single, current: { value: "gone" } }, options, undefined), ["a"]);
  assert.deepEqual(lib.selection({ ...single, current: {} }, [], undefined), []);
  const multi = { multi: true, includeAll: true, current: { value: ["$__all"] } };
  assert.deepEqual(lib.selection(multi, options, undefined), ["$__all"]);
  assert.deepEqual(lib.selection(multi, options, ["a", "gone", "c"]), ["a", "c"]);
  assert.deepEqual(lib.selection(multi, options, ["All"]), ["$__all"]);
  assert.deepEqual(lib.selection({ ...multi, current: undefined }, options, undefined), ["$__all"]);
  assert.deepEqual(lib.selection({ multi: false, includeAll: false }, [], ["typed"]), ["typed"]);
  assert.deepEqual(lib.selection(single, options, ["$__all"]), ["b"]);
});
