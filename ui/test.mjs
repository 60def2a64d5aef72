// `npm test`: the libraries' unit tests (ui/tests/*.test.ts) bundled by esbuild for Node and
// run with node's own test runner. No browser: pages are tested in a real one by tests/ui/.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const UI = path.dirname(fileURLToPath(import.meta.url));
const tests = fs.readdirSync(path.join(UI, "tests")).filter((f) => f.endsWith(".test.ts")).sort();
const out = fs.mkdtempSync(path.join(os.tmpdir(), "tripod-ui-test-"));
try {
  await esbuild.build({
    absWorkingDir: UI,
    entryPoints: tests.map((t) => `tests/${t}`),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".css": "empty" },
    logLevel: "warning",
  });
  const files = fs.readdirSync(out).filter((f) => f.endsWith(".mjs")).sort().map((f) => path.join(out, f));
  const run = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
