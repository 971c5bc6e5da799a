/**
 * The image test (`npm run test:image`; .ci/run runs it after `npm test`): builds the project's own Dockerfile with
 * a real container engine (podman, from Debian's packages), runs the image the way a Hugging Face Space does (uid
 * 1000, a /data volume) in front of the OnDemand simulator on the host, and checks what a deployment relies on.
 * It installs the Debian packages it needs when they are missing, assembles the Dockerfile's base image when no
 * image of the FROM name exists (test/image/base-image.sh; see docs/image-test.md), and removes its containers, its
 * volume and the image it built. The base image is kept as a cache (`podman rmi node:24-bookworm-slim` drops it;
 * IMAGE_TEST_REBUILD_BASE=1 rebuilds it). Everything listens on loopback only. Closes with `N passed, N failed`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../otlp-receiver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = join(ROOT, '.cache', 'image');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const BASE_SCRIPT = join(ROOT, 'test', 'image', 'base-image.sh');
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const APP_IMAGE = `localhost/odgw-image-test:${RUN_ID}`;
const VOLUME = `odgw-image-test-${RUN_ID}`;
const CLIENT_KEY = 'sk-image-test-client-key-0123456789';
const UPSTREAM_KEYS = ['od-image-key-alpha-111111', 'od-image-key-beta-222222'];
const GRACE_MS = 8000;
/** podman's global flags: this host's hybrid cgroups need runc with the cgroupfs manager (crun refuses them). */
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
const started = Date.now();

// ---------- results ----------

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ''): boolean {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
const figures: string[] = [];
function figure(line: string): void {
  figures.push(line);
  console.log(`     ${line}`);
}

// ---------- processes ----------

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with a bound on its time; never throws for a non-zero exit. */
function run(cmd: string, args: string[], timeoutMs = 60_000, opts: { input?: string } = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && err.killed ? `\n(killed after ${timeoutMs} ms)` : '') });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function podman(args: string[], timeoutMs = 60_000): Promise<Run> {
  return run('podman', [...PODMAN, ...args], timeoutMs);
}

/** Runs a long command with its output in a log file; returns the exit code and the log's last lines. */
function runLogged(cmd: string, args: string[], logFile: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; tail: string }> {
  return new Promise((done) => {
    const log = createWriteStream(logFile);
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      log.end(() => {
        const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
        done({ code: code ?? 1, tail: lines.slice(-25).join('\n') });
      });
    });
  });
}

async function has(command: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${command}`], 10_000)).code === 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** This process's hard limit for a resource, from /proc/self/limits (podman's defaults exceed this host's). */
function hardLimit(label: string, fallback: number): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(label));
    const hard = line?.slice(26).trim().split(/\s+/)[1];
    const n = Number(hard);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}
const NOFILE = Math.min(hardLimit('Max open files', 65_536), 65_536);
const NPROC = Math.min(hardLimit('Max processes', 16_384), 16_384);
const ULIMITS = ['--ulimit', `nofile=${NOFILE}:${NOFILE}`, '--ulimit', `nproc=${NPROC}:${NPROC}`];

// ---------- preparation ----------

async function ensurePackages(): Promise<void> {
  const need: string[] = [];
  for (const [command, pkg] of [
    ['podman', 'podman'],
    ['runc', 'runc'],
    ['debootstrap', 'debootstrap'],
  ] as const) {
    if (!(await has(command))) need.push(pkg);
  }
  if (need.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages ${need.join(', ')}: install them, or run as root`);
  console.log(`installing Debian packages: ${need.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const log = join(ARTIFACTS, 'image-apt.log');
  let r = await runLogged('apt-get', ['update', '-qq'], log, 300_000, env);
  if (r.code === 0) r = await runLogged('apt-get', ['install', '-y', '-qq', ...need], log, 600_000, env);
  if (r.code !== 0) throw new Error(`apt-get failed:\n${r.tail}`);
}

/** The images the Dockerfile's stages start FROM, other than its own stages. */
function baseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const bases = new Set<string>();
  for (const line of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]!.toLowerCase())) bases.add(m[1]!);
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return [...bases];
}

/** The host's CA bundle (NODE_EXTRA_CA_CERTS names it here) and the folder mounted read-only into the build. */
function caBundle(): { dir: string; file: string } | undefined {
  const file = process.env['NODE_EXTRA_CA_CERTS'] || '/etc/ssl/certs/ca-certificates.crt';
  return existsSync(file) ? { dir: dirname(file), file: basename(file) } : undefined;
}

async function ensureBaseImage(name: string): Promise<void> {
  const recipe = createHash('sha256').update(readFileSync(BASE_SCRIPT)).digest('hex').slice(0, 16);
  const exists = (await podman(['image', 'exists', name])).code === 0;
  if (exists && process.env['IMAGE_TEST_REBUILD_BASE'] !== '1') {
    const label = (await podman(['image', 'inspect', '--format', '{{ index .Labels "odgw.base-recipe" }}', name])).stdout.trim();
    // an image of that name that this script did not make (a real one) is used as it is
    if (label === '' || label === '<no value>' || label === recipe) {
      console.log(`base image ${name}: present${label === recipe ? ' (assembled by test/image/base-image.sh, kept as a cache)' : ''}`);
      return;
    }
    console.log(`base image ${name}: assembled from an older recipe; reassembling`);
  }
  console.log(`base image ${name}: assembling it (no container registry is reachable here)`);
  const t0 = Date.now();
  const ca = caBundle();
  const env = { ...process.env, BASE_RECIPE: recipe, CAFILE: ca ? `/etc/ssl/certs/${ca.file}` : '' };
  const r = await runLogged('bash', [BASE_SCRIPT, name, CACHE], join(ARTIFACTS, 'image-base.log'), 900_000, env);
  if (r.code !== 0) throw new Error(`assembling the base image failed:\n${r.tail}`);
  figure(`base image assembled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// ---------- HTTP ----------

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => done(port));
    });
  });
}

