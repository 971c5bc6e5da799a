/**
 * `npm run probe:live`: the live probe (bench/live-probe.ts) with one real OnDemand key, printing a Markdown
 * table to paste into an issue. It refuses to run without a key. Settings (environment):
 *
 *   ONDEMAND_APIKEYS   the key to probe with (the first, when several are listed)            required
 *   ONDEMAND_BASE_URL  the upstream origin                                                   https://api.on-demand.io
 *   PROBE_MODEL        the model: an alias or an endpointId                                  gpt-4o
 *   PROBE_TURNS        turns per arm, 2 to 8                                                 3
 *   USER_AGENT         sent upstream                                                         the gateway's
 */
import { parseList } from '../src/config/config.js';
import { createModelRouter } from '../src/ondemand/models.js';
import { formatReport, plannedCalls, runProbe } from './live-probe.js';

const env = process.env;
const key = parseList(env['ONDEMAND_APIKEYS'])[0];
if (key === undefined) {
  process.stderr.write(
    'probe:live needs a real OnDemand key and will not run without one: set ONDEMAND_APIKEYS=<your key> (with the default PROBE_TURNS=3 it sends 10 small queries).\n',
  );
  process.exit(2);
}
const baseUrl = (env['ONDEMAND_BASE_URL'] ?? 'https://api.on-demand.io').replace(/\/+$/, '');
const model = env['PROBE_MODEL'] ?? 'gpt-4o';
const turns = Number(env['PROBE_TURNS'] ?? '3');
if (!Number.isInteger(turns) || turns < 2 || turns > 8) {
  process.stderr.write(`PROBE_TURNS must be an integer from 2 to 8, got ${env['PROBE_TURNS']}\n`);
  process.exit(2);
}
const endpointId = createModelRouter({ defaultModel: 'gpt-4o' }).resolve(model)?.endpointId ?? model;
const calls = plannedCalls(turns);
process.stderr.write(`probe:live: ${calls.queries} queries in ${calls.sessions} sessions and ${calls.reads} catalogue read to ${baseUrl}, model ${endpointId}\n`);
const report = await runProbe({ key, baseUrl, endpointId, turns, userAgent: env['USER_AGENT'] ?? 'ondemand-gateway/0.1 (+OpenAI-compatible proxy)' });
process.stdout.write(`${formatReport(report)}\n`);
