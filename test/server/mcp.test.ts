// Counsel as an MCP server over Streamable HTTP, driven by the SDK's own client against a listening service with
// the memo and the handbook ingested: the tools and their schemas, each tool's result, the documents as
// resources, bad arguments and bad bodies as the client sees them, a client that leaves mid-call, and (with
// keys) scopes, tenants, paging a larger catalog, 401 and 429.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BaseMessage } from "@langchain/core/messages";
import { AIMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { FakeBuiltModel } from "@langchain/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { advisorsFromConfig } from "../../src/agent/from-config.ts";
import type { ChainConfig } from "../../src/chains/config.ts";
import type { DocumentDetail, DocumentList } from "../../src/contracts/documents.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { type AppOptions, appOptions, buildApp } from "../../src/server/app.ts";
import { documentUri, RESOURCES_PAGE_SIZE } from "../../src/server/mcp/resources/documents.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { fixtureText } from "../helpers/corpus.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { MEMO_REPORT } from "../helpers/memo-report.ts";
import { FIXTURES, quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";

/**
 * LangChain's scripted fake chat model, which can also be told to hang on its next call until that call is
 * aborted, as a slow model service would; it records the abort.
 */
class ScriptedModel extends FakeBuiltModel {
  hangNext = false;
  /** The reasons of the aborted calls. */
  readonly aborted: unknown[] = [];
  // Declared before `hanging`, whose initializer sets it: fields are initialized in order.
  private startedHanging: () => void = () => {};
  /** Resolves when a hanging call starts. */
  hanging = new Promise<void>((resolve) => {
    this.startedHanging = resolve;
  });

  override async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    if (!this.hangNext) return super._generate(messages, options);
    this.hangNext = false;
    const signal = options.signal;
    if (!signal) throw new Error("the model call has no signal: it could never be stopped");
    this.startedHanging();
    return new Promise<ChatResult>((_resolve, reject) => {
      signal.addEventListener("abort", () => {
        this.aborted.push(signal.reason);
        reject(signal.reason);
      });
    });
  }
}

/** The service's advisor chains as it builds them (advisorsFromConfig), over the scripted model. */
async function scriptedAdvisors(services: Services, model: ScriptedModel) {
  const config = services.chains.configs.get("advisor") as ChainConfig;
  return advisorsFromConfig([{ ...config, model: { ...config.model, provider: "bedrock", id: "fake" } }], {
    promptsDir: path.join(ROOT, "prompts"),
    chatModelFor: async () => model,
    turns: new TurnQueue(),
  });
}

async function ingestFixtures(services: Services, tenantId: string) {
  const tenant = await services.tenant(tenantId);
  await tenant.pipeline.ingest([
    { name: "fake-memo.pdf", source: "memo", data: await readFile(path.join(FIXTURES, "fake-memo.pdf")) },
    {
      name: "handbook-1p.docx",
      source: "handbook",
      data: await readFile(path.join(FIXTURES, "handbook-1p.docx")),
    },
  ]);
}

/** A service listening on a loopback port, with the fixtures ingested into `tenant`. */
async function startMcpService(
  env: Record<string, string>,
  options: { tenant: string; model?: ScriptedModel; app?: Partial<AppOptions> },
) {
  const data = await tempDataDir();
  const settings = testSettings(data.dir, env);
  const services = await createServices(settings, quiet);
  await ingestFixtures(services, options.tenant);
  const advisors = options.model ? await scriptedAdvisors(services, options.model) : undefined;
  const app = await buildApp(
    advisors ? { ...services, advisor: (name) => advisors.get(name) as never } : services,
    { ...appOptions(settings, services), ...options.app },
  );
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    url,
    services,
    async stop() {
      await app.close();
      await services.close();
      await data.remove();
    },
  };
}

async function connect(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: "counsel-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

/** A JSON-RPC request as an MCP client POSTs it. */
function post(url: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body,
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } },
});

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

/** A tool's structured result, after checking that the call succeeded. */
async function callOk<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, text(result)).toBeFalsy();
  return result.structuredContent as T;
}

/** The JSON-RPC error a request was answered with (the SDK's client throws it as an McpError). */
async function rpcError(request: Promise<unknown>): Promise<McpError> {
  const error = await request.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(McpError);
  return error as McpError;
}

