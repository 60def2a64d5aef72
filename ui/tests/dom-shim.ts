// Just enough of `window` for lib/url.ts and lib/time.ts to load under Node.
const g = globalThis as unknown as Record<string, unknown>;
if (!("window" in g)) {
  const location = { pathname: "/", search: "", origin: "http://tripod.test" };
  g.window = {
    location,
    addEventListener: () => undefined,
    history: {
      pushState: (_s: unknown, _t: string, url: string) => setUrl(url),
      replaceState: (_s: unknown, _t: string, url: string) => setUrl(url),
    },
    scrollTo: () => undefined,
    setInterval: () => 0,
    clearInterval: () => undefined,
  };
  function setUrl(url: string): void {
    const u = new URL(url, location.origin);
    location.pathname = u.pathname;
    location.search = u.search;
  }
}
export {};
