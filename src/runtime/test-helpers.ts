/** What the runtime modules' tests share: a script run in a fresh node, with the modules under test preloaded. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `--import <this module>` for a module of src/runtime, to preload in runNode */
export const preload = (module: string): string[] => ['--import', new URL(module, import.meta.url).href];

/**
 * Runs `script` (an ES module) in a fresh node with V8's `flags` and the `preloads` (after tsx), in the project's
 * root and without the caller's NODE_OPTIONS; its standard output.
 */
export function runNode(script: string, preloads: readonly string[] = [], flags: readonly string[] = []): string {
  return execFileSync(process.execPath, [...flags, '--import', 'tsx', ...preloads, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
}
