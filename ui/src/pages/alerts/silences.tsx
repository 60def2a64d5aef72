// Silences (the built-in notifier's Alertmanager API v2): the list (GET /api/v2/silences), a
// form to create one (POST /api/v2/silences; matchers may be prefilled from an alert), and
// expire (DELETE /api/v2/silence/<id>).
import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { ApiError, apiFetch, apiJson, apiPostJson } from "../../lib/api";
import { formatTime, parseDuration } from "../../lib/time";
import { ErrorBox } from "../../components/ErrorBox";

export interface ApiMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}

export interface Silence {
  id: string;
  status: { state: "active" | "pending" | "expired" };
  matchers: ApiMatcher[];
  startsAt: string;
  endsAt: string;
  updatedAt?: string;
  createdBy: string;
  comment: string;
}

const OPS = ["=", "!=", "=~", "!~"] as const;
type Op = (typeof OPS)[number];

interface Row {
  name: string;
  op: Op;
  value: string;
}

export function matcherText(m: ApiMatcher): string {
  const op = m.isRegex ? (m.isEqual === false ? "!~" : "=~") : m.isEqual === false ? "!=" : "=";
  return `${m.name}${op}"${m.value}"`;
}

function toApi(r: Row): ApiMatcher {
  return { name: r.name.trim(), value: r.value, isRegex: r.op.endsWith("~"), isEqual: !r.op.startsWith("!") };
}

const AUTHOR_KEY = "tripod.silence.author";

function storedAuthor(): string {
  try {
    return localStorage.getItem(AUTHOR_KEY) ?? "";
  } catch {
    return "";
  }
}

