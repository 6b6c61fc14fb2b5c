// Query strings hold only text, and the app never coerces types (a "5" in a JSON body stays an error).
import type { FastifyRequest } from "fastify";

/**
 * A route's `limit`, read as a number when it is written as an integer (a preValidation hook), so that the
 * schema checks its range and anything else is refused as not an integer.
 */
export function limitAsNumber(request: FastifyRequest): void {
  const query = request.query as Record<string, unknown>;
  if (typeof query.limit === "string" && /^-?\d{1,16}$/.test(query.limit)) query.limit = Number(query.limit);
}
