// Where the client reached the service: the links a turn gives (a report's) are absolute on it, so that a
// browser opens them as they are. Fastify's request.protocol and request.host honour the app's trustProxy.
import type { FastifyRequest } from "fastify";

/** The request's origin, e.g. `https://counsel.example.com`. */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
