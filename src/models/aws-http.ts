// The HTTP handler of Counsel's Bedrock clients: HTTP/1.1 with kept-alive connections, so that the next call
// reuses a connection (and, against AWS, its TLS session) instead of opening one; see bedrock-client.ts.
import http from "node:http";
import https from "node:https";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** `maxSockets`: connections per host; calls beyond it queue. */
export function keptAliveHandler(maxSockets: number, requestTimeout?: number): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: 5_000,
    ...(requestTimeout ? { requestTimeout } : {}),
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
  });
}
