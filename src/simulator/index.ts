/**
 * A faithful OnDemand (on-demand.io) chat API simulator for tests, the demo, the benchmark and chaos runs.
 * The upstream routes are in ./routes.ts, the /__sim control surface in ./control.ts, what it remembers in ./state.ts.
 */
import { SimServer } from './server.js';
import type { Simulator, SimulatorOptions } from './types.js';

export type {
  AnswerContext,
  BehaviorScope,
  KeyBehavior,
  KeyBehaviorSpec,
  KeyStats,
  MutableOptions,
  SimAnswer,
  SimStats,
  Simulator,
  SimulatorOptions,
  TraceparentRecord,
  UploadRecord,
} from './types.js';
export {
  ECHO_MARKER,
  MAX_DELTAS,
  NO_METRICS_MARKER,
  THINKING_TEXT,
  UNICODE_ANSWER,
  UNICODE_MARKER,
  defaultAnswer,
  defaultAnswerText,
  lastLine,
  recallCodeWord,
  simTokens,
  simUsage,
  splitDeltas,
  wantsThinking,
} from './answer.js';
export { SIM_CATALOGUE, catalogueBody, isAcceptedEndpoint, type CatalogueEndpoint } from './catalogue.js';
export { DONE_FRAME, errorFrame, frame } from './frames.js';
export { edgeHtml, isDefaultUserAgent } from './http.js';
export {
  DEFAULT_PLUGIN_DELAY_MS,
  INTERNET_SEARCH_PLUGIN_ID,
  PLANNING_THINKING_TEXT,
  PLUGIN_FAILURE_REASON,
  PLUGIN_FAIL_MARKER,
  PLUGIN_HEARTBEAT_MS,
  PLUGIN_STREAM_TIMEOUT_MARKER,
  PLUGIN_TIMEOUT_ERROR_CODE,
  PLUGIN_TIMEOUT_MARKER,
  PLUGIN_TIMEOUT_MESSAGE,
  SIM_PLUGINS,
  citedSources,
  pluginAnswer,
  pluginAnswerText,
  pluginCallJson,
  pluginFailureText,
  pluginPlanJson,
  searchQueryFor,
  type CitedSource,
  type SimPlugin,
} from './plugins.js';
export { simulatedContext, simulatedTranscript } from './media.js';

/** Start a simulator listening on host:port (default 127.0.0.1, ephemeral port). */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimServer(opts);
  await sim.listen();
  return sim;
}
