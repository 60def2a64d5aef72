// <Markdown source={text} />: the safe renderer of lib/markdown.ts in a container.
import type { JSX } from "preact";
import { markdown } from "../lib/markdown";

export function Markdown(props: { source: string; class?: string }): JSX.Element {
  return <div class={`markdown ${props.class ?? ""}`}>{markdown(props.source)}</div>;
}
