// A small, safe Markdown → Preact renderer for text from dashboards, alert annotations and
// runbooks. It never produces raw HTML: markup in the source stays text (Preact escapes it),
// links keep only http(s), mailto and same-site URLs, and there is no dangerouslySetInnerHTML.
//
// Supported: # headings, paragraphs, blank-line breaks, - / * / 1. lists, > quotes, ``` code
// blocks, `code`, **bold**, *italic* / _italic_, [text](url), bare http(s) URLs, --- rules.
import { h, type ComponentChildren, type VNode } from "preact";

// vnodes of many element types go in one list
type AnyVNode = VNode<any>;

/** A URL that is safe to put in href, or null (javascript:, data:, vbscript: ... are refused). */
export function safeUrl(url: string): string | null {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (/^[a-z][a-z0-9+.-]*:/i.test(u) || u.startsWith("//")) return null; // any other scheme
  // a relative link: must not smuggle a scheme through control characters or backslashes
  return /[\u0000-\u001f\\]/.test(u) ? null : u;
}

function link(text: ComponentChildren, url: string, key: number): AnyVNode {
  const safe = safeUrl(url);
  if (safe === null) return h("span", { key }, text);
  const external = /^https?:/i.test(safe);
  return h("a", { key, href: safe, ...(external ? { target: "_blank", rel: "noopener noreferrer" } : {}) }, text);
}

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))|(https?:\/\/[^\s<>()]+)/g;

/** Inline Markdown of one line or paragraph as Preact children. */
export function inline(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  let key = 0;
  for (const m of text.matchAll(INLINE)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const s = m[0];
    if (m[1]) out.push(h("code", { key: key++ }, s.slice(1, -1)));
    else if (m[2]) out.push(h("strong", { key: key++ }, inline(s.slice(2, -2))));
    else if (m[3]) out.push(h("em", { key: key++ }, inline(s.slice(1, -1))));
    else if (m[4]) {
      const close = s.indexOf("](");
      out.push(link(inline(s.slice(1, close)), s.slice(close + 2, -1), key++));
    } else out.push(link(s, s, key++));
    last = at + s.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Block-level Markdown as a list of Preact vnodes (put them in any container). */
export function markdown(source: string): AnyVNode[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: AnyVNode[] = [];
  let i = 0;
  let key = 0;
  const para: string[] = [];
  const flush = (): void => {
    if (para.length) blocks.push(h("p", { key: key++ }, inline(para.join(" "))));
    para.length = 0;
  };
  while (i < lines.length) {
    const line = lines[i] ?? "";
    const fence = /^\s*```/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i] ?? "")) code.push(lines[i++] ?? "");
      i++;
      blocks.push(h("pre", { key: key++ }, h("code", null, code.join("\n"))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push(h(`h${heading[1]!.length}`, { key: key++ }, inline(heading[2] ?? "")));
      i++;
      continue;
    }
    if (/^\s*(-{3,}|\*{3,})\s*$/.test(line)) {
      flush();
      blocks.push(h("hr", { key: key++ }));
      i++;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1] ?? "");
      const items: AnyVNode[] = [];
      while (i < lines.length) {
        const m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i] ?? "");
        if (!m || /\d/.test(m[1] ?? "") !== ordered) break;
        items.push(h("li", { key: items.length }, inline(m[2] ?? "")));
        i++;
      }
      blocks.push(h(ordered ? "ol" : "ul", { key: key++ }, items));
      continue;
    }
    if (/^\s*>/.test(line)) {
      flush();
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i] ?? "")) quoted.push((lines[i++] ?? "").replace(/^\s*>\s?/, ""));
      blocks.push(h("blockquote", { key: key++ }, markdown(quoted.join("\n"))));
      continue;
    }
    if (!line.trim()) flush();
    else para.push(line.trim());
    i++;
  }
  flush();
  return blocks;
}
