/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: where a --cpu-prof profile spent its time, as self
 * time per function and per module (a package under node_modules, a file of ours, or node's internals).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const file = process.argv[2];
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const totalHits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
const msPerHit = (profile.endTime - profile.startTime) / 1000 / Math.max(1, totalHits);

function moduleOf(url: string): string {
  if (url === '') return '(native / vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}

const byFn = new Map<string, number>();
const byModule = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'}  ${moduleOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFn.set(name, (byFn.get(name) ?? 0) + hits);
  const mod = functionName === '(garbage collector)' ? '(garbage collector)' : functionName === '(idle)' ? '(idle)' : moduleOf(url);
  byModule.set(mod, (byModule.get(mod) ?? 0) + hits);
}
const busy = totalHits - (byModule.get('(idle)') ?? 0);
const pct = (hits: number): string => `${((hits / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (self time, % of non-idle ${((busy * msPerHit) / 1000).toFixed(1)} s)`);
  for (const [k, hits] of [...m]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`${pct(hits)}  ${k}`);
  }
};
// inclusive time of our own functions (dist/ or src/): samples under them, each counted once per stack
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const subtree = new Map<number, number>();
const hitsUnder = (id: number): number => {
  const cached = subtree.get(id);
  if (cached !== undefined) return cached;
  const node = nodes.get(id)!;
  let total = node.hitCount ?? 0;
  for (const c of node.children ?? []) total += hitsUnder(c);
  subtree.set(id, total);
  return total;
};
const inclusive = new Map<string, number>();
const walk = (id: number, onStack: Set<string>): void => {
  const node = nodes.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  let key: string | undefined;
  if (/\/(dist|src)\//.test(url) && !url.includes('node_modules')) {
    key = `${functionName || '(anonymous)'}  ${moduleOf(url)}:${lineNumber + 1}`;
    if (onStack.has(key)) key = undefined;
    else inclusive.set(key, (inclusive.get(key) ?? 0) + hitsUnder(id));
  }
  if (key) onStack.add(key);
  for (const c of node.children ?? []) walk(c, onStack);
  if (key) onStack.delete(key);
};
const rootNode = profile.nodes[0];
if (rootNode) walk(rootNode.id, new Set());

print('by module', byModule);
print('by function', byFn);
print('our functions, inclusive', inclusive);
