// Each model call and tool call of the agent waits for its turn on the event loop (src/event-loop/turn-queue.ts)
// before it starts and again once it has ended. A model call's reply ending sets off, in the same loop turn,
// LangChain's end of the call, LangGraph's step bookkeeping, the tool, and the next model call's set-up: 5-10 ms
// of CPU with nothing to wait on. Fifty turns whose replies end together ran all of that back to back while other
// streams' first tokens waited read-ready on their sockets (the p99 of `npm run bench:sse` before and after:
// bench/README.md). The turn after the call splits the call's end from LangGraph's bookkeeping. The turn as a
// whole is no slower: the work is the same, only its order changes, and a turn that is streaming is not stuck
// behind others that are setting up.
import { createMiddleware } from "langchain";
import type { TurnQueue } from "../event-loop/turn-queue.ts";

export function loopTurns(turns: TurnQueue) {
  /** Runs a model or tool call once its turn comes, and hands its result on at a later turn; a turn stopped
   * while waiting gives its place up. */
  const inTurn = async <R extends { runtime: { signal?: AbortSignal } }, T>(
    request: R,
    handler: (request: R) => Promise<T> | T,
  ): Promise<T> => {
    await turns.take(request.runtime.signal);
    const result = await handler(request);
    await turns.take(request.runtime.signal);
    return result;
  };
  return createMiddleware({ name: "LoopTurns", wrapModelCall: inTurn, wrapToolCall: inTurn });
}
