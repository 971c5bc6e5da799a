/**
 * Suites that need a program from a Debian package (redis-server, chromium). Where it is installed they run as any
 * other; where it is not, a newcomer's `npm test` skips them with one line naming the package, and under CI=true
 * (as .ci/run runs) they run anyway and fail with the suite's own "not installed" error: CI never skips them.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';

export interface Requirement {
  /** program names to look for on PATH, first found wins */
  programs: readonly string[];
  /** an environment variable that names the program's path, checked first */
  envPath?: string;
  debianPackage: string;
  /** what the skipped suites test, for the line a newcomer reads */
  needed: string;
}

export const REDIS: Requirement = { programs: ['redis-server'], debianPackage: 'redis-server', needed: 'the shared-state (Redis) tests' };
export const CHROMIUM: Requirement = {
  programs: ['chromium', 'chromium-browser'],
  envPath: 'CHROMIUM_PATH',
  debianPackage: 'chromium',
  needed: 'the dashboard browser tests',
};

/** The program's path, or undefined when it is not installed. */
export function findProgram(req: Requirement): string | undefined {
  const fromEnv = req.envPath === undefined ? undefined : process.env[req.envPath];
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const name of req.programs) {
      const candidate = path.join(dir, name);
      if (executable(candidate)) return candidate;
    }
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const announced = new Set<string>();

/** `describe` when the program is there (or under CI=true), `describe.skip` with one line saying why otherwise. */
export function describeNeeding(req: Requirement): ReturnType<typeof describe.skipIf> {
  if (findProgram(req) !== undefined || process.env['CI'] === 'true') return describe.skipIf(false);
  const line = `skipped: ${req.needed}, which need ${req.programs[0]} (apt-get install -y ${req.debianPackage}; CI installs it and never skips)`;
  if (!announced.has(line)) {
    announced.add(line);
    console.warn(line);
  }
  return describe.skipIf(true);
}
