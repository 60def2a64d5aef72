// Values as text in Grafana's common units (fieldConfig.defaults.unit): s, ms, µs, ns, bytes,
// decbytes, bits, percent, percentunit, reqps, ops, short, none, and a suffix for anything
// else ("suffix: req"). Pure.

function fixed(v: number, decimals: number | null | undefined): string {
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
  if (decimals !== null && decimals !== undefined && decimals >= 0) return v.toFixed(Math.min(decimals, 20));
  const a = Math.abs(v);
  if (a === 0) return "0";
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(20, 2 - Math.floor(Math.log10(a)));
  return String(Number(v.toFixed(d)));
}

function scaled(v: number, base: number, suffixes: string[], decimals?: number | null, sep = " "): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < suffixes.length - 1) {
    x /= base;
    i++;
  }
  const s = suffixes[i] ?? "";
  return `${fixed(x, decimals)}${s ? sep + s : ""}`;
}

function short(v: number, decimals?: number | null): string {
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) return fixed(v, decimals);
  const suffixes = ["", "K", "Mil", "Bil", "Tri", "Quadr", "Quint", "Sext", "Sept"];
  return scaled(v, 1000, suffixes, decimals).trim();
}

function seconds(v: number, decimals?: number | null): string {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1e-6) return `${fixed(v * 1e9, decimals)} ns`;
  if (a < 1e-3) return `${fixed(v * 1e6, decimals)} µs`;
  if (a < 1) return `${fixed(v * 1e3, decimals)} ms`;
  if (a < 60) return `${fixed(v, decimals)} s`;
  if (a < 3600) return `${fixed(v / 60, decimals)} min`;
  if (a < 86400) return `${fixed(v / 3600, decimals)} hour`;
  if (a < 604800) return `${fixed(v / 86400, decimals)} day`;
  if (a < 31536000) return `${fixed(v / 604800, decimals)} week`;
  return `${fixed(v / 31536000, decimals)} year`;
}

/** `v` formatted for `unit` (Grafana's unit ids); `decimals` as the panel sets it, or auto. */
export function formatValue(v: number | null | undefined, unit?: string | null, decimals?: number | null): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit ?? "") {
    case "":
    case "short":
      return short(v, decimals);
    case "none":
      return fixed(v, decimals);
    case "s":
      return seconds(v, decimals);
    case "ms":
      return seconds(v / 1000, decimals);
    case "µs":
    case "us":
      return seconds(v / 1e6, decimals);
    case "ns":
      return seconds(v / 1e9, decimals);
    case "bytes":
    case "decbytes":
    case "bits": {
      const iec = unit === "bytes" || unit === "bits";
      const names = unit === "bits" ? ["b", "Kib", "Mib", "Gib", "Tib", "Pib"] : iec ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] : ["B", "kB", "MB", "GB", "TB", "PB"];
      return scaled(v, iec ? 1024 : 1000, names, decimals);
    }
    case "percent":
      return `${fixed(v, decimals)}%`;
    case "percentunit":
      return `${fixed(v * 100, decimals)}%`;
    case "reqps":
      return `${short(v, decimals)} req/s`;
    case "rps":
      return `${short(v, decimals)} rps`;
    case "ops":
      return `${short(v, decimals)} ops/s`;
    case "wps":
      return `${short(v, decimals)} wps`;
    case "cps":
      return `${short(v, decimals)} c/s`;
    case "Bps":
    case "binBps":
      return `${scaled(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"], decimals)}/s`;
    case "bool":
      return v === 0 ? "false" : "true";
    default:
      if (unit?.startsWith("suffix:")) return `${fixed(v, decimals)} ${unit.slice(7)}`;
      if (unit?.startsWith("prefix:")) return `${unit.slice(7)}${fixed(v, decimals)}`;
      return `${short(v, decimals)} ${unit ?? ""}`.trim();
  }
}
