// The Bedrock Agent Runtime client of the rerankers: kept-alive connections and adaptive retries, as the Bedrock
// Runtime client has (bedrock-client.ts); its region and endpoint come from the SDK's own settings (AWS_REGION,
// AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME), as every AWS client's do.
import { BedrockAgentRuntimeClient } from "@aws-sdk/client-bedrock-agent-runtime";
import { keptAliveHandler } from "./aws-http.ts";

/** A rerank call answers within seconds; one that hangs gives way to the retrieval order sooner. */
const REQUEST_TIMEOUT_MS = 10_000;

export function createBedrockAgentRuntimeClient(): BedrockAgentRuntimeClient {
  return new BedrockAgentRuntimeClient({
    retryMode: "adaptive",
    maxAttempts: 3,
    requestHandler: keptAliveHandler(64, REQUEST_TIMEOUT_MS),
  });
}
