// Every error leaves as application/problem+json (RFC 9457): {type, title, status, detail, code, ...}.
// Typed CounselErrors keep their status; a model service's failures are 502 or 503; Fastify's own 4xx errors
// (validation, body size, content type, multipart limits) keep theirs; anything else is a 500 whose detail is
// not leaked.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { CounselError, storeUnavailable } from "../../errors.ts";
import { modelFailure } from "../../models/errors.ts";
import { ProblemDetails } from "../schemas/problem.ts";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  499: "Client Closed Request",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export interface Problem {
  status: number;
  code: string;
  detail: string;
  [extra: string]: unknown;
}

export function sendProblem(reply: FastifyReply, problem: Problem) {
  const { status, code, detail, ...extra } = problem;
  return reply
    .code(status)
    .type("application/problem+json")
    .send({
      type: `https://counsel.dev/problems/${code}`,
      title: TITLES[status] ?? "Error",
      status,
      detail,
      code,
      instance: reply.request.url,
      ...extra,
    } satisfies ProblemDetails);
}

/** `request`, when given, lets a problem name what the request sent (its content type). */
export function toProblem(error: FastifyError | CounselError | Error, request?: FastifyRequest): Problem {
  if (error instanceof CounselError) {
    return { status: error.status, code: error.code, detail: error.message, ...error.extra };
  }
  const upstream = modelFailure(error);
  if (upstream) return { status: upstream.status, code: upstream.code, detail: upstream.message };
  // Redis is down, reconnecting or not answering: commands fail at once (no offline queue, the watchdog's
  // deadline), so say so instead of hanging.
  const store = storeUnavailable(error);
  if (store) return { status: store.status, code: store.code, detail: store.message };
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return {
      status: 400,
      code: "invalid_request",
      detail: fastifyError.message,
      errors: fastifyError.validation.map((v) => ({
        path: `${fastifyError.validationContext ?? ""}${v.instancePath}`,
        message: v.message,
        ...(v.params && "additionalProperty" in v.params ? { field: v.params.additionalProperty } : {}),
      })),
    };
  }
  if (fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return unsupportedContentType(request);
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    return { status, code: (fastifyError.code ?? "bad_request").toLowerCase(), detail: fastifyError.message };
  }
  if (status === 503) return { status, code: "unavailable", detail: fastifyError.message };
  return { status: 500, code: "internal", detail: "An unexpected error occurred; it has been logged." };
}

/** Fastify says only "Unsupported Media Type": name the content type that was sent, and the ones read. */
function unsupportedContentType(request: FastifyRequest | undefined): Problem {
  const sent = request?.headers["content-type"]?.slice(0, 100);
  const accepted = "send application/json (or multipart/form-data to POST /ingest)";
  return {
    status: 415,
    code: "unsupported_media_type",
    detail: sent
      ? `Content-Type "${sent}" is not accepted here: ${accepted}.`
      : `The request has a body but no Content-Type: ${accepted}.`,
  };
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.addSchema(ProblemDetails);
    app.setErrorHandler((error, request, reply) => {
      const problem = toProblem(error as Error, request);
      if (problem.status === 503) reply.header("retry-after", "2");
      const fields = { code: problem.code, status: problem.status };
      if (problem.status < 500) request.log.info(fields, problem.detail);
      // A CounselError's 5xx is a known state (busy, a dependency down), not a bug: a warning, without a stack.
      else if (error instanceof CounselError) request.log.warn(fields, problem.detail);
      else request.log.error({ err: error }, "request failed");
      return sendProblem(reply, problem);
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, {
        status: 404,
        code: "not_found",
        detail: `No route for ${request.method} ${request.url}`,
      }),
    );
  },
  { name: "errors" },
);
