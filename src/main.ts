/**
 * `npm start`. The V8 settings come first, before the gateway's modules load: set once those are loaded and parsed,
 * they would come too late for what loading them allocated (src/runtime/no-pretenuring.ts, startup-heap.ts). Then
 * src/serve.ts: the configuration, the start, the drain on SIGTERM.
 */
import './runtime/no-pretenuring.js';
import './runtime/startup-heap.js';

await import('./serve.js');
