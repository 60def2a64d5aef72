// A trace as the waterfall needs it, built once from the server's column-wise form
// (GET /api/v1/traces/<id>?format=columns): the span tree in pre-order, depths, subtree sizes,
// and the rows that are visible with some subtrees collapsed. Everything is typed arrays over
// span indexes (the server's row numbers), so a 40,000-span trace costs a few milliseconds.

export interface TraceColumns {
  traceId: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  spanCount: number;
  truncated: boolean;
  services: string[];
  names: string[];
  kinds: string[];
  statuses: string[];
  statusMessages: Record<string, string>;
  columns: {
    spanId: string[];
    parentIdx: number[];
    start: number[];
    duration: number[];
    service: number[];
    name: number[];
    kind: number[];
    status: number[];
    eventCount: number[];
    attributes?: Array<Record<string, unknown>>;
    events?: Array<Array<{ name: string; attributes?: Record<string, unknown> }>>;
  };
}

export const ERROR = 2; // index of "error" in `statuses`

export class TraceModel {
  readonly data: TraceColumns;
  readonly n: number;
  /** Trace start in ms since the epoch (for display). */
  readonly startMs: number;
  /** Total length in ns (at least 1). */
  readonly total: number;
  /** Span indexes in pre-order (parents before children, siblings by start time). */
  readonly order: Int32Array;
  /** Position of each span in `order`. */
  readonly pos: Int32Array;
  readonly depth: Int32Array;
  /** Number of spans in each span's subtree, itself included. */
  readonly size: Int32Array;
  readonly parent: Int32Array;
  readonly errors: number;
  /** The deepest span's depth. */
  readonly maxDepth: number;
  /** Lower-cased searchable text of each span (name, service, id, status message). */
  private text: string[];

  constructor(data: TraceColumns) {
    this.data = data;
    const c = data.columns;
    const n = c.spanId.length;
    this.n = n;
    this.startMs = Number(BigInt(data.startTimeUnixNano) / 1_000_000n);
    let end = 1;
    let errors = 0;
    for (let i = 0; i < n; i++) {
      end = Math.max(end, (c.start[i] ?? 0) + (c.duration[i] ?? 0));
      if (c.status[i] === ERROR) errors++;
    }
    this.total = end;
    this.errors = errors;
    // children lists (CSR): rows arrive sorted by start, so children are in start order
    const parent = new Int32Array(n);
    const count = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const p = c.parentIdx[i] ?? -1;
      parent[i] = p >= 0 && p < n && p !== i ? p : -1;
      count[(parent[i] ?? -1) + 1]!++;
    }
    const first = new Int32Array(n + 2);
    for (let k = 0; k <= n; k++) first[k + 1] = first[k]! + count[k]!;
    const fill = first.slice();
    const kids = new Int32Array(n);
    for (let i = 0; i < n; i++) kids[fill[parent[i]! + 1]!++] = i;
    // iterative pre-order DFS from the roots; spans in a parent cycle become roots at the end
    const order = new Int32Array(n);
    const depth = new Int32Array(n);
    const size = new Int32Array(n);
    const seen = new Uint8Array(n);
    let at = 0;
    const stack: number[] = [];
    const walk = (root: number): void => {
      stack.push(root);
      depth[root] = 0;
      while (stack.length) {
        const s = stack.pop()!;
        if (seen[s]) continue;
        seen[s] = 1;
        order[at++] = s;
        const lo = first[s + 1]!;
        const hi = first[s + 2]!;
        for (let k = hi - 1; k >= lo; k--) {
          const child = kids[k]!;
          if (!seen[child]) {
            depth[child] = depth[s]! + 1;
            stack.push(child);
          }
        }
      }
    };
    for (let k = first[0]!; k < first[1]!; k++) walk(kids[k]!);
    for (let i = 0; i < n; i++) {
      if (!seen[i]) {
        parent[i] = -1;
        walk(i);
      }
    }
    const pos = new Int32Array(n);
    for (let k = 0; k < n; k++) pos[order[k]!] = k;
    // subtree sizes: children come after their parent in pre-order, so sum from the end
    for (let k = n - 1; k >= 0; k--) {
      const s = order[k]!;
      size[s]! += 1;
      const p = parent[s]!;
      if (p >= 0) size[p]! += size[s]!;
    }
    let deepest = 0;
    for (let i = 0; i < n; i++) deepest = Math.max(deepest, depth[i]!);
    this.maxDepth = deepest;
    this.order = order;
    this.pos = pos;
    this.depth = depth;
    this.size = size;
    this.parent = parent;
    this.text = [];
  }

  name(i: number): string {
    return this.data.names[this.data.columns.name[i] ?? 0] ?? "";
  }
  service(i: number): string {
    return this.data.services[this.data.columns.service[i] ?? 0] ?? "";
  }
  kind(i: number): string {
    return this.data.kinds[this.data.columns.kind[i] ?? 0] ?? "";
  }
  status(i: number): string {
    return this.data.statuses[this.data.columns.status[i] ?? 0] ?? "unset";
  }
  statusMessage(i: number): string {
    return this.data.statusMessages[String(i)] ?? "";
  }
  spanId(i: number): string {
    return this.data.columns.spanId[i] ?? "";
  }
  start(i: number): number {
    return this.data.columns.start[i] ?? 0;
  }
  duration(i: number): number {
    return this.data.columns.duration[i] ?? 0;
  }
  hasChildren(i: number): boolean {
    return (this.size[i] ?? 1) > 1;
  }
  indexOf(spanId: string): number {
    return this.data.columns.spanId.indexOf(spanId);
  }

  /** The spans shown, in order, when the subtrees under `collapsed` are folded. */
  visible(collapsed: ReadonlySet<number>): Int32Array {
    if (collapsed.size === 0) return this.order;
    const out = new Int32Array(this.n);
    let m = 0;
    for (let k = 0; k < this.n; ) {
      const s = this.order[k]!;
      out[m++] = s;
      k += collapsed.has(s) ? this.size[s]! : 1;
    }
    return out.subarray(0, m);
  }

  /** Ancestors of span `i`, nearest first. */
  ancestors(i: number): number[] {
    const out: number[] = [];
    for (let p = this.parent[i]!; p >= 0 && out.length < this.n; p = this.parent[p]!) out.push(p);
    return out;
  }

  /** Attach attributes/events (the `attributes=true` form) so the search covers them. */
  addAttributes(full: TraceColumns): void {
    const a = full.columns.attributes;
    const e = full.columns.events;
    if (!a || a.length !== this.n) return;
    this.data.columns.attributes = a;
    this.data.columns.events = e;
    this.text = [];
  }

  get searchesAttributes(): boolean {
    return this.data.columns.attributes !== undefined;
  }

  private haystack(i: number): string {
    let t = this.text[i];
    if (t === undefined) {
      const parts = [this.name(i), this.service(i), this.spanId(i), this.statusMessage(i)];
      const attrs = this.data.columns.attributes?.[i];
      if (attrs) for (const [k, v] of Object.entries(attrs)) parts.push(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
      for (const ev of this.data.columns.events?.[i] ?? []) parts.push(ev.name);
      t = parts.join("\u0000").toLowerCase();
      this.text[i] = t;
    }
    return t;
  }

  /** Spans whose text contains `query` (case-insensitive), in pre-order. */
  search(query: string): number[] {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const out: number[] = [];
    for (let k = 0; k < this.n; k++) {
      const s = this.order[k]!;
      if (this.haystack(s).includes(q)) out.push(s);
    }
    return out;
  }
}
