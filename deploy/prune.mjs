#!/usr/bin/env node
/**
 * Image build step (Dockerfile): deletes from the production node_modules what the gateway never loads.
 *
 * - gpt-tokenizer: only the files the gateway's token counter (dist/core/tokens.js) loads while counting (in the
 *   CommonJS build) and the o200k data file it reads its table from are kept; the other encodings, builds and
 *   sources go (about 50 MB).
 * - OpenTelemetry (every package under @opentelemetry, and protobufjs when it is there): only the files the
 *   gateway's tracing setup (dist/observability/tracing.js) loads while it exports a span over OTLP http/protobuf
 *   and http/json (to a loopback receiver that accepts, one that refuses with 400, a closed port, an https URL)
 *   and to the console are kept, plus package.json files and licences.
 * - Everywhere in node_modules: source maps and TypeScript declarations (*.map, *.d.ts, *.d.mts, *.d.cts), which
 *   Node never executes.
 *
 * The kept sets are what a fresh process loads (a module-load hook, which sees import and require on Node 24, and
 * the require cache), not lists written here. After the prune each probe runs again in a fresh process: it must
 * give the same results and load the same files, and every production dependency must still import; else the
 * build fails.
 *
 *   node deploy/prune.mjs     (in the app folder, after `npm run build` and `npm prune --omit=dev`)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';

const APP = process.cwd();
const NODE_MODULES = join(APP, 'node_modules');
const MARK = 'PRUNE-PROBE ';

/** Runs `body` (an ES module's code that sets `result`) in a fresh node; returns its result and the files it loaded. */
function probe(body, env = {}) {
  const script = `
    const { createRequire, registerHooks } = await import('node:module');
    const { fileURLToPath } = await import('node:url');
    const loaded = new Set();
    // Node >= 22.15: sees every module loaded, by import and by require
    registerHooks?.({ load(url, context, next) { if (url.startsWith('file:')) loaded.add(fileURLToPath(url)); return next(url, context); } });
    let result;
    const extraFiles = [];
    ${body}
    for (const f of Object.keys(createRequire(import.meta.url).cache)) loaded.add(f);
    for (const f of extraFiles) loaded.add(f);
    process.stdout.write('\\n${MARK}' + JSON.stringify({ result, files: [...loaded].sort() }) + '\\n');
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: APP, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const line = out.split('\n').find((l) => l.startsWith(MARK));
  if (line === undefined) throw new Error(`the probe printed no result:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice(MARK.length));
}

const TOKENIZER_PROBE = `
  const { countTokens, loadTokenizer, pieceStarts } = await import(${JSON.stringify(join(APP, 'dist/core/tokens.js'))});
  const { o200kDataFile, readTiktokenTable } = await import(${JSON.stringify(join(APP, 'dist/runtime/tiktoken-ranks.js'))});
  // as startGateway loads it: the table from the o200k data file, which is read, not loaded as a module
  loadTokenizer(() => readTiktokenTable(o200kDataFile()));
  extraFiles.push(o200kDataFile());
  const samples = ['', 'hello world', 'Fünf Ärzte 😀 <|endoftext|> 東京都', 'function f(x) { return x * 2; }\\n'.repeat(20)];
  result = { counts: samples.map((s) => countTokens(s)), pieces: pieceStarts('Hello, world! 12345 tokens').length };
  if (result.counts[1] !== 2) throw new Error('the token counter does not work: ' + JSON.stringify(result));
`;

/**
 * The gateway's tracing setup with every exporter it can make: OTLP http/protobuf and http/json each to a loopback
 * receiver that takes the spans, one that refuses them (400), a closed port and an https URL, and the console. One
 * request's span is exported; the result is what the receiver got, whether the console printed it and whether the
 * failed exports were reported.
 */
