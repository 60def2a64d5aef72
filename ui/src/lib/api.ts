// Typed JSON calls to tripod serve's API. Every call carries the bearer token when one is known;
// a 401 asks the user for the token once (the shell shows the prompt), keeps it in
// sessionStorage for the tab, and retries the call with it.
import { signal } from "@preact/signals";

const TOKEN_KEY = "tripod.token";

/** An API call that failed. For Prometheus-style replies `errorType` and `error` are the body's
 * fields (`bad_data`, `execution`, `timeout`, `unauthorized`...). `line`/`column` (1-based) are
 * set when the message carries Prometheus's `line:column: parse error` position (PromQL parse errors);
 * `offsetIn(query)` turns them into a character offset. `status` 0 means the server was not
 * reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorType: string;
  readonly error: string;
  readonly line: number | null;
  readonly column: number | null;

  constructor(status: number, errorType: string, error: string) {
    super(error ? `${errorType}: ${error}` : errorType);
    this.name = "ApiError";
    this.status = status;
    this.errorType = errorType;
    this.error = error;
    // Prometheus: `invalid parameter "query": 1:5: parse error: ...` (line:column, 1-based)
    const lc = /(?:^|\s)(\d+):(\d+): parse error/.exec(error);
    this.line = lc?.[1] !== undefined ? Number(lc[1]) : null;
    this.column = lc?.[2] !== undefined ? Number(lc[2]) : null;
  }

  /** The 0-based character offset into `query` the error points at, or null. */
  offsetIn(query: string): number | null {
    if (this.line === null || this.column === null) return null;
    const lines = query.split("\n");
    if (this.line > lines.length) return null;
    let offset = 0;
    for (let i = 0; i < this.line - 1; i++) offset += (lines[i]?.length ?? 0) + 1;
    return Math.min(offset + this.column - 1, query.length);
  }
}

/** The token, as the tab knows it (null: none asked for yet). */
export const token = signal<string | null>(readToken());
/** True while the shell should show the token prompt. */
export const tokenWanted = signal(false);
let waiters: Array<(value: string | null) => void> = [];

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Called by the token prompt: keep the token for this tab and retry the waiting calls. */
export function setToken(value: string): void {
  token.value = value;
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    /* storage disabled: the token lives as long as the page */
  }
  tokenWanted.value = false;
  const ready = waiters;
  waiters = [];
  ready.forEach((w) => w(value));
}

/** Called when the user dismisses the prompt: the waiting calls fail with their 401. */
export function cancelToken(): void {
  tokenWanted.value = false;
  const ready = waiters;
  waiters = [];
  ready.forEach((w) => w(null));
}

function askToken(): Promise<string | null> {
  tokenWanted.value = true;
  return new Promise((resolve) => waiters.push(resolve));
}

/** The headers every API call sends (the token when known). */
export function authHeaders(extra?: HeadersInit): Headers {
  const headers = new Headers(extra);
  if (token.value) headers.set("Authorization", `Bearer ${token.value}`);
  return headers;
}

/** `fetch` with the token, asking for it once on a 401 and retrying. Use it for anything that
 * is not JSON; it never throws for an HTTP status (the Response says it). */
export async function apiFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const sentToken = token.value;
  let res = await fetch(input, { ...init, headers: authHeaders(init.headers) });
  if (res.status === 401) {
    // another call may already have got a new token while this one was in flight
    const fresh = token.value !== sentToken ? token.value : await askToken();
    if (fresh !== null) res = await fetch(input, { ...init, headers: authHeaders(init.headers) });
  }
  return res;
}

export type Params = Record<string, string | number | boolean | null | undefined | Array<string | number>>;

/** `path?params` (null/undefined values left out, arrays repeated: `match[]=a&match[]=b`). */
export function withParams(path: string, params?: Params): string {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes("?") ? "&" : "?"}${s}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { errorType?: unknown; error?: unknown; message?: unknown };
    const type = typeof body.errorType === "string" ? body.errorType : `http_${res.status}`;
    const msg = typeof body.error === "string" ? body.error : typeof body.message === "string" ? body.message : text;
    return new ApiError(res.status, type, msg);
  } catch {
    return new ApiError(res.status, `http_${res.status}`, text.trim() || res.statusText);
  }
}

/** GET (or any method) returning the parsed JSON body; throws ApiError for a non-2xx reply. */
export async function apiJson<T>(path: string, params?: Params, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await apiFetch(withParams(path, params), init);
  } catch (exc) {
    throw new ApiError(0, "network", `cannot reach tripod serve: ${String(exc)}`);
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** POST a JSON body, returning the parsed JSON reply (an empty reply gives null). */
export async function apiPostJson<T>(path: string, body: unknown, init: RequestInit = {}): Promise<T> {
  const res = await apiFetch(path, {
    ...init,
    method: init.method ?? "POST",
    headers: authHeaders({ "Content-Type": "application/json", ...(init.headers as Record<string, string>) }),
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : null) as T;
}

interface PromEnvelope<T> {
  status: "success" | "error";
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** A Prometheus-API GET (`/api/v1/...`): returns `data`, throws ApiError with `errorType`. */
export async function promGet<T>(path: string, params?: Params, init?: RequestInit): Promise<T> {
  const body = await apiJson<PromEnvelope<T>>(path, params, init);
  if (body.status !== "success") throw new ApiError(200, body.errorType ?? "error", body.error ?? "");
  return body.data;
}

// --- Prometheus query API types ----------------------------------------------------------------

export type Labels = Record<string, string>;
/** [unix seconds, value as a string] as Prometheus writes it. */
export type SamplePair = [number, string];
export interface MatrixSeries { metric: Labels; values: SamplePair[] }
export interface VectorSample { metric: Labels; value: SamplePair }
export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar"; result: SamplePair }
  | { resultType: "string"; result: SamplePair };

/** `/api/v1/query_range`; start/end in unix seconds, step in seconds. */
export function queryRange(query: string, start: number, end: number, step: number, init?: RequestInit): Promise<QueryData> {
  return promGet<QueryData>("/api/v1/query_range", { query, start, end, step }, init);
}

/** `/api/v1/query` (instant); time in unix seconds (omitted: now). */
export function queryInstant(query: string, time?: number, init?: RequestInit): Promise<QueryData> {
  return promGet<QueryData>("/api/v1/query", { query, time }, init);
}
