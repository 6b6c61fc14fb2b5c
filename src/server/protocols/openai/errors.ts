// Errors in OpenAI's shape, {error: {message, type, param, code}}, with the HTTP status Counsel's problem
// would have: the shape OpenAI's clients parse into their error classes (APIError.status, .code, .param).
import type { FastifyReply, FastifyRequest } from "fastify";
import { CounselError } from "../../../errors.ts";
import { type Problem, toProblem } from "../../plugins/errors.ts";

export interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string };
}

const TYPES: Record<number, string> = {
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
};

export function openAIError(problem: Problem): OpenAIError {
  const errors = problem.errors as { path?: string }[] | undefined;
  const param = typeof problem.param === "string" ? problem.param : (errors?.[0]?.path ?? null);
  return {
    error: {
      message: problem.detail,
      type: TYPES[problem.status] ?? (problem.status < 500 ? "invalid_request_error" : "server_error"),
      // "/body/messages/0/role" → "messages.0.role", as OpenAI names a parameter.
      param: param ? param.replace(/^\/?body\/?/, "").replaceAll("/", ".") || null : null,
      code: problem.code,
    },
  };
}

/** The error handler of the OpenAI-compatible routes (an encapsulated plugin's, in place of problem+json). */
export function sendOpenAIError(error: Error, request: FastifyRequest, reply: FastifyReply) {
  const problem = toProblem(error, request);
  const fields = { code: problem.code, status: problem.status };
  if (problem.status < 500) request.log.info(fields, problem.detail);
  else if (error instanceof CounselError) request.log.warn(fields, problem.detail);
  else request.log.error({ err: error }, "openai-compatible request failed");
  if (problem.status === 503) reply.header("retry-after", "2");
  return reply.code(problem.status).type("application/json").send(openAIError(problem));
}
