// The app shell: nav bar, local/UTC toggle, token prompt, and the page of the current path.
// Every page is its own lazily loaded chunk (pages/<name>/index.tsx, default export).
import { signal, useSignal } from "@preact/signals";
import { render, type ComponentType, type JSX } from "preact";
import { useEffect } from "preact/hooks";
import { cancelToken, promGet, setToken, tokenWanted } from "./lib/api";
import { installRefreshTimer, setZone, zone } from "./lib/time";
import { interceptLinks, segments } from "./lib/url";
import { ErrorBox } from "./components/ErrorBox";

type Loader = () => Promise<{ default: ComponentType }>;

/** Path's first segment → page. "" is Home. Adding a page: add it here and to NAV. */
export const PAGES: Record<string, Loader> = {
  "": () => import("./pages/home/index"),
  dashboards: () => import("./pages/dashboards/index"),
  explore: () => import("./pages/explore/index"),
  traces: () => import("./pages/traces/index"),
  logs: () => import("./pages/logs/index"),
  alerts: () => import("./pages/alerts/index"),
};

const NAV: ReadonlyArray<[string, string]> = [
  ["", "Home"],
  ["dashboards", "Dashboards"],
  ["explore", "Explore"],
  ["traces", "Traces"],
  ["logs", "Logs"],
  ["alerts", "Alerts"],
];

/** "tripod-0.1.0" from buildinfo; the first API call, so a server with --token asks for the
 * token as the app opens rather than in the middle of a page. */
const serverVersion = signal("");

const loaded = new Map<string, ComponentType>();
const loadError = signal<unknown>(null);
const version = signal(0); // bumps when a page chunk arrives

function pageFor(name: string): ComponentType | null {
  const found = loaded.get(name);
  if (found) return found;
  const loader = PAGES[name];
  if (!loader) return null;
  loader().then(
    (mod) => {
      loaded.set(name, mod.default);
      version.value++;
    },
    (err: unknown) => (loadError.value = err),
  );
  return null;
}

function NotFound(): JSX.Element {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        There is no page at this address. <a href="/">Go home</a>.
      </p>
    </section>
  );
}

function TokenPrompt(): JSX.Element | null {
  const draft = useSignal("");
  if (!tokenWanted.value) return null;
  return (
    <div class="modal-back">
      <div role="dialog" aria-modal="true" aria-labelledby="token-title">
      <form
        class="modal"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.value.trim()) setToken(draft.value.trim());
        }}
      >
        <h2 id="token-title">Token needed</h2>
        <p>
          This tripod serve was started with <code>--token</code>. Enter the token; it is kept for this tab only
          (sessionStorage) and sent as <code>Authorization: Bearer</code> with every API call.
        </p>
        <input type="text" autoComplete="username" value="tripod" hidden readOnly aria-hidden="true" />
        <input
          type="password"
          autoFocus
          autoComplete="current-password"
          aria-label="Token"
          value={draft.value}
          onInput={(e) => (draft.value = e.currentTarget.value)}
        />
        <div class="modal-actions">
          <button type="submit">Use token</button>
          <button type="button" onClick={cancelToken}>
            Cancel
          </button>
        </div>
      </form>
      </div>
    </div>
  );
}

function ZoneToggle(): JSX.Element {
  const utc = zone.value === "utc";
  return (
    <button
      type="button"
      class="zone-toggle"
      aria-pressed={utc}
      title="Show times in UTC or in this browser's time zone"
      onClick={() => setZone(utc ? "local" : "utc")}
    >
      {utc ? "UTC" : "Local"}
    </button>
  );
}

function App(): JSX.Element {
  const name = segments.value[0] ?? "";
  void version.value;
  const Page = pageFor(name);
  useEffect(() => {
    const label = NAV.find(([n]) => n === name)?.[1];
    document.title = label ? `${label} · tripod` : "tripod";
  }, [name]);
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/">
          tripod
        </a>
        <nav aria-label="Main">
          {NAV.map(([n, label]) => (
            <a key={n} href={`/${n}`} aria-current={n === name ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="topbar-right">
          {serverVersion.value && <span class="topbar-version">{serverVersion.value}</span>}
          <ZoneToggle />
        </div>
      </header>
      <main id="main">
        {loadError.value ? (
          <ErrorBox error={loadError.value} title="This page failed to load (was tripod serve upgraded? reload)" />
        ) : !(name in PAGES) ? (
          <NotFound />
        ) : Page ? (
          <Page />
        ) : (
          <div class="empty">Loading…</div>
        )}
      </main>
      <TokenPrompt />
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  interceptLinks(document.body);
  installRefreshTimer();
  render(<App />, root);
  promGet<{ revision?: string }>("/api/v1/status/buildinfo").then(
    (info) => (serverVersion.value = info.revision ?? ""),
    () => undefined, // a page that needs the API shows its own error
  );
}
