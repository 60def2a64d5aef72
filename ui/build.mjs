// The UI build: esbuild bundles ui/src into src/tripod/server/ui/static/ (gitignored).
//
//   static/index.html                 the one HTML page (no inline script or style: strict CSP)
//   static/assets/*.js, *.css         content-hashed ESM chunks (code splitting) and one stylesheet
//   static/assets/*.gz                the same, gzip-compressed once here (the server picks them)
//   static/manifest.json              entry, stylesheet, every file with its raw and gzip size
//   static/THIRD_PARTY_LICENSES.txt   the licence of every npm package that ends up in a bundle
//
// `node build.mjs` builds, prints the size of each file and the page weight of each view, and
// fails on a bundled package whose licence is outside the allowed set.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const UI = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(UI, "../src/tripod/server/ui/static");
const ASSETS = path.join(OUT, "assets");
const URL_PREFIX = "/ui/assets/";
const ALLOWED = new Set(["MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "Apache-2.0", "BlueOak-1.0.0"]);

/** Every .css file under src/ (sorted, so the order is stable) plus uPlot's stylesheet: one
 * stylesheet for the whole app, so lazy chunks never need to inject <style> (CSP). */
function cssFiles() {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".css")) found.push(full);
    }
  };
  walk(path.join(UI, "src"));
  // the base stylesheet first, then every other file
  const base = path.join(UI, "src", "styles", "base.css");
  const rest = found.filter((f) => f !== base);
  return [path.join(UI, "node_modules/uplot/dist/uPlot.min.css"), ...(fs.existsSync(base) ? [base] : []), ...rest];
}

function packageOf(file) {
  // node_modules/@scope/name/... or node_modules/name/...
  const parts = file.split(/[\\/]/);
  const i = parts.lastIndexOf("node_modules");
  if (i < 0) return null;
  const name = parts[i + 1].startsWith("@") ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
  const dir = path.join(UI, ...parts.slice(0, i + 1), ...name.split("/"));
  return { name, dir };
}

function licenceText(dir) {
  const names = fs.readdirSync(dir).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f)).sort();
  return names.map((f) => fs.readFileSync(path.join(dir, f), "utf8").trim()).join("\n\n");
}

function writeLicences(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const pkg = packageOf(input);
    if (pkg && !packages.has(pkg.name)) packages.set(pkg.name, pkg.dir);
  }
  const problems = [];
  const sections = [];
  for (const name of [...packages.keys()].sort()) {
    const dir = packages.get(name);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const licence = typeof meta.license === "string" ? meta.license : JSON.stringify(meta.license);
    if (!ALLOWED.has(licence)) problems.push(`${name}@${meta.version}: licence ${licence} is not in ${[...ALLOWED].join(", ")}`);
    const text = licenceText(dir);
    if (!text) problems.push(`${name}@${meta.version}: no LICENSE file in the package`);
    sections.push(`${"=".repeat(78)}\n${name}@${meta.version} (${licence})\n${meta.homepage || ""}\n${"=".repeat(78)}\n\n${text}\n`);
  }
  if (problems.length) throw new Error("third-party licences:\n  " + problems.join("\n  "));
  const header =
    "Third-party software bundled in tripod's web UI (ui/ built by esbuild).\n" +
    "Each package below ships inside the files under assets/; its licence follows.\n\n";
  fs.writeFileSync(path.join(OUT, "THIRD_PARTY_LICENSES.txt"), header + sections.join("\n"));
  return [...packages.keys()].sort();
}

