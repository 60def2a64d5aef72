"""Generated rule unit tests, run by promtool 2.42 and by tripod: the whole report must be the
same, so every alert (labels, annotations) and every sample the tests print agrees.

The files are random but seeded: rules mixing recording and alerting (``for``,
``keep_firing_for``, templates), input series in every notation (steps, gaps, ``stale``), and
expectations of nothing, so each test prints what it got. One group per rule file, so promtool's
own group order (random between groups) cannot matter.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tripod.server.rules import GoTemplateExpander, check_template, run_test_files

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian prometheus)")

EXPRS = [
    "sum by (job) (rate(c[{w}]))",
    "max(g) by (job)",
    "g > {t}",
    "avg_over_time(g[{w}])",
    "increase(c[{w}])",
    "g * on(job) group_left g2",
    "absent(nope)",
    "count(g > {t})",
    "histogram_quantile(0.9, sum by (le) (rate(h[{w}])))",
    "delta(g[{w}])",
    "deriv(g[{w}])",
    "changes(g[{w}])",
    "resets(c[{w}])",
    "clamp_max(g, {t})",
    "max_over_time(rate(c[1m])[{w}:])",
    "g offset 1m",
    "last_over_time(g[{w}])",
    "sum(g) / count(g)",
    'label_replace(g, "x", "$1", "job", "(.*)")',
    "quantile_over_time(0.5, g[{w}])",
    "irate(c[{w}])",
    "g > bool {t}",
    "g or g2",
    "g unless g2",
    "scalar(sum(g))",
    'count_values("v", g)',
    "absent_over_time(g[{w}])",
    "rate(c[{w}]) > 0.05",
    "timestamp(g)",
]
SEEDS = range(24)


def _values(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.5:
        return f"{rnd.randint(-5, 20)}+{rnd.randint(0, 5)}x{rnd.randint(3, 15)}"
    if r < 0.7:
        items = ["1", "2", "_", "stale", "0", "5.5", "-1"]
        return " ".join(rnd.choice(items) for _ in range(rnd.randint(3, 12)))
    if r < 0.85:
        gap = rnd.randint(1, 3)
        return f"{rnd.randint(0, 9)}x{rnd.randint(2, 10)} _x{gap} 7-1x{rnd.randint(2, 8)}"
    return f"{rnd.uniform(0, 3):.2f}+{rnd.uniform(0, 1):.3f}x{rnd.randint(5, 20)}"


def _expr(rnd: random.Random) -> str:
    return rnd.choice(EXPRS).format(w=rnd.choice(["1m", "2m", "5m", "90s"]), t=rnd.randint(0, 10))


def _write_case(seed: int, into: Path) -> Path:
    rnd = random.Random(seed)
    rules = []
    for i in range(rnd.randint(1, 4)):
        if rnd.random() < 0.4:
            rules.append(f"      - record: r{i}\n        expr: '{_expr(rnd)}'")
            continue
        keep = rnd.choice(["", "", f"\n        keep_firing_for: {rnd.choice(['1m', '2m', '4m'])}"])
        rules.append(
            f"      - alert: A{i}\n        expr: '{_expr(rnd)}'\n"
            f"        for: {rnd.choice(['0s', '1m', '2m', '3m', '5m'])}{keep}\n"
            "        labels: {sev: '{{ $labels.job }}x'}\n"
            "        annotations: {v: '{{ $value }}', h: '{{ humanize $value }}'}"
        )
    (into / "rules.yml").write_text("groups:\n  - name: g\n    rules:\n" + "\n".join(rules) + "\n")
    series = []
    for name in ["c", "g", "g2", "h"]:
        for job in rnd.sample(["a", "b", "c"], rnd.randint(1, 2)):
            le = rnd.choice(["0.1", "1", "+Inf"])
            labels = f'h{{job="{job}", le="{le}"}}' if name == "h" else f'{name}{{job="{job}"}}'
            series.append(f"      - series: '{labels}'\n        values: '{_values(rnd)}'")
    alerts = [
        f"      - eval_time: {rnd.randint(0, 14)}m{rnd.choice(['', '30s'])}\n"
        f"        alertname: A{rnd.randint(0, 3)}\n        exp_alerts: []"
        for _ in range(rnd.randint(1, 4))
    ]
    queries = []
    for _ in range(rnd.randint(1, 3)):
        expr = rnd.choice([_expr(rnd), f"r{rnd.randint(0, 3)}", "ALERTS", "ALERTS_FOR_STATE"])
        queries.append(
            f"      - expr: '{expr}'\n        eval_time: {rnd.randint(0, 15)}m\n"
            "        exp_samples: []"
        )
    test = into / f"generated_{seed}.yml"
    test.write_text(
        f"rule_files: [rules.yml]\nevaluation_interval: {rnd.choice(['30s', '1m', '90s'])}\n"
        f"tests:\n  - interval: {rnd.choice(['30s', '1m', '2m'])}\n    input_series:\n"
        + "\n".join(series)
        + "\n    alert_rule_test:\n"
        + "\n".join(alerts)
        + "\n    promql_expr_test:\n"
        + "\n".join(queries)
        + "\n"
    )
    return test


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_unit_test_reports_equal_promtool(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PROMTOOL is not None
    test = _write_case(seed, tmp_path)
    monkeypatch.chdir(tmp_path)
    want = subprocess.run(
        [PROMTOOL, "test", "rules", test.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_test_files(
        [test.name], out, err, expander=GoTemplateExpander(), template_check=check_template
    )
    assert code == want.returncode
    got = (out.getvalue() + err.getvalue()).splitlines()
    assert sorted(got) == sorted((want.stdout + want.stderr).splitlines())
