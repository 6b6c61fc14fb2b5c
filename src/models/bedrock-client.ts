// The Bedrock Runtime client every Bedrock model of Counsel uses: HTTP/1.1 with kept-alive connections.
// The SDK's default handler for Bedrock Runtime is its HTTP/2 one, which gives every event stream (each
// ConverseStream, so every advisor model call) a connection of its own: against AWS a new TLS handshake, one or
// two round trips before the first token, and its CPU. Bedrock Runtime serves Converse, ConverseStream and
// InvokeModel over HTTP/1.1 as well; a kept-alive connection is reused by the next call. Measured against the
// Bedrock emulator (plain TCP, so without the TLS that AWS adds): 5.7 -> 4.8 ms CPU per streamed call.
// (InvokeModelWithBidirectionalStream needs HTTP/2; Counsel does not use it.)
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { keptAliveHandler } from "./aws-http.ts";

/**
 * Connections per host: a model stream holds one for its whole reply, so this bounds concurrent calls before
 * they queue. Above the service's concurrent streams (MAX_STREAMS, …) and embedding concurrency.
 */
const MAX_SOCKETS = 256;

export function createBedrockRuntimeClient(): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    retryMode: "adaptive",
    maxAttempts: 5,
    requestHandler: keptAliveHandler(MAX_SOCKETS),
  });
}