export function SilenceForm(props: { prefill: Record<string, string> | null; onDone: () => void; onCancel: () => void }): JSX.Element {
  const rows = useSignal<Row[]>(
    props.prefill && Object.keys(props.prefill).length
      ? Object.entries(props.prefill).map(([name, value]) => ({ name, op: "=" as Op, value }))
      : [{ name: "alertname", op: "=", value: "" }],
  );
  const duration = useSignal("2h");
  const author = useSignal(storedAuthor());
  const comment = useSignal("");
  const error = useSignal<unknown>(null);
  const busy = useSignal(false);
  const setRow = (i: number, patch: Partial<Row>): void => {
    rows.value = rows.value.map((r, k) => (k === i ? { ...r, ...patch } : r));
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const ms = parseDuration(duration.value);
    const matchers = rows.value.filter((r) => r.name.trim());
    if (!matchers.length) return void (error.value = new Error("add at least one matcher"));
    if (ms === null || ms <= 0) return void (error.value = new Error(`duration "${duration.value}" is not a duration such as 30m, 2h, 1d`));
    if (!author.value.trim()) return void (error.value = new Error("say who creates the silence (created by)"));
    if (!comment.value.trim()) return void (error.value = new Error("a comment is required (why is this silenced?)"));
    const now = Date.now();
    busy.value = true;
    error.value = null;
    try {
      localStorage.setItem(AUTHOR_KEY, author.value.trim());
    } catch {
      /* storage disabled */
    }
    try {
      await apiPostJson("/api/v2/silences", {
        matchers: matchers.map(toApi),
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + ms).toISOString(),
        createdBy: author.value.trim(),
        comment: comment.value.trim(),
      });
      props.onDone();
    } catch (exc) {
      error.value = exc;
    } finally {
      busy.value = false;
    }
  };
  return (
    <form class="silence-form card" data-testid="silence-form" onSubmit={(e) => void submit(e)}>
      <h2>New silence</h2>
      <fieldset>
        <legend>Matchers (an alert is silenced when every matcher matches its labels)</legend>
        {rows.value.map((r, i) => (
          <div class="matcher-row" key={i} data-testid="silence-matcher">
            <input aria-label="label name" data-testid="silence-matcher-name" value={r.name} onInput={(e) => setRow(i, { name: e.currentTarget.value })} />
            <select aria-label="operator" data-testid="silence-matcher-op" value={r.op} onChange={(e) => setRow(i, { op: e.currentTarget.value as Op })}>
              {OPS.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
            <input aria-label="value" data-testid="silence-matcher-value" value={r.value} onInput={(e) => setRow(i, { value: e.currentTarget.value })} />
            <button type="button" aria-label="remove matcher" onClick={() => (rows.value = rows.value.filter((_, k) => k !== i))}>
              ×
            </button>
          </div>
        ))}
        <button type="button" onClick={() => (rows.value = [...rows.value, { name: "", op: "=", value: "" }])}>
          + matcher
        </button>
      </fieldset>
      <div class="silence-fields">
        <label>
          Duration
          <input data-testid="silence-duration" value={duration.value} size={6} onInput={(e) => (duration.value = e.currentTarget.value)} />
        </label>
        <label>
          Created by
          <input data-testid="silence-created-by" value={author.value} onInput={(e) => (author.value = e.currentTarget.value)} />
        </label>
        <label class="grow">
          Comment
          <input data-testid="silence-comment" value={comment.value} onInput={(e) => (comment.value = e.currentTarget.value)} />
        </label>
      </div>
      {error.value ? <ErrorBox error={error.value} title="Cannot create the silence" /> : null}
      <div class="modal-actions">
        <button class="primary" type="submit" data-testid="silence-submit" disabled={busy.value}>
          Create silence
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function Silences(props: { prefill: Record<string, string> | null; onPrefillUsed: () => void }): JSX.Element {
  const list = useSignal<Silence[] | null>(null);
  const error = useSignal<unknown>(null);
  const off = useSignal(false);
  const creating = useSignal(props.prefill !== null);
  const version = useSignal(0);
  useEffect(() => {
    const abort = new AbortController();
    apiJson<Silence[]>("/api/v2/silences", undefined, { signal: abort.signal }).then(
      (s) => {
        list.value = s;
        error.value = null;
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && e.status === 404) off.value = true;
        else error.value = e;
      },
    );
    return () => abort.abort();
  }, [version.value]);
  const expire = async (id: string): Promise<void> => {
    try {
      const res = await apiFetch(`/api/v2/silence/${encodeURIComponent(id)}`, { method: "DELETE" });
      if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, await res.text());
      version.value++;
    } catch (e) {
      error.value = e;
    }
  };
  if (off.value) {
    return (
      <p class="empty" data-testid="silences-off">
        This tripod serve has no silence API: it sends alerts to an external Alertmanager (<code>--alertmanager-url</code>), so silences live there. Start it with{" "}
        <code>--alertmanager-config alertmanager.yml</code> to use the built-in notifier and its silences.
      </p>
    );
  }
  const order = { active: 0, pending: 1, expired: 2 };
  const sorted = [...(list.value ?? [])].sort((a, b) => order[a.status.state] - order[b.status.state] || b.startsAt.localeCompare(a.startsAt));
  return (
    <div class="silences">
      {creating.value ? (
        <SilenceForm
          prefill={props.prefill}
          onDone={() => {
            creating.value = false;
            props.onPrefillUsed();
            version.value++;
          }}
          onCancel={() => {
            creating.value = false;
            props.onPrefillUsed();
          }}
        />
      ) : (
        <p>
          <button type="button" class="primary" data-testid="silence-new" onClick={() => (creating.value = true)}>
            New silence
          </button>
        </p>
      )}
      {error.value ? <ErrorBox error={error.value} /> : null}
      {list.value === null ? (
        <p class="empty">Loading silences…</p>
      ) : sorted.length === 0 ? (
        <p class="empty" data-testid="silences-empty">
          No silences.
        </p>
      ) : (
        <table class="grid" data-testid="silences">
          <thead>
            <tr>
              <th>State</th>
              <th>Matchers</th>
              <th>Starts</th>
              <th>Ends</th>
              <th>Created by</th>
              <th>Comment</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sorted.map((s) => (
              <tr key={s.id} data-testid="silence-row" data-silence-id={s.id} data-state={s.status.state}>
                <td>
                  <span class={s.status.state === "active" ? "badge warn" : "badge"}>{s.status.state}</span>
                </td>
                <td class="mono">
                  {s.matchers.map((m, i) => (
                    <span key={i} class="label-chip">
                      {matcherText(m)}
                    </span>
                  ))}
                </td>
                <td>{formatTime(Date.parse(s.startsAt))}</td>
                <td>{formatTime(Date.parse(s.endsAt))}</td>
                <td>{s.createdBy}</td>
                <td>{s.comment}</td>
                <td>
                  {s.status.state !== "expired" ? (
                    <button type="button" data-testid="silence-expire" onClick={() => void expire(s.id)}>
                      Expire
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
