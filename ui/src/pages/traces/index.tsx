// Traces: `/traces` is the search (state in the query string), `/traces/<traceId>?span=<id>&find=<text>`
// one trace's waterfall.
import type { JSX } from "preact";
import { segments } from "../../lib/url";
import { TraceSearch } from "./search";
import { TraceView } from "./trace";

export default function Page(): JSX.Element {
  const id = segments.value[1];
  return id ? <TraceView traceId={id} /> : <TraceSearch />;
}
