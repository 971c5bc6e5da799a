/**
 * The ways the gateway is started (`npm start`, `npm run demo`, the image's CMD) run node with the same flags, and
 * the one that sizes V8's helper threads does what it is there for on this Node: one helper instead of Node's four.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFlags } from '../bench/procs.js';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** `node <flags> <script>` split into its flags and its script */
function nodeCommand(words: readonly string[]): { flags: string[]; script: string | undefined } {
  expect(words[0]).toBe('node');
  return { flags: nodeFlags(words), script: words.at(-1) };
}

function imageCmd(): string[] {
  const line = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((l) => /^\s*CMD\s/.test(l))
    .at(-1);
  return JSON.parse(line!.replace(/^\s*CMD\s+/, '')) as string[];
}

describe('how the gateway is started', () => {
  const start = nodeCommand(pkg.scripts['start']!.split(/\s+/));

  it('npm start runs dist/main.js with one V8 helper thread', () => {
    expect(start).toEqual({ flags: ['--v8-pool-size=1'], script: 'dist/main.js' });
  });

  it('the image and npm run demo start node with the same flags as npm start', () => {
    expect(nodeCommand(imageCmd())).toEqual(start);
    expect(nodeCommand(pkg.scripts['demo']!.split(/\s+/))).toEqual({ flags: start.flags, script: 'dist/demo.js' });
  });

  it.skipIf(process.platform !== 'linux')('--v8-pool-size=1 leaves one V8 helper thread where Node starts four', () => {
    const threads = (flags: string[]): number =>
      Number(execFileSync(process.execPath, [...flags, '-e', "process.stdout.write(String(require('fs').readdirSync('/proc/self/task').length))"], { encoding: 'utf8' }));
    expect(threads([]) - threads(start.flags)).toBe(3);
  });
});
