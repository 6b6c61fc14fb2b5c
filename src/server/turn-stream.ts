// What every streamed turn holds while it runs, whichever protocol serves it: a place among the client's open
// streams (429 past MAX_STREAMS_PER_CLIENT), an entry in the service's open streams (ended at shutdown), and one
// signal that stops the turn when the client leaves, stops reading, or the service shuts down.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { clientAbortSignal } from "./abort.ts";
import { clientKey } from "./plugins/rate-limit.ts";

export interface TurnStream {
  signal: AbortSignal;
  /** Gives the places back; call once, when the turn's reply has ended. */
  close(): void;
}

export function openTurnStream(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): TurnStream {
  const release = app.streamLimiter.acquire(clientKey(request));
  const stream = app.openStreams.open();
  return {
    signal: AbortSignal.any([clientAbortSignal(reply), app.stallSignal(reply), stream.signal]),
    close() {
      stream.close();
      release();
    },
  };
}
