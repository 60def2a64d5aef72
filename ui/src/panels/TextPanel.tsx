// Text panels: Markdown through the shell's safe renderer (raw HTML stays text; links only
// http(s)); "html" mode is shown the same way, never as markup; "code" mode as preformatted.
import type { JSX } from "preact";
import { Markdown } from "../components/Markdown";

export function TextPanel(props: { content: string; mode: string }): JSX.Element {
  // focusable, as its content may scroll (keyboard users can scroll it)
  if (props.mode === "code") {
    return (
      <pre class="text-panel text-code" tabIndex={0}>
        {props.content}
      </pre>
    );
  }
  return (
    <div class="text-panel" tabIndex={0}>
      <Markdown source={props.content} />
    </div>
  );
}
