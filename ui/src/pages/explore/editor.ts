// The PromQL editor: CodeMirror 6 + @prometheus-io/codemirror-promql. This module (and all of
// CodeMirror) is loaded by a dynamic import when Explore opens, never with the shell.
//
// Autocomplete asks tripod serve itself: /api/v1/label/__name__/values, /api/v1/labels,
// /api/v1/label/<name>/values, /api/v1/series and /api/v1/metadata, through apiFetch (so the
// bearer token goes along). For ~30,000 metric names: names are fetched once and cached
// (maxAge), metadata (types, help) is fetched only below `maxMetricsMetadata` names, and the
// completion list renders at most `maxRenderedOptions` rows.
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
  completionStatus,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorState, Prec, StateEffect, StateField, type Extension } from "@codemirror/state";
import { Decoration, EditorView, keymap, placeholder, type DecorationSet } from "@codemirror/view";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { apiFetch } from "../../lib/api";

/** Above this many metric names the editor completes names only (no type/help metadata). */
export const MAX_METRICS_METADATA = 5000;

const setServerError = StateEffect.define<{ from: number; to: number } | null>();
const errorMark = Decoration.mark({ class: "cm-server-error" });

/** The position the server's parse error names, underlined until the text changes. */
const serverError = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = tr.docChanged ? Decoration.none : marks;
    for (const e of tr.effects) {
      if (e.is(setServerError)) {
        next = e.value === null ? Decoration.none : Decoration.set([errorMark.range(e.value.from, e.value.to)]);
      }
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

export interface PromEditor {
  view: EditorView;
  text(): string;
  setText(text: string): void;
  /** Underline the character at `offset` (null clears). */
  markError(offset: number | null): void;
  destroy(): void;
}

const theme = EditorView.theme({
  "&": { fontSize: "13px", border: "1px solid var(--line)", borderRadius: "4px", background: "var(--panel)" },
  "&.cm-focused": { outline: "2px solid var(--accent)" },
  ".cm-content": { fontFamily: "var(--mono)", padding: "6px 0", minHeight: "24px" },
  ".cm-scroller": { maxHeight: "240px", overflow: "auto" },
  ".cm-server-error": { textDecoration: "underline wavy var(--bad)", background: "#fdecea" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { background: "var(--accent)", color: "#fff" },
});

export function createEditor(opts: {
  parent: HTMLElement;
  doc: string;
  onRun: (text: string) => void;
  onChange?: (text: string) => void;
}): PromEditor {
  const promql = new PromQLExtension().setComplete({
    maxMetricsMetadata: MAX_METRICS_METADATA,
    remote: {
      url: window.location.origin,
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => apiFetch(String(input), init),
      httpMethod: "GET",
      lookbackInterval: 12 * 60 * 60 * 1000,
      cache: { maxAge: 5 * 60 * 1000 },
    },
  });
  const run = (view: EditorView): boolean => {
    opts.onRun(view.state.doc.toString());
    return true;
  };
  // Enter runs, unless the completion list is open (then Enter picks the completion)
  const enter = (view: EditorView): boolean => (completionStatus(view.state) === "active" ? false : run(view));
  const extensions: Extension[] = [
    history(),
    closeBrackets(),
    bracketMatching(),
    syntaxHighlighting(defaultHighlightStyle),
    placeholder("PromQL, e.g. sum by (service_name) (rate(http_server_request_duration_seconds_count[5m]))"),
    EditorView.lineWrapping,
    promql.asExtension(),
    autocompletion({ maxRenderedOptions: 200, activateOnTypingDelay: 50 }),
    Prec.highest(
      keymap.of([
        { key: "Shift-Enter", run },
        { key: "Mod-Enter", run },
        { key: "Enter", run: enter },
        { key: "Alt-Enter", run: insertNewlineAndIndent },
      ]),
    ),
    keymap.of([...closeBracketsKeymap, ...completionKeymap, ...defaultKeymap, ...historyKeymap]),
    serverError,
    theme,
    EditorView.contentAttributes.of({ "aria-label": "PromQL query" }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) opts.onChange?.(u.state.doc.toString());
    }),
  ];
  // CodeMirror styles itself through style-mod, which writes a <style> element into a document
  // (blocked by our CSP: style-src 'self', no 'unsafe-inline') but uses a constructable
  // stylesheet (adoptedStyleSheets, which CSP allows) inside a shadow root: so the editor lives
  // in one. CSS variables (--accent, --mono...) inherit into it.
  const shadow = opts.parent.shadowRoot ?? opts.parent.attachShadow({ mode: "open" });
  const mount = document.createElement("div");
  shadow.replaceChildren(mount);
  const view = new EditorView({
    parent: mount,
    root: shadow,
    state: EditorState.create({ doc: opts.doc, extensions }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text: string) {
      if (text !== view.state.doc.toString()) {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      }
    },
    markError(offset: number | null) {
      const len = view.state.doc.length;
      if (offset === null || len === 0) {
        view.dispatch({ effects: setServerError.of(null) });
        return;
      }
      const from = Math.min(Math.max(offset, 0), len - 1);
      view.dispatch({ effects: setServerError.of({ from, to: from + 1 }) });
    },
    destroy() {
      promql.destroy();
      view.destroy();
    },
  };
}