const auth = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' };

async function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { headers: auth, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

async function post(url: string, body: unknown, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

function json(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface StreamResult {
  status: number;
  content: string;
  done: boolean;
  errorChunk: boolean;
  error?: string;
}

/** A streamed chat; `onFirstContent` runs once the first content delta has arrived. */
async function streamChat(origin: string, onFirstContent?: () => void, timeoutMs = 60_000): Promise<StreamResult> {
  const out: StreamResult = { status: 0, content: '', done: false, errorChunk: false };
  try {
    const res = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Tell me a short story about a lighthouse.' }] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    out.status = res.status;
    if (!res.body) return out;
    const decoder = new TextDecoder();
    let buf = '';
    let fired = false;
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const data = line.slice(6);
          if (data === '[DONE]') {
            out.done = true;
            continue;
          }
          const j = json(data);
          if (j?.error) out.errorChunk = true;
          const delta = j?.choices?.[0]?.delta?.content;
          if (typeof delta === 'string' && delta.length > 0) {
            out.content += delta;
            if (!fired && onFirstContent) {
              fired = true;
              onFirstContent();
            }
          }
        }
      }
    }
  } catch (err) {
    out.error = (err as Error).message;
  }
  return out;
}

// ---------- containers ----------

const containers: string[] = [];

async function startContainer(name: string, port: number, simUrl: string, extraEnv: Record<string, string> = {}): Promise<boolean> {
  containers.push(name);
  const env: Record<string, string> = {
    ...extraEnv,
    PORT: String(port),
    HOST: '127.0.0.1',
    PRIVATE_KEY: CLIENT_KEY,
    ONDEMAND_APIKEYS: UPSTREAM_KEYS.join(','),
    ONDEMAND_BASE_URL: simUrl,
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    HEALTH_CHECK_INTERVAL: '0',
    LOG_LEVEL: 'info',
  };
  const r = await podman(
    [
      'run',
      '--detach',
      '--name',
      name,
      // as a Space runs it: uid 1000, persistent storage at /data (DATA_DIR unset: the gateway finds /data itself)
      '--user',
      '1000',
      '--volume',
      `${VOLUME}:/data`,
      // the simulator listens on the host's loopback, the gateway on the host's loopback too
      '--network',
      'host',
      ...ULIMITS,
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      APP_IMAGE,
    ],
    60_000,
  );
  if (r.code !== 0) {
    console.log(r.stderr.trim());
    return false;
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await get(`http://127.0.0.1:${port}/healthz`, 2000)).status === 200) return true;
    const state = (await podman(['inspect', '--format', '{{.State.Status}}', name])).stdout.trim();
    if (state !== 'running' && state !== 'created') break;
    await sleep(250);
  }
  console.log(`container ${name} did not come up; its log:\n${(await podman(['logs', '--tail', '40', name])).stderr}`);
  return false;
}

