// Counsel as an MCP server: one McpServer with Counsel's tools and its documents as resources, built per caller
// (its tenant, scopes and signal). The HTTP route builds one per request (stateless), `counsel mcp` one for its
// stdio session.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { registerDocumentResources } from "./resources/documents.ts";
import type { McpCaller, McpServices, McpTool } from "./tool.ts";
import { ask } from "./tools/ask.ts";
import { getDocument } from "./tools/get-document.ts";
import { listDocuments } from "./tools/list-documents.ts";
import { searchKnowledgeBase } from "./tools/search-knowledge-base.ts";
import { writeReport } from "./tools/write-report.ts";

/** Every tool, in the order clients list them; a new tool is a module in tools/ and a line here. */
export const MCP_TOOLS: McpTool[] = [searchKnowledgeBase, ask, writeReport, listDocuments, getDocument];

const INSTRUCTIONS =
  "Counsel answers from an organisation's documents. Use search_knowledge_base to find passages, ask for a " +
  "cited answer to a question, and write_report for a structured report on a topic. list_documents shows " +
  "which documents the knowledge base holds and get_document reads one whole; each document is also a " +
  "resource, counsel://documents/{source}.";

/**
 * The MCP server for one caller.
 *
 * @example
 * const server = createMcpServer(app.services, { tenant, scopes: new Set(["query"]), signal });
 * await server.connect(transport);
 */
export function createMcpServer(services: McpServices, caller: McpCaller): McpServer {
  const server = new McpServer(
    { name: "counsel", version: "0.1.0" },
    { capabilities: { tools: {}, resources: {} }, instructions: INSTRUCTIONS },
  );
  for (const tool of MCP_TOOLS) tool.register(server, services, caller);
  registerDocumentResources(server, caller);
  return server;
}