const TRACING_PROBE = `
  const http = await import('node:http');
  const net = await import('node:net');
  const { EventEmitter } = await import('node:events');
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type']);
      received.push(req.url + ' ' + type + ' ' + (Buffer.concat(chunks).includes('prune-probe') ? 'span' : 'no span'));
      const ok = req.url.startsWith('/ok/');
      res.writeHead(ok ? 200 : 400, { 'content-type': type });
      res.end(type.includes('json') ? (ok ? '{}' : '{"code":3,"message":"refused by the probe"}') : '');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const closed = await new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
  const { startTracing } = await import(${JSON.stringify(join(APP, 'dist/observability/tracing.js'))});
  const exporters = [{ kind: 'console' }];
  for (const [protocol, name] of [['http/protobuf', 'proto'], ['http/json', 'json']]) {
    exporters.push({ kind: 'otlp', protocol, url: 'http://127.0.0.1:' + port + '/ok/' + name });
    exporters.push({ kind: 'otlp', protocol, url: 'http://127.0.0.1:' + port + '/refuse/' + name });
    exporters.push({ kind: 'otlp', protocol, url: 'http://127.0.0.1:' + closed + '/v1/traces' });
    exporters.push({ kind: 'otlp', protocol, url: 'https://127.0.0.1:' + closed + '/v1/traces' });
  }
  let exportErrors = 0;
  const settings = { exporters, serviceName: 'prune-probe', sampler: 'parentbased_traceidratio', samplerRatio: 1, batch: { scheduledDelayMillis: 50 }, attributeValueLengthLimit: 4096, captureMessageContent: false };
  const tracer = startTracing(settings, { upstreamUrl: 'http://127.0.0.1:9', onExportError: () => exportErrors++ });
  const printed = [];
  const log = console.log, dir = console.dir;
  console.log = (...a) => printed.push(a);
  console.dir = (...a) => printed.push(a);
  const raw = new EventEmitter();
  const request = {
    url: '/v1/chat/completions?x=1', method: 'POST', routeOptions: { url: '/v1/chat/completions' }, ip: '127.0.0.1',
    headers: { 'user-agent': 'prune-probe', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    raw: { httpVersion: '1.1' }, gw: {},
  };
  const trace = tracer.start(request, { raw, statusCode: 200 });
  raw.emit('close');
  await new Promise((r) => setTimeout(r, 300));
  await tracer.close();
  console.log = log;
  console.dir = dir;
  server.close();
  const consoleSpan = printed.some((a) => JSON.stringify(a).includes('4bf92f3577b34da6a3ce929d0e0e4736'));
  result = { traced: trace !== undefined, received: received.sort(), consoleSpan, exportErrors: exportErrors > 0 };
  if (!result.traced || !consoleSpan || !received.includes('/ok/proto application/x-protobuf span') || !received.includes('/ok/json application/json span') || !result.exportErrors)
    throw new Error('tracing does not work: ' + JSON.stringify(result));
`;

/**
 * Imports the production dependencies the app names, but for those a probe covers (of gpt-tokenizer only the
 * CommonJS build is kept): a deleted declaration or map that a package needed at load would show here.
 */
const importProbe = (probed) => `
  const pkg = JSON.parse((await import('node:fs')).readFileSync(${JSON.stringify(join(APP, 'package.json'))}, 'utf8'));
  const probed = ${JSON.stringify(probed)};
  const covered = (name) => probed.some((p) => name === p || (p.endsWith('/*') && name.startsWith(p.slice(0, -1))));
  result = {};
  for (const name of Object.keys(pkg.dependencies ?? {}).filter((n) => !covered(n)).sort()) {
    try { await import(name); result[name] = 'ok'; } catch (err) { result[name] = String(err?.code ?? err); }
  }
`;

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
  }
  return out;
}

function removeEmptyDirs(dir, root) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyDirs(join(dir, entry.name), root);
  if (dir !== root && readdirSync(dir).length === 0) rmdirSync(dir);
}

const removed = { files: 0, bytes: 0 };
function remove(file, tally) {
  const size = statSync(file).size;
  rmSync(file);
  tally.files++;
  tally.bytes += size;
  removed.files++;
  removed.bytes += size;
}
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Files a package keeps whether loaded or not: its package.json files (the module type of a folder) and its licence. */
function alwaysKept(pkgDir, file) {
  const name = basename(file);
  return name === 'package.json' || (relative(pkgDir, file) === name && /^(LICEN[CS]E|NOTICE|COPYING)/i.test(name));
}

