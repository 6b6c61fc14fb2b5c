// Each model call and tool call of the agent waits for its turn on the event loop (src/event-loop/turn-queue.ts).
// A model call's reply ending sets off, in the same loop turn, LangGraph's step bookkeeping, the tool, and the
// next model call's set-up: 5-10 ms of CPU with nothing to wait on. Fifty turns whose replies end together ran
// all of that back to back while other streams' first tokens waited read-ready on their sockets: 150-200 ms at
// p99 in `npm run bench:sse`, 20-35 ms with this (bench/README.md). The turn as a whole is no slower: the work is
// the same, only its order changes, and a turn that is streaming is never stuck behind others that are setting up.
import { createMiddleware } from "langchain";
import type { TurnQueue } from "../event-loop/turn-queue.ts";

export function loopTurns(turns: TurnQueue) {
  return createMiddleware({
    name: "LoopTurns",
    wrapModelCall: async (request, handler) => {
      await turns.take(request.runtime.signal);
      return handler(request);
    },
    wrapToolCall: async (request, handler) => {
      await turns.take(request.runtime.signal);
      return handler(request);
    },
  });
}
