// Text panels: Markdown through the shell's safe renderer (raw HTML stays text; links only
// http(s)); "html" mode is shown the same way, never as markup; "code" mode as preformatted.
import type { JSX } from "preact";
import { Markdown } from "../components/Markdown";

export function TextPanel(props: { content: string; mode: string }): JSX.Element {
  if (props.mode === "code") return <pre class="text-panel text-code">{props.content}</pre>;
  return <Markdown source={props.content} class="text-panel" />;
}
