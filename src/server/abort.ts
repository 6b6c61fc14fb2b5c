// An AbortSignal that fires when the client goes away before its reply is complete, so that the model
// call and retrieval behind a request stop instead of working for nobody.
import type { FastifyReply } from "fastify";
import { CounselError } from "../errors.ts";

/** The abort reason: a 499 (nginx's "client closed request"), which nobody reads but the logs and metrics. */
export class ClientClosedError extends CounselError {
  constructor() {
    super("client_closed", 499, "The client closed the connection before the reply was complete.");
    this.name = "ClientClosedError";
  }
}

const signals = new WeakMap<FastifyReply["raw"], AbortSignal>();

/** The same signal for every caller on one request (the fair-turns wait, then the route). */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  let signal = signals.get(reply.raw);
  if (signal) return signal;
  const controller = new AbortController();
  // The response's "close" (unlike the request's, which fires once the body is read) means the connection
  // ended; before writableEnded it means the client left early.
  reply.raw.once("close", () => {
    if (!reply.raw.writableEnded) controller.abort(new ClientClosedError());
  });
  signal = controller.signal;
  signals.set(reply.raw, signal);
  return signal;
}
