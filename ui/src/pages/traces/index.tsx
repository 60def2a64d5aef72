// Traces: `/traces` is the search (state in the query string), `/traces/<traceId>?span=<id>&find=<text>`
// one trace's waterfall, `/traces/compare?a=<traceId>&b=<traceId>` two traces side by side.
import type { JSX } from "preact";
import { segments } from "../../lib/url";
import { CompareView } from "./compare";
import { TraceSearch } from "./search";
import { TraceView } from "./trace";

export default function Page(): JSX.Element {
  const id = segments.value[1];
  if (id === "compare") return <CompareView />;
  return id ? <TraceView traceId={id} /> : <TraceSearch />;
}
