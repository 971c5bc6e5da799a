/**
 * `npm run demo`. The V8 settings first, as in main.ts, then src/serve-demo.ts: the built-in simulator and the
 * gateway in one process.
 */
import './runtime/no-pretenuring.js';
import './runtime/startup-heap.js';

await import('./serve-demo.js');
