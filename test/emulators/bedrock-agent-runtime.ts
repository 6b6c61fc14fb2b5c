// A local Amazon Bedrock Agent Runtime for Rerank, in the documented wire shape (restJson1: POST /rerank with
// `queries`, `sources`, `rerankingConfiguration`; the reply's `results` of `index` and `relevanceScore`, best
// first), so that the real AWS SDK runs unchanged against it; production code reaches it only through the SDK's
// endpoint setting (AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME). No public capture of a Rerank exchange exists to
// replay, so the request is checked against the API reference's constraints (one text query, 1-1000 inline
// sources, a foundation-model ARN of a reranking model, numberOfResults within the sources) and the scores are
// the test's stand-in for a model: the share of the query's words a source holds. It records every request and
// can answer with the service's errors (throttling, validation, 500s), one request each.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorReply, readJsonRequest, replyError, replyJson } from "./aws-json.ts";
import { HttpEmulator } from "./loopback.ts";

export interface RerankRequest {
  queries?: { type?: string; textQuery?: { text?: string } }[];
  sources?: { type?: string; inlineDocumentSource?: { type?: string; textDocument?: { text?: string } } }[];
  rerankingConfiguration?: {
    type?: string;
    bedrockRerankingConfiguration?: { numberOfResults?: number; modelConfiguration?: { modelArn?: string } };
  };
}

export interface AgentRuntimeFault {
  status: number;
  type: string;
  message: string;
}

export const THROTTLING: AgentRuntimeFault = {
  status: 429,
  type: "ThrottlingException",
  message: "Too many requests, please wait before trying again.",
};
export const INTERNAL_SERVER: AgentRuntimeFault = {
  status: 500,
  type: "InternalServerException",
  message: "Internal server error",
};

const RERANK_MODEL_ARN =
  /^arn:aws:bedrock:[a-z0-9-]+::foundation-model\/(?:amazon\.rerank-v1:0|cohere\.rerank-v3-5:0)$/;

export class BedrockAgentRuntimeEmulator extends HttpEmulator {
  readonly requests: RerankRequest[] = [];
  /** Errors to answer with, one request each, before answering normally again. */
  readonly faults: AgentRuntimeFault[] = [];

  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse) {
    const { body } = await readJsonRequest(req);
    try {
      if (req.method !== "POST" || req.url !== "/rerank")
        throw new ErrorReply(404, "UnknownOperationException", `no such operation: ${req.method} ${req.url}`);
      if (body === undefined) throw new ErrorReply(400, "SerializationException", "expected a JSON body");
      this.requests.push(body as RerankRequest);
      const fault = this.faults.shift();
      if (fault) throw new ErrorReply(fault.status, fault.type, fault.message);
      replyJson(res, 200, { results: rerank(body as RerankRequest) }, "application/json");
    } catch (caught) {
      // REST JSON: the type in x-amzn-errortype alone.
      replyError(
        res,
        caught,
        "InternalServerException",
        (error) => ({ message: error.message }),
        "application/json",
      );
    }
  }
}

function rerank(body: RerankRequest): { index: number; relevanceScore: number }[] {
  const invalid = (message: string) => new ErrorReply(400, "ValidationException", message);
  const [query, ...more] = body.queries ?? [];
  if (!query || more.length > 0 || query.type !== "TEXT" || typeof query.textQuery?.text !== "string")
    throw invalid("queries must hold exactly one query of type TEXT with textQuery.text");
  const sources = body.sources ?? [];
  if (sources.length < 1 || sources.length > 1000) throw invalid("sources must hold 1 to 1000 sources");
  const texts = sources.map((source, i) => {
    const text = source.inlineDocumentSource?.textDocument?.text;
    if (source.type !== "INLINE" || source.inlineDocumentSource?.type !== "TEXT" || typeof text !== "string")
      throw invalid(`sources.${i} must be an INLINE source of type TEXT with textDocument.text`);
    return text;
  });
  const config = body.rerankingConfiguration;
  const arn = config?.bedrockRerankingConfiguration?.modelConfiguration?.modelArn ?? "";
  if (config?.type !== "BEDROCK_RERANKING_MODEL")
    throw invalid("rerankingConfiguration.type must be BEDROCK_RERANKING_MODEL");
  if (!RERANK_MODEL_ARN.test(arn)) throw invalid(`The provided model ARN is not a reranking model: ${arn}`);
  const wanted = config.bedrockRerankingConfiguration?.numberOfResults ?? sources.length;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > sources.length)
    throw invalid("numberOfResults must be between 1 and the number of sources");
  const words = (text: string) => new Set(text.toLowerCase().match(/\p{L}+/gu) ?? []);
  const asked = [...words(query.textQuery.text)];
  return texts
    .map((text, index) => {
      const has = words(text);
      return {
        index,
        relevanceScore: asked.length ? asked.filter((w) => has.has(w)).length / asked.length : 0,
      };
    })
    .sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index)
    .slice(0, wanted);
}
