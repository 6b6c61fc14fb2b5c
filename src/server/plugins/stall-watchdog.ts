// A reader that stops reading: what the socket cannot take waits in the server's memory, so a stream whose
// reader takes nothing for the stall timeout is dropped (its socket destroyed) and its turn aborted.
import type { FastifyInstance, FastifyReply } from "fastify";
import fp from "fastify-plugin";

export interface StallWatchdogOptions {
  /** How long a reply may wait on a full socket before its reader counts as gone. */
  timeoutMs: number;
}

/**
 * A signal that aborts once `reply`'s socket has stayed full (the reader takes nothing) for `timeoutMs`; the
 * socket is then destroyed. The watch ends with the response.
 *
 * @example
 * const signal = AbortSignal.any([clientAbortSignal(reply), app.stallSignal(reply)]);
 */
export function stallSignal(reply: FastifyReply, timeoutMs: number): AbortSignal {
  const controller = new AbortController();
  let stalledSince = 0;
  // Polled: the clock starts when the socket is first seen full and restarts once it has drained, so that a
  // slow reader is kept and only one that takes nothing is dropped.
  const timer = setInterval(
    () => {
      if (!reply.raw.writableNeedDrain) {
        stalledSince = 0;
        return;
      }
      stalledSince ||= Date.now();
      if (Date.now() - stalledSince >= timeoutMs) {
        controller.abort(new Error("client stopped reading"));
        reply.raw.destroy();
      }
    },
    Math.min(1000, timeoutMs),
  );
  timer.unref();
  reply.raw.once("close", () => clearInterval(timer));
  return controller.signal;
}

export const stallWatchdogPlugin = fp(
  async (app: FastifyInstance, options: StallWatchdogOptions) => {
    app.decorate("stallSignal", (reply: FastifyReply) => stallSignal(reply, options.timeoutMs));
  },
  { name: "counsel-stall-watchdog" },
);

declare module "fastify" {
  interface FastifyInstance {
    /** Aborts when `reply`'s reader has stopped reading for the stall timeout (see stall-watchdog.ts). */
    stallSignal(reply: FastifyReply): AbortSignal;
  }
}
