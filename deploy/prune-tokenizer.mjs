#!/usr/bin/env node
/**
 * Image build step (Dockerfile): keeps of gpt-tokenizer only the files the gateway loads (the o200k_base encoding
 * it counts with, in the CommonJS build it requires), and deletes the other encodings, builds and sources, about
 * 50 MB. The kept set is what the gateway's own token counter (dist/core/tokens.js) loads while counting, not a
 * list written here; after the prune the counter runs again in a fresh process and must give the same counts,
 * else the build fails.
 *
 *   node deploy/prune-tokenizer.mjs     (in the app folder, after `npm run build` and `npm prune --omit=dev`)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';

const APP = process.cwd();
const PACKAGE = dirname(createRequire(join(APP, 'package.json')).resolve('gpt-tokenizer/package.json'));
/** Package files that are not code but belong with it. */
const ALWAYS_KEPT = new Set(['package.json', 'LICENSE', 'README.md']);

/** Counts with the gateway's own counter in a fresh process; returns the counts and the package files it loaded. */
function probe() {
  const script = `
    const { countTokens, pieceStarts } = await import(${JSON.stringify(join(APP, 'dist/core/tokens.js'))});
    const samples = ['', 'hello world', 'Fünf Ärzte 😀 <|endoftext|> 東京都', 'function f(x) { return x * 2; }\\n'.repeat(20)];
    const counts = samples.map((s) => countTokens(s));
    const pieces = pieceStarts('Hello, world! 12345 tokens').length;
    const { createRequire } = await import('node:module');
    const files = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify({ counts, pieces, files }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: APP, encoding: 'utf8' }));
}

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

function removeEmptyDirs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyDirs(join(dir, entry.name));
  if (dir !== PACKAGE && readdirSync(dir).length === 0) rmdirSync(dir);
}

const before = probe();
const loaded = new Set(before.files.filter((f) => f.startsWith(PACKAGE + sep)));
if (before.counts[1] !== 2 || loaded.size === 0) throw new Error(`the token counter did not work before the prune: ${JSON.stringify(before.counts)}`);
let removedBytes = 0;
let removedFiles = 0;
for (const file of walk(PACKAGE)) {
  if (loaded.has(file) || ALWAYS_KEPT.has(relative(PACKAGE, file))) continue;
  removedBytes += statSync(file).size;
  removedFiles++;
  rmSync(file);
}
removeEmptyDirs(PACKAGE);
const after = probe();
if (JSON.stringify(after.counts) !== JSON.stringify(before.counts) || after.pieces !== before.pieces) {
  throw new Error(`token counts changed by the prune: ${JSON.stringify(before.counts)} -> ${JSON.stringify(after.counts)}`);
}
console.log(
  `gpt-tokenizer: kept ${loaded.size} files, removed ${removedFiles} (${(removedBytes / 1e6).toFixed(1)} MB); counts unchanged ${JSON.stringify(after.counts)}`,
);