/** Waits until the container has exited; returns its exit code and when it exited (or undefined on timeout). */
async function waitExit(name: string, timeoutMs: number): Promise<{ code: number; at: number } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = (await podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name], 10_000)).stdout.trim().split(' ');
    if (s[0] === 'exited' || s[0] === 'stopped') return { code: Number(s[1]), at: Date.now() };
    await sleep(100);
  }
  return undefined;
}

/** Runs a command in a throwaway container of the built image, as uid 1000 and without a network. */
function inImage(entrypoint: string, args: string[]): Promise<Run> {
  return podman(['run', '--rm', '--network', 'none', '--user', '1000', ...ULIMITS, '--entrypoint', entrypoint, APP_IMAGE, ...args], 60_000);
}

async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '--force', '--time', '2', name], 60_000);
}

// ---------- the test ----------

/** Tracing on, to a receiver on the host's loopback (exports every 100 ms). */
function tracingEnv(receiver: OtlpReceiver, protocol: 'http/protobuf' | 'http/json', exporters = 'otlp'): Record<string, string> {
  return {
    OTEL_TRACES_EXPORTER: exporters,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
    OTEL_SERVICE_NAME: 'odgw-image-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
}

/** A chat's SERVER span and the CLIENT span of its upstream attempt under it, once the receiver has both. */
async function chatSpans(receiver: OtlpReceiver, timeoutMs: number): Promise<{ server: ReceivedSpan; attempt: ReceivedSpan } | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = receiver.spans();
    const server = spans.find((s) => s.kind === 'SERVER' && s.name === 'chat gpt-4o');
    const attempt = server && spans.find((s) => s.kind === 'CLIENT' && s.parentSpanId === server.spanId && s.traceId === server.traceId);
    if (server && attempt) return { server, attempt };
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

async function keyState(origin: string, fp: string): Promise<string | undefined> {
  const list = json((await get(`${origin}/admin/keys`)).body);
  return list?.data?.find((k: { fingerprint: string }) => k.fingerprint === fp)?.state;
}

/** Whether a name of this test's belongs to a run that is over: its names carry the run's process id. */
function isStale(name: string): boolean {
  const pid = Number(/odgw-image-test[-:](\d+)-/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false; // another image test is running now: leave its things alone
  } catch {
    return true;
  }
}

/** What an earlier run that was killed before its cleanup left: its containers, volumes and images (all named odgw-image-test). */
async function removeLeftovers(): Promise<void> {
  const names = (await podman(['ps', '--all', '--filter', 'name=^odgw-image-test-', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n !== '' && isStale(n));
  for (const c of names) await removeContainer(c);
  const vols = (await podman(['volume', 'ls', '--filter', 'name=odgw-image-test-', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => n !== '' && isStale(n));
  if (vols.length > 0) await podman(['volume', 'rm', '--force', ...vols], 60_000);
  const imgs = (await podman(['images', '--filter', 'reference=localhost/odgw-image-test', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    .split('\n')
    .filter((n) => n.startsWith('localhost/odgw-image-test:') && isStale(n));
  // by name and without --force: a name only is removed where the image has others (the base image, say)
  for (const img of new Set(imgs)) await podman(['rmi', img], 120_000);
  if (names.length + vols.length + imgs.length > 0) console.log(`removed what an earlier run left: ${names.length} containers, ${vols.length} volumes, ${imgs.length} images`);
}

async function main(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  mkdirSync(CACHE, { recursive: true });
  await ensurePackages();
  await removeLeftovers();
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const bases = baseImages(dockerfile);
  if (!check('the Dockerfile starts FROM one base image', bases.length === 1, bases.join(', '))) return;
  await ensureBaseImage(bases[0]!);

  // build
  const ca = caBundle();
  const t0 = Date.now();
  const build = await runLogged(
    'podman',
    [
      ...PODMAN,
      'build',
      '--isolation',
      'chroot',
      '--network',
      'host',
      '--pull=never',
      '--layers=false',
      ...ULIMITS,
      ...(ca ? ['--volume', `${ca.dir}:/etc/ssl/certs:ro`] : []),
      '--tag',
      APP_IMAGE,
      '--file',
      'Dockerfile',
      '.',
    ],
    join(ARTIFACTS, 'image-build.log'),
    1_200_000,
  );
  const buildSeconds = (Date.now() - t0) / 1000;
  if (!check('the Dockerfile builds', build.code === 0, `${buildSeconds.toFixed(1)} s`)) {
    console.log(build.tail);
    return;
  }
  figure(`build time ${buildSeconds.toFixed(1)} s (no layer cache, base image present)`);

  // what the image is
  const inspect = json((await podman(['image', 'inspect', APP_IMAGE])).stdout)?.[0];
  const baseSize = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', bases[0]!])).stdout.trim());
  const size = Number(inspect?.Size);
  figure(`image size ${(size / 1e6).toFixed(1)} MB (base ${(baseSize / 1e6).toFixed(1)} MB, the gateway's layers ${((size - baseSize) / 1e6).toFixed(1)} MB)`);
  const config = inspect?.Config ?? {};
  const envList: string[] = config.Env ?? [];
  check('the image runs as uid 1000', config.User === '1000' || config.User === 'node', `User=${config.User}`);
  check('the image listens on 7860 by default', envList.includes('PORT=7860') && Object.keys(config.ExposedPorts ?? {}).includes('7860/tcp'));
  check('the image stops with SIGTERM', (config.StopSignal ?? 'SIGTERM') === 'SIGTERM', `StopSignal=${config.StopSignal}`);

  const devDeps = Object.keys(json(readFileSync(join(ROOT, 'package.json'), 'utf8'))?.devDependencies ?? {});
  const probe = await inImage('sh', [
    '-c',
    [
      'for c in gcc g++ cc c++ make python3 ld as; do command -v "$c"; done',
      'ls /usr/bin | grep -E "^(gcc|g\\+\\+|x86_64-linux-gnu-g)" || true',
      `for d in ${devDeps.map((d) => `'${d}'`).join(' ')}; do [ -e "/app/node_modules/$d" ] && echo "dev:$d"; done`,
      'true',
    ].join('\n'),
  ]);
  const leftovers = probe.stdout.trim().split('\n').filter(Boolean);
  check('the image carries no compiler', probe.code === 0 && !leftovers.some((l) => !l.startsWith('dev:')), leftovers.filter((l) => !l.startsWith('dev:')).join(' '));
  check(
    'the image carries no dev dependency',
    probe.code === 0 && !leftovers.some((l) => l.startsWith('dev:')),
    leftovers
      .filter((l) => l.startsWith('dev:'))
      .map((l) => l.slice(4))
      .join(' '),
  );

  // the tokenizer is pruned to what the counter loads (deploy/prune.mjs): the image's counts equal the host's
  const { countTokens: hostCount } = await import('../../src/core/tokens.js');
  const sample = 'Fünf Ärzte 😀 <|endoftext|> 東京都 — a lighthouse keeper counts the waves.';
  const probeTokens = [
    `const m = await import('/app/dist/core/tokens.js');`,
    // as startGateway loads it: the table read from the o200k data file
    `const r = await import('/app/dist/runtime/tiktoken-ranks.js');`,
    `m.loadTokenizer(() => r.readTiktokenTable(r.o200kDataFile()));`,
    `const { readdirSync, statSync } = await import('node:fs');`,
    `const dir = '/app/node_modules/gpt-tokenizer';`,
    `const bytes = readdirSync(dir, { recursive: true }).reduce((n, f) => n + (statSync(dir + '/' + f).isFile() ? statSync(dir + '/' + f).size : 0), 0);`,
    `console.log(JSON.stringify({ count: m.countTokens(${JSON.stringify(sample)}), bytes }));`,
  ].join('\n');
  const counted = await inImage('node', ['--input-type=module', '-e', probeTokens]);
  const tokens = json(counted.stdout.trim());
  check(
    'the image counts tokens as the gateway on the host does (pruned tokenizer)',
    counted.code === 0 && tokens?.count === hostCount(sample),
    `image ${tokens?.count ?? counted.stderr.trim().slice(0, 200)}, host ${hostCount(sample)}`,
  );
  figure(`gpt-tokenizer in the image: ${(Number(tokens?.bytes) / 1e6).toFixed(1)} MB`);
  const du = (await inImage('du', ['-sb', '/app/node_modules/@opentelemetry', '/app/node_modules'])).stdout.trim().split('\n');
  figure(`in the image: OpenTelemetry ${(Number.parseInt(du[0] ?? '', 10) / 1e6).toFixed(1)} MB, all of node_modules ${(Number.parseInt(du[1] ?? '', 10) / 1e6).toFixed(1)} MB`);

  // run it
  const sim: Simulator = await startSimulator({ host: '127.0.0.1', port: 0, keys: UPSTREAM_KEYS });
  // OTLP collectors on the host's loopback: the first container exports http/protobuf, the second http/json and to the console
  const otlpA = await startOtlpReceiver();
  const otlpB = await startOtlpReceiver();
  try {
    if ((await podman(['volume', 'create', VOLUME])).code !== 0) return void check('a volume for /data', false);
    // Give the new volume its owner the way Docker does: a new named volume takes the owner of the image's
    // directory at the mount point, and is root's where the image has none. (Podman, left alone, would give it to
    // the container's user, hiding an image without /data, where the gateway under Docker could not write.)
    const init = await podman(['run', '--rm', '--network', 'none', '--user', '0', ...ULIMITS, '--volume', `${VOLUME}:/data`, '--entrypoint', 'true', APP_IMAGE]);
    const volOwner = (await podman(['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME])).stdout.trim();
    const ownerUid = init.code === 0 && volOwner && existsSync(volOwner) ? statSync(volOwner).uid : -1;
    check('a new volume at /data is owned by uid 1000 (the image has /data for uid 1000)', ownerUid === 1000, `owner uid ${ownerUid}`);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const a = `odgw-image-test-${RUN_ID}-a`;
    if (!check('the container starts as uid 1000 with a /data volume', await startContainer(a, port, sim.url, tracingEnv(otlpA, 'http/protobuf')))) return;
    const uid = (await podman(['exec', a, 'id', '-u'], 30_000)).stdout.trim();
    check('the gateway runs as uid 1000', uid === '1000', `id -u: ${uid}`);
    // the image's node runs one V8 helper thread, as npm start does (Node would start four whatever the cores)
    const pid1 = (await podman(['exec', a, 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; ls /proc/1/task | wc -l'], 30_000)).stdout.trim();
    check('the gateway runs node with --v8-pool-size=1', /^node --v8-pool-size=1 dist\/main\.js/.test(pid1), pid1.replace('\n', ', threads: '));
    const ready = await get(`${origin}/readyz`);
    check('/readyz answers 200', ready.status === 200, `${ready.status}`);

    const chat = await post(`${origin}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] });
    const chatJson = json(chat.body);
    check(
      'a chat through the container (not streamed)',
      chat.status === 200 && typeof chatJson?.choices?.[0]?.message?.content === 'string' && chatJson.choices[0].message.content.length > 0 && chatJson.usage?.total_tokens > 0,
      `${chat.status}`,
    );
    // tracing on (deploy/prune.mjs kept of OpenTelemetry only what the tracing setup loads)
    const tracedA = await chatSpans(otlpA, 10_000);
    check(
      "the chat's spans reach an OTLP collector (http/protobuf)",
      tracedA !== undefined && otlpA.exports().every((e) => e.contentType.startsWith('application/x-protobuf')) && tracedA.server.resource['service.name'] === 'odgw-image-test',
      tracedA ? `${tracedA.server.name} > ${tracedA.attempt.name}` : `${otlpA.spans().length} spans received`,
    );
    const stream = await streamChat(origin);
    check(
      'a chat through the container (streamed)',
      stream.status === 200 && stream.content.length > 0 && stream.done && !stream.errorChunk,
      `${stream.status}${stream.error ? ` ${stream.error}` : ''}`,
    );

    // a key disabled through the admin API stays disabled in a fresh container on the same volume
    const keys = json((await get(`${origin}/admin/keys`)).body)?.data ?? [];
    const fp: string | undefined = keys[0]?.fingerprint;
    const disabled = fp ? json((await post(`${origin}/admin/keys/${fp}/disable`, {})).body) : undefined;
    check('a key is disabled through the admin API', keys.length === UPSTREAM_KEYS.length && disabled?.state === 'disabled', `${fp} ${disabled?.state}`);
    const stopA = await podman(['stop', '--time', String(GRACE_MS / 1000 + 5), a], GRACE_MS + 30_000);
    const exitA = await waitExit(a, 10_000);
    check('the container stops cleanly (exit 0)', stopA.code === 0 && exitA?.code === 0, `exit ${exitA?.code}`);
    const mount = (await podman(['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME])).stdout.trim();
    const files = mount && existsSync(mount) ? readdirSync(mount) : [];
    const dbFile = files.find((f) => /\.(db|sqlite3?)$/.test(f));
    check(
      'the SQLite file is in the /data volume, owned by uid 1000',
      dbFile !== undefined && statSync(join(mount, dbFile)).uid === 1000,
      dbFile ? `${dbFile}, uid ${statSync(join(mount, dbFile)).uid}` : `volume holds: ${files.join(', ') || 'nothing'}`,
    );
    await removeContainer(a);

    const b = `odgw-image-test-${RUN_ID}-b`;
    if (!check('a fresh container starts on the same volume', await startContainer(b, port, sim.url, tracingEnv(otlpB, 'http/json', 'otlp,console')))) return;
    const after = fp ? await keyState(origin, fp) : undefined;
    check('the disabled key is still disabled in the fresh container', after === 'disabled', `${fp} ${after}`);
    check('/readyz answers 200 in the fresh container (one key left)', (await get(`${origin}/readyz`)).status === 200);

    // SIGTERM during a stream: the stream finishes, the container exits 0 within the grace period
    sim.setOptions({ deltas: 24, deltaIntervalMs: 120 });
    let termAt = 0;
    let termSent: Promise<Run> | undefined;
    let drainProbe: Promise<{ status: number; body: string }> | undefined;
    const streamed = await streamChat(origin, () => {
      termAt = Date.now();
      termSent = podman(['kill', '--signal', 'SIGTERM', b], 30_000);
      // the stream still has about 2.5 s to go: readiness must already say "not ready"
      drainProbe = termSent.then(() => sleep(200)).then(() => get(`${origin}/readyz`, 2000));
    });
    const readyDuringDrain = drainProbe ? await drainProbe : undefined;
    const exitB = await waitExit(b, GRACE_MS + 15_000);
    const killed = termSent ? await termSent : undefined;
    check('SIGTERM is delivered during a stream', termAt > 0 && killed?.code === 0, killed?.stderr.trim() ?? 'no content arrived');
    check(
      'the stream in flight finishes after SIGTERM',
      streamed.status === 200 && streamed.done && !streamed.errorChunk && streamed.content === stream.content,
      `done=${streamed.done} errorChunk=${streamed.errorChunk} ${streamed.content.length}/${stream.content.length} chars${streamed.error ? ` ${streamed.error}` : ''}`,
    );
    check('/readyz answers 503 while the stream drains', readyDuringDrain?.status === 503, `${readyDuringDrain?.status}`);
    const drainMs = exitB && termAt ? exitB.at - termAt : undefined;
    check(
      'the container exits 0 within the grace period',
      exitB?.code === 0 && drainMs !== undefined && drainMs <= GRACE_MS,
      `exit ${exitB?.code} after ${drainMs} ms (grace ${GRACE_MS} ms)`,
    );
    if (drainMs !== undefined) figure(`SIGTERM to exit with a stream in flight: ${drainMs} ms`);
    if (exitB?.code !== 0) console.log((await podman(['logs', '--tail', '30', b])).stderr);
    // the streamed chat's spans, exported by the shutdown: over OTLP http/json, and to the console (the container's stdout)
    const tracedB = await chatSpans(otlpB, 2000);
    check(
      "the streamed chat's spans reach an OTLP collector (http/json) by the shutdown",
      tracedB !== undefined && otlpB.exports().every((e) => e.contentType.startsWith('application/json')),
      tracedB ? `${tracedB.server.name} > ${tracedB.attempt.name}` : `${otlpB.spans().length} spans received`,
    );
    const logsB = await podman(['logs', b], 30_000);
    check(
      "the streamed chat's span is printed by the console exporter",
      tracedB !== undefined && (logsB.stdout + logsB.stderr).includes(`traceId: '${tracedB.server.traceId}'`),
      tracedB ? `trace ${tracedB.server.traceId}` : 'no span to look for',
    );
  } finally {
    await sim.close();
    await otlpA.close();
    await otlpB.close();
  }
}

async function cleanup(): Promise<void> {
  for (const c of containers) await removeContainer(c);
  await podman(['volume', 'rm', '--force', VOLUME], 60_000);
  await podman(['rmi', APP_IMAGE], 120_000);
  const left = (await podman(['ps', '--all', '--filter', `name=odgw-image-test-${RUN_ID}`, '--format', '{{.Names}}'])).stdout.trim();
  const img = (await podman(['image', 'exists', APP_IMAGE])).code === 0;
  check('nothing is left running and the built image is removed', left === '' && !img, `${left}${img ? ` ${APP_IMAGE}` : ''}`);
}

let cleaning: Promise<void> | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.log(`${signal}: cleaning up`);
    cleaning ??= cleanup();
    void cleaning.finally(() => process.exit(1));
  });
}

try {
  await main();
} catch (err) {
  check('the image test ran to the end', false, (err as Error).message);
}
cleaning ??= cleanup();
await cleaning;
figure(`the whole image test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
