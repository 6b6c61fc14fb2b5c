// An OpenAI-compatible server (the OpenAI API, Ollama, vLLM, LM Studio): the client options every call to it
// shares, and what its failures at start mean, so that a wrong OPENAI_BASE_URL, key or model name stops the start
// with a message naming the setting to fix, instead of failing the first question.
import { type ClientOptions, OpenAIClient } from "@langchain/openai";
import { SettingsError } from "../config/settings.ts";
import { withoutTroubleshooting } from "./errors.ts";

export interface OpenAIEndpoint {
  /** Up to and including /v1, e.g. http://localhost:11434/v1; unset: the OpenAI API. */
  baseURL?: string;
  /** Unset with a baseURL: a local server that takes no key. */
  apiKey?: string;
}

/**
 * Retries of 429, 408, 409 and 5xx (and of a refused connection) by the openai client itself, which waits as the
 * server's retry-after says, or backs off from half a second when it says nothing.
 */
export const OPENAI_MAX_RETRIES = 3;

// The openai client will not start without a key; a local server ignores the one it is sent.
const NO_KEY = "unused";

/** The openai client's options for an endpoint (LangChain's `configuration`). */
export function openAIClientOptions(endpoint: OpenAIEndpoint): ClientOptions {
  if (!endpoint.baseURL && !endpoint.apiKey)
    throw new SettingsError(["OPENAI_API_KEY: required by the OpenAI API (or set OPENAI_BASE_URL)"]);
  return { baseURL: endpoint.baseURL, apiKey: endpoint.apiKey ?? NO_KEY, maxRetries: OPENAI_MAX_RETRIES };
}

/** How messages name the server: the setting that points at it. */
export function describeEndpoint(endpoint: OpenAIEndpoint): string {
  return endpoint.baseURL ? `OPENAI_BASE_URL=${endpoint.baseURL}` : "the OpenAI API";
}

/**
 * Checks at start that the server answers and serves the chat model MODEL_ID names: GET /models, then the model
 * among them (Ollama serves a bare name such as llama3.2 as llama3.2:latest).
 * @throws SettingsError naming what to fix.
 */
export async function checkServedModel(endpoint: OpenAIEndpoint, model: string): Promise<void> {
  // One retry only: a server that is down at start should say so soon.
  const client = new OpenAIClient({ ...openAIClientOptions(endpoint), maxRetries: 1 });
  const served: string[] = [];
  try {
    for await (const entry of client.models.list()) served.push(entry.id);
  } catch (error) {
    throw new SettingsError([explainStartFailure(endpoint, error, "GET /models")], { cause: error });
  }
  if (served.includes(model) || served.includes(`${model}:latest`)) return;
  const listed = served.length > 0 ? served.slice(0, 20).join(", ") : "nothing";
  throw new SettingsError([
    `MODEL_ID=${model}: not served by ${describeEndpoint(endpoint)}, which serves ${listed}; ` +
      `with Ollama, pull it first: ollama pull ${model}`,
  ]);
}

/** An openai client error met at start, as a sentence that begins with the setting to fix. */
export function explainStartFailure(endpoint: OpenAIEndpoint, error: unknown, call: string): string {
  const where = describeEndpoint(endpoint);
  if (error instanceof OpenAIClient.APIConnectionError) {
    const reason = rootCause(error);
    return endpoint.baseURL
      ? `${where}: cannot be reached (${reason}); is the server running? (Ollama: ollama serve)`
      : `${where} cannot be reached (${reason})`;
  }
  if (!(error instanceof OpenAIClient.APIError)) return `${where}: ${call} failed (${String(error)})`;
  const said = withoutTroubleshooting(error);
  if (error.status === 401 || error.status === 403) return `OPENAI_API_KEY: refused by ${where} (${said})`;
  if (error.status === 404 && call === "GET /models")
    return (
      `${where}: ${call} answered ${said}; an OpenAI-compatible base URL ends in /v1, ` +
      "e.g. http://localhost:11434/v1 (Ollama)"
    );
  return `${where}: ${call} answered ${said}`;
}

/** The innermost cause: "connect ECONNREFUSED 127.0.0.1:11434" rather than "Connection error.". */
function rootCause(error: Error): string {
  let inner: Error = error;
  while (inner.cause instanceof Error) inner = inner.cause;
  return inner.message;
}
