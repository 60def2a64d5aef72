// The variables of a dashboard as pickers; a choice is written to the URL (`var-name`).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { setParams } from "../../lib/url";
import { ALL } from "./lib/interpolate";
import type { VarState } from "./variables";

function write(name: string, values: string[]): void {
  setParams({ [`var-${name}`]: values.length ? values : null }, { push: true });
}

function MultiPicker(props: { v: VarState }): JSX.Element {
  const { v } = props;
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState("");
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const away = (e: Event): void => {
      if (e instanceof KeyboardEvent ? e.key === "Escape" : !box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", away);
    document.addEventListener("keydown", away);
    return () => {
      document.removeEventListener("mousedown", away);
      document.removeEventListener("keydown", away);
    };
  }, [open]);
  const picked = new Set(v.picked);
  const shown = v.options.filter((o) => o.text.toLowerCase().includes(filter.toLowerCase())).slice(0, 500);
  const label = picked.has(ALL) ? "All" : v.picked.map((p) => v.options.find((o) => o.value === p)?.text ?? p).join(" + ") || "none";
  const toggle = (value: string): void => {
    let next: string[];
    if (value === ALL) next = [ALL];
    else {
      const s = new Set([...picked].filter((x) => x !== ALL));
      if (s.has(value)) s.delete(value);
      else s.add(value);
      next = [...s];
      if (!next.length && v.model.includeAll) next = [ALL];
    }
    write(v.name, next);
  };
  return (
    <div class="var-multi" ref={box}>
      <button type="button" aria-expanded={open} aria-haspopup="dialog" onClick={() => setOpen(!open)} data-testid={`var-${v.name}`}>
        {label}
      </button>
      {open && (
        <div class="var-pop" role="dialog" aria-label={`values of ${v.model.label || v.name}`}>
          <input type="search" placeholder="Filter" aria-label="Filter values" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          {v.model.includeAll && (
            <label>
              <input type="checkbox" checked={picked.has(ALL)} onChange={() => toggle(ALL)} /> All
            </label>
          )}
          {shown.map((o) => (
            <label key={o.value}>
              <input type="checkbox" checked={picked.has(o.value)} onChange={() => toggle(o.value)} /> {o.text}
            </label>
          ))}
          {v.options.length > shown.length && <p class="muted">{v.options.length - shown.length} more: filter to find them</p>}
        </div>
      )}
    </div>
  );
}

function Picker(props: { v: VarState }): JSX.Element | null {
  const { v } = props;
  const type = v.model.type ?? "query";
  if (type === "textbox") {
    return (
      <input
        data-testid={`var-${v.name}`}
        aria-label={v.model.label ?? v.name}
        value={v.picked[0] ?? ""}
        onChange={(e) => write(v.name, [e.currentTarget.value])}
      />
    );
  }
  if (v.model.multi) return <MultiPicker v={v} />;
  return (
    <select data-testid={`var-${v.name}`} aria-label={v.model.label ?? v.name} value={v.picked[0] ?? ""} onChange={(e) => write(v.name, [e.currentTarget.value])}>
      {v.model.includeAll && <option value={ALL}>All</option>}
      {v.options.slice(0, 5000).map((o) => (
        <option key={o.value} value={o.value}>
          {o.text}
        </option>
      ))}
      {v.picked[0] !== undefined && v.picked[0] !== ALL && !v.options.some((o) => o.value === v.picked[0]) && <option value={v.picked[0]}>{v.picked[0]}</option>}
    </select>
  );
}

export function VariableBar(props: { vars: VarState[] }): JSX.Element | null {
  const shown = props.vars.filter((v) => v.model.hide !== 2 && v.model.type !== "constant");
  if (!shown.length) return null;
  return (
    <div class="var-bar" role="group" aria-label="Variables">
      {shown.map((v) => (
        <div key={v.name} class="var" title={v.model.description}>
          {v.model.hide !== 1 && <span class="var-label">{v.model.label || v.name}</span>}
          <Picker v={v} />
          {v.error && (
            <span class="badge bad" title={v.error} data-testid="var-error">
              {v.error}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}