/** The package folders directly under node_modules that a prune covers. */
function packages(names) {
  return names.flatMap((name) => {
    if (name.endsWith('/*')) {
      const scope = join(NODE_MODULES, name.slice(0, -2));
      return existsSync(scope) ? readdirSync(scope).map((p) => join(scope, p)) : [];
    }
    return existsSync(join(NODE_MODULES, name)) ? [join(NODE_MODULES, name)] : [];
  });
}

const PRUNES = [
  { name: 'gpt-tokenizer', packages: ['gpt-tokenizer'], probe: TOKENIZER_PROBE, env: {} },
  {
    name: 'OpenTelemetry',
    packages: ['@opentelemetry/*', 'protobufjs', '@protobufjs/*'],
    probe: TRACING_PROBE,
    // the failed exports give up quickly (the closed port is retried until this timeout)
    env: { OTEL_EXPORTER_OTLP_TIMEOUT: '1500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '1500' },
  },
];

/** What a probe says and what it loaded under the given folders. */
function probeUnder(prune, dirs) {
  const { result, files } = probe(prune.probe, prune.env);
  return { result, files: files.filter((f) => dirs.some((d) => f.startsWith(d + sep))) };
}

const checks = [];
const IMPORT_PROBE = importProbe(PRUNES.flatMap((p) => p.packages));
const importsBefore = probe(IMPORT_PROBE).result;
for (const prune of PRUNES) {
  const dirs = packages(prune.packages);
  if (dirs.length === 0) throw new Error(`${prune.name}: no package of ${prune.packages.join(', ')} in node_modules`);
  const before = probeUnder(prune, dirs);
  if (before.files.length === 0) throw new Error(`${prune.name}: the probe loaded none of its files`);
  const loaded = new Set(before.files);
  const tally = { files: 0, bytes: 0 };
  for (const dir of dirs) {
    for (const file of walk(dir)) if (!loaded.has(file) && !alwaysKept(dir, file)) remove(file, tally);
    removeEmptyDirs(dir, dir);
  }
  console.log(`${prune.name}: kept the ${loaded.size} files it loads, removed ${tally.files} (${mb(tally.bytes)})`);
  checks.push({ prune, dirs, before });
}

// declarations and source maps of every package (the app's own dist keeps its maps; folders left empty stay)
const TYPES_AND_MAPS = /\.(map|d\.ts|d\.mts|d\.cts)$/;
const typesAndMaps = { files: 0, bytes: 0 };
for (const file of walk(NODE_MODULES)) if (TYPES_AND_MAPS.test(file) && !file.includes(`${sep}.bin${sep}`)) remove(file, typesAndMaps);
console.log(`*.map, *.d.ts, *.d.mts, *.d.cts: removed ${typesAndMaps.files} (${mb(typesAndMaps.bytes)})`);

// the same again, in fresh processes
for (const { prune, dirs, before } of checks) {
  const after = probeUnder(prune, dirs);
  if (JSON.stringify(after.result) !== JSON.stringify(before.result)) {
    throw new Error(`${prune.name}: the probe's result changed by the prune: ${JSON.stringify(before.result)} -> ${JSON.stringify(after.result)}`);
  }
  if (JSON.stringify(after.files) !== JSON.stringify(before.files)) {
    const gone = before.files.filter((f) => !after.files.includes(f));
    const added = after.files.filter((f) => !before.files.includes(f));
    throw new Error(`${prune.name}: the prune changed the files loaded: no longer ${gone.join(', ') || '-'}; now also ${added.join(', ') || '-'}`);
  }
  console.log(`${prune.name}: unchanged after the prune ${JSON.stringify(after.result)}`);
}
const importsAfter = probe(IMPORT_PROBE).result;
if (JSON.stringify(importsAfter) !== JSON.stringify(importsBefore)) {
  throw new Error(`the production dependencies no longer import as before: ${JSON.stringify(importsBefore)} -> ${JSON.stringify(importsAfter)}`);
}
console.log(`production dependencies import as before (${Object.keys(importsAfter).length}); removed ${removed.files} files, ${mb(removed.bytes)} in all`);
