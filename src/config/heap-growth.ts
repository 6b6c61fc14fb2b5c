// How far V8 lets the heap grow past its live objects before the next full collection. By default V8 picks a
// factor of up to 4 for a process that allocates fast, as ingestion does: the heap's dead room grows with what is
// live, so a knowledge base ten times larger costs several times its own size in garbage not yet collected
// (measured in docs/operations.md#memory). Set from HEAP_GROWING_PERCENT at start; V8 reads the flag at each
// collection, so setting it at run time takes effect (node has no environment variable for V8 flags other than
// a few in NODE_OPTIONS, and this is not one of them).
import { setFlagsFromString } from "node:v8";

/** Applies HEAP_GROWING_PERCENT; 0 leaves V8's own heuristics. */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
