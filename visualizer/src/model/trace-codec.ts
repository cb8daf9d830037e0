/**
 * The trace codec (`#trace=t1.<base64url JSON>`), for the page and the model: it lives in
 * lib/simulation/trace-codec.ts, beside the `simulate` CLI that prints trace URLs (lib/ is
 * built alone and cannot import from visualizer/), and is re-exported here.
 */
export { TRACE_PREFIX, TraceError, decodeTrace, encodeTrace, traceOptionsOf } from '../../../lib/simulation/trace-codec';
export type { Trace, TraceErrorReason, TraceOptions } from '../../../lib/simulation/trace-codec';
