// How every view shows a failed call: the Prometheus errorType and message, as text.
import type { ComponentChildren, JSX } from "preact";
import { ApiError } from "../lib/api";

export function ErrorBox(props: { error: unknown; title?: string }): JSX.Element {
  const e = props.error;
  const type = e instanceof ApiError ? e.errorType : "error";
  const msg = e instanceof ApiError ? e.error || e.message : e instanceof Error ? e.message : String(e);
  return (
    <div class="error-box" role="alert">
      {props.title && <strong>{props.title}: </strong>}
      <span class="error-type">{type}</span> <span class="error-msg">{msg}</span>
    </div>
  );
}

/** "Loading…" / "nothing here" in one style. */
export function Empty(props: { children: ComponentChildren }): JSX.Element {
  return <div class="empty">{props.children}</div>;
}
