// The URL is the state: every view keeps what it shows in the path and the query string, so a
// link pasted into a chat opens the same view. Routes are paths (`/explore?q=up&view=graph`);
// tripod serve answers index.html for every page path (see src/tripod/server/ui/).
import { computed, signal, type ReadonlySignal } from "@preact/signals";

export interface Place {
  /** The path, always starting with "/" (e.g. "/traces/4bf92f35..."). */
  path: string;
  /** The query string parameters. Treat as read-only: write through setParams/param(). */
  params: URLSearchParams;
}

function here(): Place {
  return { path: window.location.pathname || "/", params: new URLSearchParams(window.location.search) };
}

/** Where the app is; changes on navigate(), setParams() and the browser's back/forward. */
export const place = signal<Place>(here());
/** The path split on "/" without empty parts: "/traces/abc" → ["traces", "abc"]. */
export const segments: ReadonlySignal<string[]> = computed(() =>
  place.value.path.split("/").filter(Boolean).map(decodeURIComponent),
);

window.addEventListener("popstate", () => {
  place.value = here();
});

export type ParamValues = Record<string, string | number | boolean | null | undefined | string[]>;

/** "/path?a=1&b=x" from a path and parameters (null, undefined and "" are left out). */
export function href(path: string, params?: ParamValues): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Go to another view (pushes a history entry unless `replace`). `to` is "/path?query". */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.origin);
  const next = url.pathname + url.search;
  if (next === window.location.pathname + window.location.search) return;
  if (opts.replace) window.history.replaceState(null, "", next);
  else window.history.pushState(null, "", next);
  place.value = here();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Change some query parameters of the current view (null/undefined/"" removes one). By
 * default the history entry is replaced (typing must not fill the back button); pass
 * `push: true` for a change the user would want to go back from (e.g. running a query). */
export function setParams(values: ParamValues, opts: { push?: boolean } = {}): void {
  const params = new URLSearchParams(place.value.params);
  for (const [k, v] of Object.entries(values)) {
    params.delete(k);
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, x));
    else params.set(k, String(v));
  }
  navigate(href(place.value.path, {}) + (params.toString() ? `?${params.toString()}` : ""), {
    replace: !opts.push,
  });
}

/** One query parameter as a signal: reading `.value` subscribes (the default when absent),
 * writing `.value` replaces the URL's entry (writing the default removes it from the URL). */
export interface ParamSignal {
  value: string;
  readonly name: string;
  /** Write with a history entry (back button returns to the previous value). */
  push(value: string): void;
}

const cache = new Map<string, ParamSignal>();

/** The signal of query parameter `name` with `fallback` when it is absent. The same object is
 * returned for the same (name, fallback). */
export function param(name: string, fallback = ""): ParamSignal {
  const key = `${name}\u0000${fallback}`;
  let p = cache.get(key);
  if (!p) {
    const read = computed(() => place.value.params.get(name) ?? fallback);
    const write = (v: string, push: boolean): void =>
      setParams({ [name]: v === fallback ? null : v }, { push });
    p = {
      name,
      get value() {
        return read.value;
      },
      set value(v: string) {
        write(v, false);
      },
      push: (v: string) => write(v, true),
    };
    cache.set(key, p);
  }
  return p;
}

/** All values of a repeated parameter (`?match=a&match=b`). */
export function paramList(name: string): ReadonlySignal<string[]> {
  return computed(() => place.value.params.getAll(name));
}

/** True when a click on a link should be left to the browser (new tab, download, other site,
 * the API or the static files). */
function browserHandles(event: MouseEvent, a: HTMLAnchorElement): boolean {
  if (event.defaultPrevented || event.button !== 0) return true;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return true;
  if (a.target && a.target !== "_self") return true;
  if (a.hasAttribute("download") || a.origin !== window.location.origin) return true;
  return /^\/(api|ui|-|metrics|v1)(\/|$)/.test(a.pathname);
}

/** Plain `<a href="/traces?service=x">` links navigate inside the app (installed by main.tsx). */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener("click", (event) => {
    const a = (event.target as Element | null)?.closest?.("a");
    if (!(a instanceof HTMLAnchorElement) || !a.href || browserHandles(event, a)) return;
    event.preventDefault();
    navigate(a.pathname + a.search);
  });
}
