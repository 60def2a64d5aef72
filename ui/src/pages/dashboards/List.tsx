// The dashboards tripod serve was given (--dashboards), paged on the server, with a search box.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { promGet } from "../../lib/api";
import { href, param } from "../../lib/url";
import { Empty, ErrorBox } from "../../components/ErrorBox";

interface Summary {
  uid: string;
  title: string;
  tags: string[];
  file: string;
  error?: string;
}

interface ListData {
  dashboards: Summary[];
  total: number;
  offset: number;
  limit: number;
  note: string;
}

const PAGE = 50;

export function DashboardList(): JSX.Element {
  const search = param("search");
  const offsetParam = param("offset", "0");
  const offset = Math.max(0, Number(offsetParam.value) || 0);
  const [data, setData] = useState<ListData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [draft, setDraft] = useState(search.value);

  useEffect(() => {
    const abort = new AbortController();
    promGet<ListData>("/api/v1/ui/dashboards", { search: search.value || undefined, limit: PAGE, offset }, { signal: abort.signal }).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e);
      },
    );
    return () => abort.abort();
  }, [search.value, offset]);

  return (
    <section class="page dashboards-list">
      <h1>Dashboards</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          offsetParam.value = "0";
          search.push(draft.trim());
        }}
      >
        <input type="search" aria-label="Search dashboards" placeholder="Search by title or file" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      {error !== null && <ErrorBox error={error} title="cannot list dashboards" />}
      {data?.note && <p class="notice">{data.note}</p>}
      {data && data.total === 0 && <Empty>No dashboards{search.value ? ` match "${search.value}"` : ""}. Start tripod serve with --dashboards DIR.</Empty>}
      {data && data.dashboards.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>Title</th>
              <th>Tags</th>
              <th>File</th>
            </tr>
          </thead>
          <tbody>
            {data.dashboards.map((d) => (
              <tr key={d.uid + d.file} data-testid="dashboard-row" data-uid={d.uid} data-error={d.error ? "true" : "false"}>
                <td>
                  {d.error ? <span>{d.title}</span> : <a href={href(`/dashboards/${encodeURIComponent(d.uid)}`)}>{d.title}</a>}
                  {d.error && (
                    <div class="error-text">
                      <span class="badge bad">cannot load</span> {d.error}
                    </div>
                  )}
                </td>
                <td>
                  {d.tags.map((t) => (
                    <span key={t} class="badge">
                      {t}
                    </span>
                  ))}
                </td>
                <td class="mono muted">{d.file}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.total > PAGE && (
        <nav class="toolbar pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => offsetParam.push(String(Math.max(0, offset - PAGE)))}>
            Previous
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE, data.total)} of {data.total}
          </span>
          <button type="button" disabled={offset + PAGE >= data.total} onClick={() => offsetParam.push(String(offset + PAGE))}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
