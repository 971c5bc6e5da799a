// Architecture rules for src/, checked by dependency-cruiser: `npm run layers`.
//
// LAYERS lists the folders of src/ from top to bottom. A layer may import itself and the layers BELOW it, never
// one above it; layers on the same row are siblings and may not import each other. Type-only imports count
// (tsPreCompilationDeps). Tests (*.test.ts, test-helpers.ts, test/, bench/) are exempt from the order, but
// production code may not import them.

/** top to bottom; each row is one level, each entry [name, path regex] */
const LAYERS = [
  [['entry', '^src/(main|demo)\\.ts$']],
  [['composition', '^src/(gateway\\.ts$|wiring/)']],
  [['frontends', '^src/frontends/']],
  [['observability', '^src/observability/']],
  [['http', '^src/http/']],
  [['dashboard', '^src/dashboard/']],
  [['config', '^src/config/']],
  [
    ['keypool', '^src/keypool/'],
    ['client-keys', '^src/client-keys/'],
  ],
  [
    ['store', '^src/store/'],
    ['upstream', '^src/upstream/'],
  ],
  [['core', '^src/core/']],
  [['ondemand', '^src/ondemand/']],
  [['runtime', '^src/runtime/']],
];

/**
 * The core and OnDemand's protocol are pure: no sockets, files, databases or HTTP clients. What they need of the
 * world comes through the engine's ports (src/core/ports.ts), implemented above them (src/upstream/, src/store/).
 */
const PURE = '^src/(core|ondemand)/';
const IO_MODULES = [
  '^(node:)?(net|http|https|http2|tls|dgram|dns|dns/promises|fs|fs/promises|child_process|cluster|worker_threads)$',
  '(^|/)node_modules/(undici|redis|@redis/[^/]+|better-sqlite3|fastify|ioredis)/',
  '^src/(upstream|store|http|runtime/(undici-lean|tiktoken-ranks))',
];

/** the simulator stands apart from the layers: it imports nothing else from src, and only src/demo.ts imports it */
const SIMULATOR = '^src/simulator/';
const TESTS = ['\\.test\\.ts$', '(^|/)test-helpers\\.ts$', '^test/', '^bench/'];
/** production code in src: what every rule below is about */
const PRODUCTION = { path: '^src/', pathNot: TESTS };

const levels = LAYERS.map((row, level) => row.map(([name, path]) => ({ name, path, level })));
const layers = levels.flat();
const LAYER_PATHS = layers.map((l) => l.path);
const below = (l) => layers.filter((m) => m.level > l.level).map((m) => m.name);

const layerRules = layers.flatMap((from) =>
  layers
    .filter((to) => to.level < from.level || (to.level === from.level && to.name !== from.name))
    .map((to) => ({
      name: `layer ${from.name} -> ${to.name}`,
      severity: 'error',
      comment:
        to.level === from.level
          ? `${from.name} and ${to.name} are siblings on one level: neither may import the other`
          : `${from.name} is below ${to.name}: it may import only itself${below(from).length > 0 ? ` and ${below(from).join(', ')}` : ''}`,
      from: { path: from.path, pathNot: TESTS },
      to: { path: to.path },
    })),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'pure imports I/O',
      severity: 'error',
      comment:
        'the core and the OnDemand protocol import no I/O (sockets, files, HTTP, undici, Redis, SQLite, the upstream transport): the engine reaches the world through its ports',
      from: { path: PURE, pathNot: TESTS },
      to: { path: IO_MODULES },
    },
    {
      name: 'OpenTelemetry outside tracing',
      severity: 'error',
      comment:
        'only src/observability/tracing.ts imports OpenTelemetry, and only src/wiring/tracing.ts imports it (when tracing is on): with tracing off nothing of the SDK loads, and the core sees tracing only as its AttemptObserver port',
      from: { path: '^src/', pathNot: ['^src/observability/tracing\\.ts$', ...TESTS] },
      to: { path: '(^|/)node_modules/@opentelemetry/' },
    },
    {
      name: 'tracing loaded outside its wiring',
      severity: 'error',
      comment: 'src/observability/tracing.ts (the OpenTelemetry SDK) is imported only by src/wiring/tracing.ts, which loads it when tracing is on',
      from: { path: '^src/', pathNot: ['^src/wiring/tracing\\.ts$', ...TESTS] },
      to: { path: '^src/observability/tracing\\.ts$' },
    },
    {
      name: 'unlayered imported',
      severity: 'error',
      comment: 'a module outside every layer (and not the simulator or a test) is imported from another folder: add its folder to LAYERS',
      from: { path: '^src/([^/]+)', pathNot: TESTS },
      to: { path: '^src/', pathNot: [...LAYER_PATHS, SIMULATOR, ...TESTS, '^src/$1/'] },
    },
    {
      name: 'unlayered imports',
      severity: 'error',
      comment: 'a module outside every layer (and not the simulator or a test) imports from another folder: add its folder to LAYERS',
      from: { path: '^src/([^/]+)', pathNot: [...LAYER_PATHS, SIMULATOR, ...TESTS] },
      to: { path: '^src/', pathNot: ['^src/$1/', ...TESTS] },
    },
    {
      name: 'simulator imports src',
      severity: 'error',
      comment: 'the simulator stands apart: it imports nothing from the rest of src',
      from: { path: SIMULATOR, pathNot: TESTS },
      to: { path: '^src/', pathNot: [SIMULATOR, ...TESTS] },
    },
    {
      name: 'only demo imports simulator',
      severity: 'error',
      comment: 'only src/demo.ts (and tests, bench) may import the simulator',
      from: { path: '^src/', pathNot: [SIMULATOR, '^src/demo\\.ts$', ...TESTS] },
      to: { path: SIMULATOR },
    },
    {
      name: 'production imports test',
      severity: 'error',
      comment: 'production code must not import tests, test helpers, test/ or bench/',
      from: PRODUCTION,
      to: { path: TESTS },
    },
    {
      name: 'no circular',
      severity: 'error',
      comment: 'no import cycles between production modules in src',
      from: PRODUCTION,
      to: { circular: true, path: '^src/', pathNot: TESTS },
    },
    {
      name: 'production imports devDependency',
      severity: 'error',
      comment: 'production code in src may use only dependencies, never devDependencies (npm ci --omit=dev leaves them out)',
      from: PRODUCTION,
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'unresolvable import',
      severity: 'error',
      comment: 'every import in src resolves to a file (were `.js` specifiers not mapped to .ts, every layer rule would pass vacuously)',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^src/dashboard/static/'] },
    // keep `import type` edges (the compiler erases them): type-only imports obey the layers too
    tsPreCompilationDeps: true,
    // resolve with tsconfig.json (NodeNext): the `./x.js` specifiers written in src resolve to the ./x.ts sources
    tsConfig: { fileName: 'tsconfig.json' },
    // resolve npm packages as Node's ESM loader does (classification only: npm / npm-dev / core)
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
