/**
 * `npm run agents:install`: installs the coding agents the end-to-end tests drive (test/agents/package.json, pinned
 * by its own lockfile) into test/agents/node_modules, which git ignores. They are not the project's devDependencies:
 * together they weigh over a gigabyte. `--strict-allow-scripts` makes npm refuse the install if any package has an
 * install script its allowScripts does not name; the two it names copy their platform's native binary out of the
 * registry's platform package. Each CLI then prints its version, which proves it starts on this machine.
 */
import { spawnSync } from 'node:child_process';
import { AGENT_CLIS, AGENTS_DIR, cliPath, pinnedVersion } from './clis.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// `install --no-save` rather than `ci`: the lockfile pins every version, and a registry mirror that lacks some other
// platform's optional binary package (npm skips those) must not fail the install on this one
const installed = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--strict-allow-scripts'], { cwd: AGENTS_DIR, stdio: 'inherit' });
if (installed.status !== 0) {
  console.error(`npm install in test/agents failed (exit ${installed.status ?? installed.signal})`);
  process.exit(1);
}

let failed = false;
for (const cli of AGENT_CLIS) {
  const version = pinnedVersion(cli);
  const run = spawnSync(cliPath(cli), ['--version'], { encoding: 'utf8', timeout: 120_000 });
  const out = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
  if (run.status === 0 && out.includes(version)) console.log(`${cli.name}: ${out.split('\n')[0]}`);
  else {
    failed = true;
    console.error(`${cli.name}: \`${cli.bin} --version\` did not print ${version} (exit ${run.status ?? run.signal}): ${out || run.error?.message}`);
  }
}
process.exit(failed ? 1 : 0);
