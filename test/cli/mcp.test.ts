// `counsel mcp` as a local MCP client runs it: a child process through bin/counsel.mjs, spoken to over stdio by
// the SDK's own client, on a data folder where the memo was ingested for one tenant: its tools and its resources.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createServices } from "../../src/services/services.ts";
import { FIXTURES, quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";

// A new Node process that compiles the TypeScript sources and opens the stores: seconds, more on a busy machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe("counsel mcp (stdio)", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = "";
  const protocolErrors: Error[] = [];

  beforeAll(async () => {
    data = await tempDataDir();
    const services = await createServices(testSettings(data.dir), quiet);
    const tenant = await services.tenant("acme");
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    await tenant.pipeline.ingest([{ name: "fake-memo.pdf", source: "memo", data: memo }]);
    await services.close();

    transport = new StdioClientTransport({
      command: process.execPath,
      // Started elsewhere, as MCP clients do, and pointed at the project folder.
      args: [path.join(ROOT, "bin/counsel.mjs"), "mcp", "--tenant", "acme", "--dir", ROOT],
      cwd: data.dir,
      env: { ...(process.env as Record<string, string>), DATA_DIR: data.dir, LOG_LEVEL: "info" },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    client = new Client({ name: "counsel-test", version: "1.0.0" });
    // A line on stdout that is not JSON-RPC (a stray log) would surface here.
    client.onerror = (error) => protocolErrors.push(error);
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    await data?.remove();
  });

  it("lists the same tools as the HTTP server", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      "search_knowledge_base",
      "ask",
      "write_report",
      "list_documents",
      "get_document",
    ]);
  });

  it("lists and reads the tenant's documents, as tools and as resources", async () => {
    const list = (await client.callTool({ name: "list_documents", arguments: {} })) as CallToolResult;
    expect(list.structuredContent).toEqual({
      documents: [expect.objectContaining({ source: "memo", name: "fake-memo.pdf", type: "pdf", pages: 1 })],
    });
    const document = (await client.callTool({
      name: "get_document",
      arguments: { source: "memo" },
    })) as CallToolResult;
    const { chunks } = document.structuredContent as { chunks: { text: string }[] };
    expect(chunks[0].text).toContain("200 laptops");
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(["counsel://documents/memo"]);
    const { contents } = await client.readResource({ uri: "counsel://documents/memo" });
    expect(contents).toEqual([
      {
        uri: "counsel://documents/memo",
        mimeType: "text/plain",
        text: chunks.map((c) => c.text).join("\n\n"),
      },
    ]);
  });

  it("searches and answers from the tenant's knowledge base", async () => {
    const search = (await client.callTool({
      name: "search_knowledge_base",
      arguments: { query: "laptops delivered" },
    })) as CallToolResult;
    expect((search.structuredContent as { chunks: { source: string }[] }).chunks[0]).toMatchObject({
      source: "memo",
      page: 1,
    });
    const answer = (await client.callTool({
      name: "ask",
      arguments: { question: "How many laptops were delivered?" },
    })) as CallToolResult;
    expect(answer.structuredContent).toMatchObject({
      answer: expect.stringContaining("200 laptops"),
      citations: [1],
    });
  });

  it("says that write_report needs a generative model when the deployment has the offline one", async () => {
    const result = (await client.callTool({
      name: "write_report",
      arguments: { topic: "laptops" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/needs a generative chat model.*MODEL_PROVIDER=bedrock/);
  });

  it("keeps stdout for the protocol: logs go to stderr", async () => {
    expect(protocolErrors).toEqual([]);
    expect(stderr).toContain("MCP server on stdio for tenant acme");
    // A tool call's log line is written after its result is sent: it may reach the pipe a moment later.
    await vi.waitFor(() => expect(stderr).toContain('"tool":"ask"'));
  });

  it("stops by itself when the client closes its input", async () => {
    const pid = transport.pid;
    await client.close();
    expect(stderr).toContain("stdin closed: closing");
    expect(() => process.kill(pid as number, 0)).toThrow();
  });
});