describe("MCP over Streamable HTTP", () => {
  const model = new ScriptedModel()
    .respond(new AIMessage(MEMO_REPORT))
    .structuredResponse({ queries: ["laptops delivered January", "blankets and water"] }) as ScriptedModel;
  let service: Awaited<ReturnType<typeof startMcpService>>;
  let client: Client;

  beforeAll(async () => {
    service = await startMcpService({}, { tenant: "default", model });
    ({ client } = await connect(service.url));
  });
  afterAll(async () => {
    await client?.close();
    await service?.stop();
  });

  it("lists its tools with their input and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      "search_knowledge_base",
      "ask",
      "write_report",
      "list_documents",
      "get_document",
    ]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.search_knowledge_base.inputSchema).toMatchObject({
      type: "object",
      required: ["query"],
      properties: {
        query: { type: "string" },
        k: { type: "integer", maximum: 50 },
        filter: { type: "object" },
      },
    });
    expect(byName.search_knowledge_base.outputSchema?.properties?.chunks).toMatchObject({ type: "array" });
    expect(byName.ask.inputSchema.required).toEqual(["question"]);
    expect(Object.keys(byName.ask.outputSchema?.properties ?? {})).toEqual(
      expect.arrayContaining(["answer", "citations", "sources", "runId"]),
    );
    expect(byName.write_report.inputSchema).toMatchObject({
      required: ["topic"],
      properties: { length: { enum: ["short", "medium", "long"] } },
    });
    expect(Object.keys(byName.write_report.outputSchema?.properties ?? {})).toEqual(
      expect.arrayContaining(["url", "markdown", "title", "sources"]),
    );
    expect(byName.search_knowledge_base.annotations?.readOnlyHint).toBe(true);
    expect(byName.list_documents.inputSchema).toMatchObject({
      type: "object",
      properties: {
        prefix: { type: "string" },
        limit: { type: "integer", minimum: 1, maximum: 500 },
        cursor: { type: "string" },
      },
    });
    expect(byName.list_documents.inputSchema.required ?? []).toEqual([]);
    expect(byName.list_documents.outputSchema).toMatchObject({
      required: ["documents"],
      properties: {
        documents: {
          type: "array",
          items: {
            required: ["source", "chunks", "updatedAt", "status"],
            properties: { pages: { type: "integer" }, status: { enum: expect.arrayContaining(["failed"]) } },
          },
        },
        nextCursor: { type: "string" },
      },
    });
    expect(byName.get_document.inputSchema).toMatchObject({
      required: ["source"],
      properties: { source: { type: "string", minLength: 1 } },
    });
    expect(byName.get_document.outputSchema).toMatchObject({
      required: ["document", "chunks"],
      properties: { chunks: { items: { required: ["id", "index", "text", "metadata"] } } },
    });
    expect(byName.get_document.annotations?.readOnlyHint).toBe(true);
  });

  it("searches the knowledge base: chunks with source, page, score and snippet", async () => {
    const result = (await client.callTool({
      name: "search_knowledge_base",
      arguments: { query: "laptops delivered", k: 2 },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const { chunks } = result.structuredContent as {
      chunks: { n: number; source: string; page?: number; score: number; snippet: string }[];
    };
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.length).toBeLessThanOrEqual(2);
    expect(chunks[0]).toMatchObject({ n: 1, source: "memo", page: 1 });
    expect(chunks[0].snippet).toContain("200 laptops");
    expect(typeof chunks[0].score).toBe("number");
    // Older clients read the same result as text.
    expect(JSON.parse(text(result))).toEqual(result.structuredContent);
  });

  it("searches only what a metadata filter names", async () => {
    const result = (await client.callTool({
      name: "search_knowledge_base",
      arguments: { query: "laptops delivered", filter: { source: "handbook" } },
    })) as CallToolResult;
    const { chunks } = result.structuredContent as { chunks: { source: string }[] };
    expect(chunks.every((c) => c.source === "handbook")).toBe(true);
  });

  it("answers a question with citations and a run that feedback can score", async () => {
    const result = (await client.callTool({
      name: "ask",
      arguments: { question: "How many laptops were delivered?" },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const answer = result.structuredContent as {
      answer: string;
      citations: number[];
      sources: { n: number; source: string; cited: boolean; quote?: { text: string } }[];
      verification: { verified: number };
      runId: string;
      chain: string;
    };
    expect(answer.answer).toContain("200 laptops");
    expect(answer.citations).toContain(1);
    expect(answer.sources[0]).toMatchObject({ n: 1, source: "memo", cited: true });
    expect(answer.sources[0].quote?.text).toContain("200 laptops");
    expect(answer.verification.verified).toBeGreaterThan(0);
    expect(answer.chain).toBe("qa");
    const feedback = await fetch(`${service.url}/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ runId: answer.runId, score: 1 }),
    });
    expect(feedback.status).toBe(200);
  });

  it.each([
    [{ question: "How many laptops?", chain: "nope" }, /No chain named "nope"/],
    [{ question: "How many laptops?", variant: "nope" }, /has no variant "nope"/],
  ])("says what is wrong with a chain or variant that does not exist (%j)", async (args, message) => {
    const result = (await client.callTool({ name: "ask", arguments: args })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it("lists the documents by source, with what ingestion knew of each", async () => {
    const { documents, nextCursor } = await callOk<DocumentList>(client, "list_documents", {});
    expect(documents.map((d) => d.source)).toEqual(["handbook", "memo"]);
    expect(nextCursor).toBeUndefined();
    expect(documents[1]).toEqual({
      source: "memo",
      status: "indexed",
      chunks: expect.any(Number),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      name: "fake-memo.pdf",
      type: "pdf",
      pages: 1,
      bytes: (await readFile(path.join(FIXTURES, "fake-memo.pdf"))).length,
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
      recipe: "default",
    });
    expect(documents[0]).toMatchObject({ name: "handbook-1p.docx", type: "docx" });
    // The same catalog as GET /documents.
    expect(await (await fetch(`${service.url}/documents`)).json()).toEqual({ documents });
  });

  it("pages the documents with limit and cursor, and narrows them by prefix", async () => {
    const first = await callOk<DocumentList>(client, "list_documents", { limit: 1 });
    expect(first.documents.map((d) => d.source)).toEqual(["handbook"]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await callOk<DocumentList>(client, "list_documents", {
      limit: 1,
      cursor: first.nextCursor,
    });
    expect(second.documents.map((d) => d.source)).toEqual(["memo"]);
    expect(second.nextCursor).toBeUndefined();
    const memo = await callOk<DocumentList>(client, "list_documents", { prefix: "me" });
    expect(memo.documents.map((d) => d.source)).toEqual(["memo"]);
    const none = await callOk<DocumentList>(client, "list_documents", { prefix: "s3://" });
    expect(none).toEqual({ documents: [] });
  });

  it("reads a document with its chunks in order, as GET /documents/:source gives it", async () => {
    const detail = await callOk<DocumentDetail>(client, "get_document", { source: "handbook" });
    expect(detail.document).toMatchObject({ source: "handbook", chunks: detail.chunks.length });
    expect(detail.chunks.length).toBeGreaterThan(1);
    expect(detail.chunks.map((c) => c.index)).toEqual(detail.chunks.map((_, i) => i));
    expect(detail.chunks[0].text).toContain("CHAPTER 1");
    expect(await (await fetch(`${service.url}/documents/handbook`)).json()).toEqual(detail);
    const memo = await callOk<DocumentDetail>(client, "get_document", { source: "memo" });
    expect(memo.chunks[0]).toMatchObject({ index: 0, page: 1, text: expect.stringContaining("200 laptops") });
  });

  it.each([
    ["a source it does not hold", { source: "nope" }, /No document "nope" in this knowledge base/],
    ["a cursor it never gave", { cursor: "not-a-cursor" }, /cursor is not one this API returned/],
  ])("says so for %s, as a tool error", async (_case, args, message) => {
    const name = "source" in args ? "get_document" : "list_documents";
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it("lists the documents as resources, with a template for reading any of them", async () => {
    const { resources, nextCursor } = await client.listResources();
    expect(nextCursor).toBeUndefined();
    expect(resources).toEqual([
      {
        uri: "counsel://documents/handbook",
        name: "handbook",
        title: "handbook-1p.docx",
        description: expect.stringMatching(/^docx, \d+ chunks$/),
        mimeType: "text/plain",
        annotations: { lastModified: expect.stringMatching(/^\d{4}-/) },
      },
      expect.objectContaining({
        uri: "counsel://documents/memo",
        name: "memo",
        title: "fake-memo.pdf",
        description: "pdf, 1 page, 1 chunk",
      }),
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toEqual([
      expect.objectContaining({ name: "document", uriTemplate: "counsel://documents/{source}" }),
    ]);
  });

  it("reads a document resource: its chunks' text, joined in order", async () => {
    const { contents } = await client.readResource({ uri: "counsel://documents/handbook" });
    const detail = await callOk<DocumentDetail>(client, "get_document", { source: "handbook" });
    expect(contents).toEqual([
      {
        uri: "counsel://documents/handbook",
        mimeType: "text/plain",
        text: detail.chunks.map((c) => c.text).join("\n\n"),
      },
    ]);
  });

  it.each([
    ["a document it does not hold", "counsel://documents/nope", /No document "nope" in this knowledge base/],
    ["a source that is not URL-encoded", "counsel://documents/%E0%A4%A", /not URL-encoded/],
    ["a URI outside the template", "counsel://documents/memo/chunks", /not found/],
    ["a source too long to be one", `counsel://documents/${"a".repeat(8193)}`, /at most 8192 characters/],
  ])("answers a read of %s with an Invalid params error", async (_case, uri, message) => {
    const error = await rpcError(client.readResource({ uri }));
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toMatch(message);
  });

  it("answers a resource list with a cursor it never gave with an Invalid params error", async () => {
    const error = await rpcError(client.listResources({ cursor: "not-a-cursor" }));
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toMatch(/cursor is not one this API returned/);
    expect(error.data).toEqual({ status: 400, code: "bad_request" });
  });

  it("writes a report with the advisor's model and serves it at the returned link", async () => {
    const result = (await client.callTool({
      name: "write_report",
      arguments: { topic: "the January relief shipment", audience: "the board" },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const report = result.structuredContent as {
      url: string;
      markdown: string;
      title: string;
      sources: unknown[];
    };
    expect(report.title).toBe("Relief shipment of January 2023");
    expect(report.url).toMatch(new RegExp(`^${service.url}/reports/[0-9a-f-]{36}$`));
    for (const section of ["## Executive summary", "## Findings", "## Recommendations", "## Sources"])
      expect(report.markdown).toContain(section);
    expect(report.sources).toEqual([expect.objectContaining({ n: 1, source: "memo", page: 1 })]);
    const served = await fetch(report.url);
    expect(await served.text()).toBe(report.markdown);
  });

  it.each([
    ["a wrong type", "ask", { question: 42 }, /Input validation error.*question/],
    ["a missing argument", "search_knowledge_base", { k: 3 }, /Input validation error.*query/],
    ["a k out of range", "search_knowledge_base", { query: "laptops", k: 500 }, /Input validation error.*k/],
    ["an unknown length", "write_report", { topic: "x", length: "epic" }, /Input validation error.*length/],
    ["a limit out of range", "list_documents", { limit: 0 }, /Input validation error.*limit/],
    ["an empty source", "get_document", { source: "" }, /Input validation error.*source/],
    ["an unknown tool", "delete_everything", {}, /Tool delete_everything not found/],
  ])("refuses %s as a tool error the client can show", async (_case, name, args, message) => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it.each([
    ["a body that is not JSON", "{not json", -32700],
    ["JSON that is not JSON-RPC", '{"hello": "world"}', -32700],
    ["an empty body", "", -32700],
  ])("answers %s with a JSON-RPC error and 400", async (_case, body, code) => {
    const res = await post(service.url, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code } });
  });

  it("answers a body past the size limit with a JSON-RPC error and 413", async () => {
    const res = await post(
      service.url,
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x", pad: "a".repeat(2 ** 21) }),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
  });

  it("answers a client that does not accept event streams with a JSON-RPC error and 406", async () => {
    const res = await post(service.url, INITIALIZE, { accept: "application/json" });
    expect(res.status).toBe(406);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
  });

  it("answers a body that is not JSON by its type with a JSON-RPC error and 415", async () => {
    const res = await post(service.url, INITIALIZE, { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
  });

  it.each(["GET", "DELETE"])("answers %s with 405: it keeps no sessions", async (method) => {
    const res = await fetch(`${service.url}/mcp`, { method, headers: { accept: "text/event-stream" } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
  });

  it("stops a tool whose client left mid-call, and serves on", async () => {
    model.hangNext = true;
    model.respond(new AIMessage("unused: the call hangs"));
    const leaving = await connect(service.url);
    const call = leaving.client
      .callTool({ name: "write_report", arguments: { topic: "the January relief shipment" } })
      .catch((error: unknown) => error);
    await model.hanging;
    await leaving.transport.close(); // the connection of the call closes with it
    await call;
    await expect.poll(() => model.aborted.length).toBe(1);
    expect(model.aborted[0]).toMatchObject({ code: "client_closed" });

    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    const again = (await client.callTool({
      name: "search_knowledge_base",
      arguments: { query: "laptops" },
    })) as CallToolResult;
    expect(again.isError).toBeFalsy();
  });
});

describe("MCP with API keys", () => {
  let service: Awaited<ReturnType<typeof startMcpService>>;
  let keys: Record<
    "full" | "reader" | "other" | "ingester" | "burst" | "writer" | "rival" | "archivist",
    string
  >;
  const PER_MINUTE = 12;
  // More documents than one page of resources/list: one per line of the Bitcoin whitepaper's text, under web
  // addresses (with `:`, `/` and `#` for the URI to encode), in a tenant of their own.
  const LINES = fixtureText("bitcoin.txt")
    .split("\n")
    .filter((line) => line.trim().length > 20)
    .slice(0, RESOURCES_PAGE_SIZE + 20);
  const lineSource = (i: number) => `https://bitcoin.org/bitcoin.pdf#line=${String(i).padStart(3, "0")}`;

  beforeAll(async () => {
    const dir = await tempDataDir();
    ({ keys } = await writeKeys(dir.dir, {
      full: { tenant: "acme", scopes: ["query", "chat"] },
      reader: { tenant: "acme", scopes: ["query"] },
      other: { tenant: "globex", scopes: ["query", "chat"] },
      ingester: { tenant: "acme", scopes: ["ingest"] },
      burst: { tenant: "acme", scopes: ["query"] },
      writer: { tenant: "acme", scopes: ["chat"] },
      rival: { tenant: "globex", scopes: ["query"] },
      archivist: { tenant: "initech", scopes: ["query"] },
    }));
    service = await startMcpService(
      { API_KEYS_FILE: path.join(dir.dir, "api-keys.json"), RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) },
      { tenant: "acme" },
    );
    const initech = await service.services.tenant("initech");
    await initech.pipeline.ingestTexts(
      LINES.map((line, i) => ({ text: line, metadata: { doc_id: lineSource(i), name: `line ${i}` } })),
    );
    const stop = service.stop;
    service.stop = async () => {
      await stop();
      await dir.remove();
    };
  });
  afterAll(async () => service?.stop());

  it("refuses a request without a key with 401, as a JSON-RPC error", async () => {
    const res = await post(service.url, INITIALIZE);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: /API key/ } });
    await expect(connect(service.url)).rejects.toThrow(/401|API key/);
  });

  it("refuses a key with no scope any tool needs with 403", async () => {
    const res = await post(service.url, INITIALIZE, bearer(keys.ingester));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { message: /needs the scope query or chat/ } });
  });

  it("lets a key call the tools its scopes allow, and says which scope another one needs", async () => {
    const { client } = await connect(service.url, bearer(keys.reader));
    try {
      const search = (await client.callTool({
        name: "search_knowledge_base",
        arguments: { query: "laptops" },
      })) as CallToolResult;
      expect(search.isError).toBeFalsy();
      const report = (await client.callTool({
        name: "write_report",
        arguments: { topic: "laptops" },
      })) as CallToolResult;
      expect(report.isError).toBe(true);
      expect(text(report)).toMatch(/may not call write_report: it needs the scope chat, and has query/);
    } finally {
      await client.close();
    }
  });

  it("reaches only the key's tenant's knowledge base", async () => {
    const search = async (key: string) => {
      const { client } = await connect(service.url, bearer(key));
      try {
        const result = (await client.callTool({
          name: "search_knowledge_base",
          arguments: { query: "laptops delivered" },
        })) as CallToolResult;
        return (result.structuredContent as { chunks: unknown[] }).chunks;
      } finally {
        await client.close();
      }
    };
    expect((await search(keys.full)).length).toBeGreaterThan(0);
    expect(await search(keys.other)).toEqual([]);
  });

  it("lists and reads documents only with the query scope: a tool error, and JSON-RPC errors for resources", async () => {
    const { client } = await connect(service.url, bearer(keys.writer));
    try {
      const result = (await client.callTool({ name: "list_documents", arguments: {} })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/may not call list_documents: it needs the scope query, and has chat/);
      for (const request of [
        client.listResources(),
        client.readResource({ uri: "counsel://documents/memo" }),
      ]) {
        const error = await rpcError(request);
        expect(error.code).toBe(ErrorCode.InvalidRequest);
        expect(error.message).toMatch(/may not read documents: it needs the scope query, and has chat/);
        expect(error.data).toEqual({ status: 403, code: "forbidden" });
      }
      // The key still reaches what it may: the server answers on after refusing.
      const report = (await client.callTool({
        name: "write_report",
        arguments: { topic: "laptops" },
      })) as CallToolResult;
      expect(text(report)).toMatch(/needs a generative chat model/);
    } finally {
      await client.close();
    }
  });

  it("shows only the key's tenant's documents: another tenant's is not found", async () => {
    const acme = await connect(service.url, bearer(keys.reader));
    try {
      const { documents } = await callOk<DocumentList>(acme.client, "list_documents", {});
      expect(documents.map((d) => d.source)).toEqual(["handbook", "memo"]);
    } finally {
      await acme.client.close();
    }
    const { client } = await connect(service.url, bearer(keys.rival));
    try {
      expect(await callOk<DocumentList>(client, "list_documents", {})).toEqual({ documents: [] });
      const result = (await client.callTool({
        name: "get_document",
        arguments: { source: "memo" },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/No document "memo" in this knowledge base/);
      expect(await client.listResources()).toEqual({ resources: [] });
      const error = await rpcError(client.readResource({ uri: "counsel://documents/memo" }));
      expect(error.code).toBe(ErrorCode.InvalidParams);
      expect(error.data).toEqual({ status: 404, code: "not_found" });
    } finally {
      await client.close();
    }
  });

  it("pages resources/list through a catalog larger than a page with MCP's cursor", async () => {
    const { client } = await connect(service.url, bearer(keys.archivist));
    try {
      const first = await client.listResources();
      expect(first.resources).toHaveLength(RESOURCES_PAGE_SIZE);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await client.listResources({ cursor: first.nextCursor });
      expect(second.nextCursor).toBeUndefined();
      const all = [...first.resources, ...second.resources];
      expect(all.map((r) => r.name)).toEqual(LINES.map((_, i) => lineSource(i)));
      expect(all[7]).toMatchObject({
        uri: documentUri(lineSource(7)),
        title: "line 7",
        mimeType: "text/plain",
      });
      expect(all[7].uri).toBe("counsel://documents/https%3A%2F%2Fbitcoin.org%2Fbitcoin.pdf%23line%3D007");
      // A listed URI reads back that document.
      const { contents } = await client.readResource({ uri: all[107].uri });
      expect(contents).toEqual([{ uri: all[107].uri, mimeType: "text/plain", text: LINES[107].trim() }]);
      // The tool pages the same catalog.
      const page = await callOk<DocumentList>(client, "list_documents", {
        limit: 100,
        cursor: first.nextCursor,
      });
      expect(page.documents.map((d) => d.source)).toEqual(second.resources.map((r) => r.name));
    } finally {
      await client.close();
    }
  });

  it("says that write_report needs a model when the advisor chain has the offline one", async () => {
    const { client } = await connect(service.url, bearer(keys.full));
    try {
      const result = (await client.callTool({
        name: "write_report",
        arguments: { topic: "laptops" },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/write_report needs a generative chat model.*MODEL_PROVIDER=bedrock/);
    } finally {
      await client.close();
    }
  });

  it("limits a key's requests per minute with 429, as a JSON-RPC error", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE; i++)
      statuses.push((await post(service.url, INITIALIZE, bearer(keys.burst))).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const limited = await post(service.url, INITIALIZE, bearer(keys.burst));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await limited.json()).toMatchObject({ jsonrpc: "2.0", error: { message: /Too many requests/ } });
  });
});

describe("MCP behind fair turns", () => {
  let service: Awaited<ReturnType<typeof startMcpService>>;
  // No room in the queue: every request that waits for a turn is refused at once.
  beforeAll(async () => {
    service = await startMcpService({}, { tenant: "default", app: { maxWaitingRequests: 0 } });
  });
  afterAll(async () => service?.stop());

  it("waits for its turn like the other computing routes: a full queue is 503 busy, as a JSON-RPC error", async () => {
    const res = await post(service.url, INITIALIZE);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: /busy/ } });
  });
});

describe("MCP at shutdown", () => {
  it("ends a running tool with an error that says to call again, instead of waiting for it", async () => {
    const model = new ScriptedModel()
      .respond(new AIMessage("unused: the call hangs"))
      .structuredResponse({ queries: ["laptops delivered"] }) as ScriptedModel;
    model.hangNext = true;
    const service = await startMcpService({}, { tenant: "default", model });
    const { client } = await connect(service.url);
    const call = client.callTool({ name: "write_report", arguments: { topic: "laptops" } });
    await model.hanging;
    await service.stop();
    const result = (await call) as CallToolResult;
    expect(model.aborted[0]).toMatchObject({ code: "shutting_down" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/restarting; send the message again/);
    await client.close();
  });
});