function indexHtml(mainJs, css) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tripod</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${URL_PREFIX}${css}">
<script type="module" src="${URL_PREFIX}${mainJs}"></script>
</head>
<body>
<div id="app"><noscript>tripod's UI needs JavaScript.</noscript></div>
</body>
</html>
`;
}

function gzipSize(buf) {
  return zlib.gzipSync(buf, { level: 9 }).length;
}

function kb(n) {
  return (n / 1024).toFixed(1).padStart(7) + " kB";
}

async function build() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(ASSETS, { recursive: true });
  const common = {
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: "none", // the licences go to THIRD_PARTY_LICENSES.txt
    metafile: true,
    logLevel: "warning",
    target: ["es2022", "chrome109", "firefox115", "safari16"],
    absWorkingDir: UI,
  };
  const js = await esbuild.build({
    ...common,
    entryPoints: { main: "src/main.tsx" },
    outdir: ASSETS,
    format: "esm",
    splitting: true,
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    tsconfig: "tsconfig.json",
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".css": "empty" }, // stylesheets are collected into the one CSS entry below
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const cssEntry = cssFiles()
    .map((f) => `@import ${JSON.stringify(path.relative(path.join(UI, "src"), f).split(path.sep).join("/"))};`)
    .join("\n");
  const css = await esbuild.build({
    ...common,
    stdin: { contents: cssEntry, resolveDir: path.join(UI, "src"), sourcefile: "app.css", loader: "css" },
    outfile: path.join(ASSETS, "app.css"),
    write: false,
  });
  const cssText = css.outputFiles[0].contents;
  const cssHash = createHash("sha256").update(cssText).digest("hex").slice(0, 8).toUpperCase();
  const cssName = `app-${cssHash}.css`;
  fs.writeFileSync(path.join(ASSETS, cssName), cssText);

  const outputs = js.metafile.outputs;
  const mainOut = Object.keys(outputs).find((o) => outputs[o].entryPoint === "src/main.tsx");
  const mainJs = path.basename(mainOut);
  fs.writeFileSync(path.join(OUT, "index.html"), indexHtml(mainJs, cssName));

  // which source pages each chunk carries: lets the size table name the view a chunk is for
  const files = [];
  for (const name of fs.readdirSync(ASSETS).sort()) {
    const full = path.join(ASSETS, name);
    const buf = fs.readFileSync(full);
    const gz = zlib.gzipSync(buf, { level: 9 });
    fs.writeFileSync(full + ".gz", gz);
    const meta = outputs[path.relative(UI, full).split(path.sep).join("/")];
    const pages = meta
      ? [...new Set(Object.keys(meta.inputs).map((i) => i.match(/^src\/pages\/([^/]+)\//)?.[1]).filter(Boolean))]
      : [];
    const imports = meta ? meta.imports.filter((i) => i.kind === "import-statement").map((i) => path.basename(i.path)) : [];
    const dynamic = meta ? meta.imports.filter((i) => i.kind === "dynamic-import").map((i) => path.basename(i.path)) : [];
    files.push({ file: name, bytes: buf.length, gzip: gz.length, pages, imports, dynamic });
  }
  const inputs = [...Object.keys(js.metafile.inputs), ...Object.keys(css.metafile.inputs)];
  const packages = writeLicences(inputs);
  const manifest = { entry: mainJs, css: cssName, assetsUrl: URL_PREFIX, packages, files };
  fs.writeFileSync(path.join(OUT, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
  const html = fs.readFileSync(path.join(OUT, "index.html"));
  fs.writeFileSync(path.join(OUT, "index.html.gz"), zlib.gzipSync(html, { level: 9 }));
  return { manifest, htmlGzip: gzipSize(html) };
}

/** The gzip bytes a first visit to each view downloads: index.html, the stylesheet, main and
 * its static imports, then the view's chunk and everything it imports statically. */
function closure(manifest, start) {
  const byName = new Map(manifest.files.map((f) => [f.file, f]));
  const seen = new Set();
  const stack = [...start];
  while (stack.length) {
    const name = stack.pop();
    if (seen.has(name) || !byName.has(name)) continue;
    seen.add(name);
    stack.push(...byName.get(name).imports);
  }
  return seen;
}

function report({ manifest, htmlGzip }) {
  const byName = new Map(manifest.files.map((f) => [f.file, f]));
  console.log("file                                     raw      gzip   pages");
  for (const f of manifest.files) {
    console.log(`${f.file.padEnd(34)} ${kb(f.bytes)} ${kb(f.gzip)}   ${f.pages.join(",")}`);
  }
  const shell = closure(manifest, [manifest.entry, manifest.css]);
  const sum = (set) => [...set].reduce((n, f) => n + byName.get(f).gzip, 0) + htmlGzip;
  console.log(`\npage weight (gzip, first visit: index.html + css + shell + the view's chunks)`);
  console.log(`  shell (no view)        ${kb(sum(shell))}`);
  // a view's own chunk is the one the shell imports dynamically for that page
  const views = new Map();
  for (const file of byName.get(manifest.entry).dynamic) {
    const page = byName.get(file)?.pages[0];
    if (page && !views.has(page)) views.set(page, file);
  }
  for (const [view, file] of [...views].sort()) {
    // the view chunk, what it imports statically, and what it loads on open (Explore: the editor)
    const own = closure(manifest, [manifest.entry, manifest.css, file]);
    const lazy = closure(manifest, [...own, ...byName.get(file).dynamic]);
    const extra = lazy.size > own.size ? `   with lazy parts ${kb(sum(lazy))}` : "";
    console.log(`  ${view.padEnd(22)} ${kb(sum(own))}${extra}`);
  }
  const limit = 100 * 1024;
  if (sum(shell) > limit) {
    console.error(`the app shell is ${kb(sum(shell))} gzip, over the 100 kB budget`);
    process.exitCode = 1;
  }
}

const result = await build();
report(result);
console.log(`\nwrote ${path.relative(process.cwd(), OUT)} (${result.manifest.packages.length} third-party packages)`);
