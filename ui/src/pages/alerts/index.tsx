// Alerts: firing and pending alerts (labels, annotations, runbook link, graph link, silence),
// the rules with state/health/last evaluation/error (/api/v1/rules), and silences
// (`?tab=silences`). Without rules the page says how to load them.
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { promGet } from "../../lib/api";
import { formatDuration, formatTime, refreshTick } from "../../lib/time";
import { href, param } from "../../lib/url";
import { ErrorBox } from "../../components/ErrorBox";
import { Silences } from "./silences";

interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  activeAt: string;
  value: string;
}

interface Rule {
  type: "alerting" | "recording";
  name: string;
  query: string;
  health: "ok" | "err" | "unknown";
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  state?: "inactive" | "pending" | "firing";
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: ActiveAlert[];
}

interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

const ZERO = "0001-01-01T00:00:00Z";

/** A runbook link only for http(s) URLs; anything else is shown as text. */
export function runbookHref(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function graphHref(expr: string): string {
  return href("/explore", { q: expr, from: "now-1h", to: "now" });
}

function Labels(props: { labels: Record<string, string>; skip?: string }): JSX.Element {
  return (
    <span class="labels" data-testid="alert-labels">
      {Object.entries(props.labels)
        .filter(([k]) => k !== props.skip)
        .map(([k, v]) => (
          <span key={k} class="label-chip mono">
            {k}="{v}"
          </span>
        ))}
    </span>
  );
}

function stateBadge(state: string): string {
  return state === "firing" ? "badge bad" : state === "pending" ? "badge warn" : "badge ok";
}

function AlertCard(props: { alert: ActiveAlert; rule: Rule | undefined; onSilence: (labels: Record<string, string>) => void }): JSX.Element {
  const a = props.alert;
  const runbook = a.annotations.runbook_url;
  const link = runbookHref(runbook);
  const other = Object.entries(a.annotations).filter(([k]) => k !== "runbook_url" && k !== "summary" && k !== "description");
  return (
    <li class={`alert-card card ${a.state}`} data-testid="alert" data-state={a.state} data-alertname={a.labels.alertname ?? ""}>
      <div class="alert-head">
        <span class={stateBadge(a.state)}>{a.state}</span>
        <strong>{a.labels.alertname ?? "(no alertname)"}</strong>
        <span class="muted">since {formatTime(Date.parse(a.activeAt))} · value {a.value}</span>
      </div>
      <Labels labels={a.labels} skip="alertname" />
      {a.annotations.summary ? <p class="alert-summary">{a.annotations.summary}</p> : null}
      {a.annotations.description ? <p class="alert-description">{a.annotations.description}</p> : null}
      {other.length ? (
        <dl class="facts">
          {other.flatMap(([k, v]) => [<dt key={`${k}-k`}>{k}</dt>, <dd key={`${k}-v`}>{v}</dd>])}
        </dl>
      ) : null}
      <p class="alert-actions">
        {link ? (
          <a data-testid="alert-runbook" href={link} target="_blank" rel="noopener noreferrer">
            Runbook
          </a>
        ) : runbook ? (
          <span class="muted" data-testid="alert-runbook-text" title="not an http(s) link">
            runbook: {runbook}
          </span>
        ) : null}
        {props.rule ? (
          <a data-testid="alert-graph" href={graphHref(props.rule.query)}>
            Graph
          </a>
        ) : null}
        <button type="button" data-testid="alert-silence" onClick={() => props.onSilence(a.labels)}>
          Silence…
        </button>
      </p>
    </li>
  );
}

function RulesTable(props: { groups: Group[] }): JSX.Element {
  return (
    <>
      {props.groups.map((g) => (
        <section key={`${g.file}/${g.name}`} class="rule-group" data-testid="rule-group">
          <h3>
            {g.name} <span class="muted mono">{g.file}</span> <span class="muted">every {formatDuration(g.interval * 1000)}</span>
          </h3>
          <table class="grid">
            <thead>
              <tr>
                <th>Rule</th>
                <th>State</th>
                <th>Health</th>
                <th>Last evaluation</th>
                <th class="num">Took</th>
                <th>Query</th>
              </tr>
            </thead>
            <tbody>
              {g.rules.map((r, i) => (
                <tr key={i} data-testid="rule-row" data-rule={r.name} data-health={r.health} data-state={r.state ?? "recording"}>
                  <td>
                    <strong>{r.name}</strong>
                    {r.type === "recording" ? <span class="muted"> (recording)</span> : null}
                    {r.duration ? <span class="muted"> for {formatDuration(r.duration * 1000)}</span> : null}
                  </td>
                  <td>{r.state ? <span class={stateBadge(r.state)}>{r.state}</span> : "–"}</td>
                  <td>
                    <span class={r.health === "ok" ? "badge ok" : r.health === "err" ? "badge bad" : "badge"}>{r.health}</span>
                    {r.lastError ? (
                      <div class="error-text" data-testid="rule-error">
                        {r.lastError}
                      </div>
                    ) : null}
                  </td>
                  <td>{r.lastEvaluation && r.lastEvaluation !== ZERO ? formatTime(Date.parse(r.lastEvaluation)) : "never"}</td>
                  <td class="num">{formatDuration(r.evaluationTime * 1000)}</td>
                  <td class="mono rule-query">
                    <a href={graphHref(r.query)} title="open in Explore">
                      {r.query}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}

export default function Page(): JSX.Element {
  const tab = param("tab", "alerts");
  const groups = useSignal<Group[] | null>(null);
  const alerts = useSignal<ActiveAlert[]>([]);
  const error = useSignal<unknown>(null);
  const prefill = useSignal<Record<string, string> | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    Promise.all([
      promGet<{ groups: Group[] }>("/api/v1/rules", undefined, { signal: abort.signal }),
      promGet<{ alerts: ActiveAlert[] }>("/api/v1/alerts", undefined, { signal: abort.signal }),
    ]).then(
      ([r, a]) => {
        groups.value = r.groups;
        alerts.value = a.alerts;
        error.value = null;
      },
      (e: unknown) => {
        if (!abort.signal.aborted) error.value = e;
      },
    );
    return () => abort.abort();
  }, [refreshTick.value]);
  const rules = (groups.value ?? []).flatMap((g) => g.rules);
  const ruleFor = (a: ActiveAlert): Rule | undefined => rules.find((r) => r.type === "alerting" && r.name === a.labels.alertname);
  const order = { firing: 0, pending: 1 };
  const active = [...alerts.value].sort((a, b) => order[a.state] - order[b.state]);
  return (
    <section class="page alerts-page">
      <h1>Alerts</h1>
      <nav class="tabs" aria-label="alerts views">
        <a href={href("/alerts", {})} aria-current={tab.value !== "silences" ? "page" : undefined} data-testid="tab-alerts">
          Alerts and rules
        </a>
        <a href={href("/alerts", { tab: "silences" })} aria-current={tab.value === "silences" ? "page" : undefined} data-testid="tab-silences">
          Silences
        </a>
      </nav>
      {tab.value === "silences" ? (
        <Silences prefill={prefill.value} onPrefillUsed={() => (prefill.value = null)} />
      ) : (
        <>
          {error.value ? <ErrorBox error={error.value} title="Cannot read the rules" /> : null}
          {groups.value === null ? (
            error.value ? null : <p class="empty">Loading rules…</p>
          ) : groups.value.length === 0 ? (
            <div class="empty card" data-testid="no-rules">
              <p>
                <strong>No rules are loaded.</strong> tripod serve evaluates Prometheus rule files: start it with{" "}
                <code>tripod serve --rules FILE</code> (repeatable, globs allowed, e.g. <code>--rules 'rules/*.yml'</code>) or list them
                under <code>rule_files:</code> in <code>--config</code>, then reload with <code>POST /-/reload</code> or SIGHUP.
              </p>
              <p>
                <code>tripod generate</code> writes alerting rules for your services.
              </p>
            </div>
          ) : (
            <>
              <h2>
                Firing and pending <span class="muted">({active.length})</span>
              </h2>
              {active.length ? (
                <ul class="alert-list" data-testid="alerts">
                  {active.map((a, i) => (
                    <AlertCard
                      key={`${JSON.stringify(a.labels)}${i}`}
                      alert={a}
                      rule={ruleFor(a)}
                      onSilence={(labels) => {
                        prefill.value = labels;
                        tab.push("silences");
                      }}
                    />
                  ))}
                </ul>
              ) : (
                <p class="empty" data-testid="alerts-none">
                  No alert is firing or pending.
                </p>
              )}
              <h2>Rules</h2>
              <RulesTable groups={groups.value} />
            </>
          )}
        </>
      )}
    </section>
  );
}
