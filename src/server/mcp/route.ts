// POST /mcp: Counsel's tools over MCP's Streamable HTTP transport, stateless: each request gets a fresh server
// and transport for its caller (the key's tenant and scopes), so that any process behind a load balancer can
// answer any request. GET and DELETE (a server-to-client stream, ending a session) have no meaning without
// sessions: 405. Failures before the transport (no key, rate limit, malformed JSON) are JSON-RPC error bodies
// with the HTTP status, as the SDK's transport answers its own. The MCP SDK is imported by the first MCP call, so
// that a service no MCP client uses never loads it.
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { CounselError } from "../../errors.ts";
import { clientAbortSignal } from "../abort.ts";
import { requestOrigin } from "../origin.ts";
import { toProblem } from "../plugins/errors.ts";
import { OpenStreams } from "../plugins/open-streams.ts";

// JSON-RPC 2.0's code for a body that does not parse, and the SDK's for every other transport-level refusal.
const PARSE_ERROR = -32700;
const SERVER_ERROR = -32000;

function sendRpcError(reply: FastifyReply, status: number, code: number, message: string, data?: unknown) {
  return reply
    .code(status)
    .type("application/json")
    .send({ jsonrpc: "2.0", error: { code, message, ...(data ? { data } : {}) }, id: null });
}

let loading: Promise<McpModules> | undefined;
type McpModules = typeof import("@modelcontextprotocol/sdk/server/streamableHttp.js") &
  typeof import("./server.ts");

/** The SDK's transport and our server over it, imported once by the first call. */
function mcp(): Promise<McpModules> {
  loading ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
    import("./server.ts"),
  ]).then(([transport, server]) => ({ ...transport, ...server }));
  return loading;
}

export const mcpRoutes: FastifyPluginAsync = async (app) => {
  // Encapsulated: this handler serves only the routes below, in place of the problem+json one.
  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error as Error, request);
    const fields = { code: problem.code, status: problem.status };
    if (problem.status < 500) request.log.info(fields, problem.detail);
    else if (error instanceof CounselError) request.log.warn(fields, problem.detail);
    else request.log.error({ err: error }, "mcp request failed");
    if (problem.status === 503) reply.header("retry-after", "2");
    // The route reads no body schema: a 400 here is a body that is not JSON (or not UTF-8, or empty).
    const code = problem.status === 400 ? PARSE_ERROR : SERVER_ERROR;
    return sendRpcError(reply, problem.status, code, problem.detail, {
      status: problem.status,
      code: problem.code,
    });
  });

  // The calls running now: a shutdown ends each (its tool aborted, the client told to call again) rather than
  // waiting for a long write_report. Its own registry: the advisor's streams gauge counts the advisor's alone.
  const running = new OpenStreams();
  app.addHook("preClose", async () => running.shutDown());

  const config = { scopes: ["query" as const, "chat" as const] };
  const schema = { tags: ["mcp"] };

  app.post(
    "/mcp",
    {
      config: { ...config, fairTurn: true },
      schema: {
        ...schema,
        summary: "Model Context Protocol (Streamable HTTP, stateless): JSON-RPC requests in, results out",
        description:
          "Tools: search_knowledge_base, ask, list_documents, get_document (need the query scope), write_report " +
          "(needs chat); each document as a resource, counsel://documents/{source} (query). See docs/mcp.md.",
      },
    },
    async (request, reply) => {
      const { StreamableHTTPServerTransport, createMcpServer } = await mcp();
      const principal = request.principal as NonNullable<typeof request.principal>;
      const call = running.open();
      const server = createMcpServer(app.services, {
        tenant: request.tenant,
        scopes: principal.scopes,
        signal: AbortSignal.any([clientAbortSignal(reply), call.signal]),
        baseUrl: requestOrigin(request),
        log: request.log,
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      // The connection's end (the reply sent, or the client gone) ends the server: a tool still running for a
      // client that left is aborted through its signal.
      reply.raw.once("close", () => {
        call.close();
        void server.close();
      });
      await server.connect(transport);
      // From here the transport writes the reply; Fastify's own reply is left alone.
      reply.hijack();
      try {
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (error) {
        request.log.error({ err: error }, "mcp transport failed");
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { "content-type": "application/json" });
          reply.raw.end(
            JSON.stringify({ jsonrpc: "2.0", error: { code: -32603, message: "Internal error" }, id: null }),
          );
        }
      }
    },
  );

  const notAllowed = async (_request: unknown, reply: FastifyReply) => {
    reply.header("allow", "POST");
    return sendRpcError(
      reply,
      405,
      SERVER_ERROR,
      "Method not allowed: this MCP server is stateless; POST only.",
    );
  };
  app.get(
    "/mcp",
    { config, schema: { ...schema, summary: "405: no server-to-client stream (stateless)" } },
    notAllowed,
  );
  app.delete(
    "/mcp",
    { config, schema: { ...schema, summary: "405: no sessions to end (stateless)" } },
    notAllowed,
  );
};
