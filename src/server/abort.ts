// An AbortSignal that fires when the client goes away before its reply is complete, so that the model
// call and retrieval behind a request stop instead of working for nobody.
import type { FastifyReply } from "fastify";

export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // The response's "close" (unlike the request's, which fires once the body is read) means the connection
  // ended; before writableEnded it means the client left early.
  reply.raw.once("close", () => {
    if (!reply.raw.writableEnded) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}
