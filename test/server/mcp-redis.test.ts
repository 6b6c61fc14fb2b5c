// The MCP doors on the test run's real Redis 8, each on a data folder of its own: a service over Streamable HTTP
// answers from a memo ingested into Redis by other services, and `counsel mcp` over stdio, another process,
// reaches the same knowledge base through the same Redis and key prefix, including what the service ingests
// while it runs.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { DocumentDetail, DocumentList } from "../../src/contracts/documents.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { documentUri } from "../../src/server/mcp/resources/documents.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { DEFAULT_TENANT } from "../../src/tenants/tenant-id.ts";
import { dropKeys, useRedisClients } from "../helpers/redis.ts";
import { FIXTURES, quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";

// The stdio server is a new Node process that compiles the TypeScript sources: seconds, more on a busy machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

interface Chunk {
  source: string;
  page?: number;
  snippet: string;
}

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

/** A tool's structured result, after checking that the call succeeded. */
async function callOk<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, text(result)).toBeFalsy();
  return result.structuredContent as T;
}

async function ingestFixture(services: Services, name: string, source: string) {
  const tenant = await services.tenant(DEFAULT_TENANT);
  await tenant.pipeline.ingest([{ name, source, data: await readFile(path.join(FIXTURES, name)) }]);
}

describe("MCP on Redis", () => {
  const redis = useRedisClients();
  // A prefix of this file's own, so that its keys meet no other test's and can be dropped after.
  const env = {
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `mcp${Math.random().toString(36).slice(2, 10)}`,
  };
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let close: () => Promise<void>;
  let url = "";

  beforeAll(async () => {
    data = await tempDataDir();
    // The memo goes in through other services on another data folder, as `counsel ingest` or another replica
    // would: the service below finds it in Redis or not at all.
    const ingester = await createServices(testSettings(path.join(data.dir, "ingester"), env), quiet);
    await ingestFixture(ingester, "fake-memo.pdf", "memo");
    await ingester.close();
    const settings = testSettings(path.join(data.dir, "service"), env);
    services = await createServices(settings, quiet);
    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = async () => {
      await app.close();
      await services.close();
    };
  });
  afterAll(async () => {
    await close?.();
    await data?.remove();
    await dropKeys(redis.client, env.REDIS_PREFIX);
  });

  describe("over Streamable HTTP", () => {
    let client: Client;
    beforeAll(async () => {
      client = new Client({ name: "counsel-test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    });
    afterAll(async () => client?.close());

    it("serves from the Redis vector set, not the embedded store", async () => {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as {
        checks: Record<string, { ok: boolean; backend?: string }>;
      };
      expect(ready.checks.redis.ok).toBe(true);
      expect(ready.checks.store.backend).toBe("redis-vectorset");
    });

    it("searches the ingested memo: its chunks, with source and page", async () => {
      const { chunks } = await callOk<{ chunks: Chunk[] }>(client, "search_knowledge_base", {
        query: "laptops delivered",
      });
      expect(chunks[0]).toMatchObject({ source: "memo", page: 1 });
      expect(chunks[0].snippet).toContain("200 laptops");
    });

    it("lists the memo, reads it as a tool and as a resource", async () => {
      const { documents } = await callOk<DocumentList>(client, "list_documents", {});
      expect(documents).toEqual([
        expect.objectContaining({ source: "memo", name: "fake-memo.pdf", type: "pdf", pages: 1 }),
      ]);
      const detail = await callOk<DocumentDetail>(client, "get_document", { source: "memo" });
      expect(detail.chunks[0].text).toContain("200 laptops");
      const { contents } = await client.readResource({ uri: documentUri("memo") });
      expect(contents).toEqual([
        {
          uri: documentUri("memo"),
          mimeType: "text/plain",
          text: detail.chunks.map((c) => c.text).join("\n\n"),
        },
      ]);
    });
  });

  describe("over stdio, in another process on the same Redis", () => {
    let stdioData: Awaited<ReturnType<typeof tempDataDir>>;
    let http: Client;
    let stdio: Client;
    let stderr = "";

    beforeAll(async () => {
      // A data folder of its own, empty: whatever it finds, it found in Redis.
      stdioData = await tempDataDir();
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [path.join(ROOT, "bin/counsel.mjs"), "mcp", "--tenant", DEFAULT_TENANT, "--dir", ROOT],
        cwd: stdioData.dir,
        env: {
          ...(process.env as Record<string, string>),
          ...env,
          DATA_DIR: stdioData.dir,
          LOG_LEVEL: "info",
        },
        stderr: "pipe",
      });
      transport.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      stdio = new Client({ name: "counsel-test", version: "1.0.0" });
      await stdio.connect(transport);
      http = new Client({ name: "counsel-test", version: "1.0.0" });
      await http.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    });
    afterAll(async () => {
      await http?.close();
      await stdio?.close();
      await stdioData?.remove();
    });

    it("opens the Redis vector store", () => {
      expect(stderr).toMatch(/Redis [\d.]+ at redis:\/\/127\.0\.0\.1:\d+: vector store redis-vectorset/);
    });

    it("reads, searches and lists the memo in Redis as the service does", async () => {
      const { documents } = await callOk<DocumentList>(stdio, "list_documents", {});
      expect(documents.map((d) => d.source)).toEqual(["memo"]);
      const fromStdio = await callOk<DocumentDetail>(stdio, "get_document", { source: "memo" });
      expect(fromStdio).toEqual(await callOk<DocumentDetail>(http, "get_document", { source: "memo" }));
      const [stdioRead, httpRead] = await Promise.all(
        [stdio, http].map((client) => client.readResource({ uri: documentUri("memo") })),
      );
      expect(stdioRead.contents).toEqual([
        expect.objectContaining({ uri: documentUri("memo"), text: expect.stringContaining("200 laptops") }),
      ]);
      expect(stdioRead).toEqual(httpRead);
      const { chunks } = await callOk<{ chunks: Chunk[] }>(stdio, "search_knowledge_base", {
        query: "laptops delivered",
      });
      expect(chunks[0]).toMatchObject({ source: "memo", page: 1 });
      expect(chunks[0].snippet).toContain("200 laptops");
    });

    it("finds a document the service ingests while it runs, with no restart", async () => {
      await ingestFixture(services, "handbook-1p.docx", "handbook");
      const { documents } = await callOk<DocumentList>(stdio, "list_documents", {});
      expect(documents.map((d) => d.source)).toEqual(["handbook", "memo"]);
      const { chunks } = await callOk<{ chunks: Chunk[] }>(stdio, "search_knowledge_base", {
        query: "chapter",
        filter: { source: "handbook" },
      });
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.every((c) => c.source === "handbook")).toBe(true);
    });

    it("stops when its client leaves, having written nothing to its own data folder", async () => {
      await stdio.close();
      expect(stderr).toContain("stdin closed: closing");
      expect(await readdir(stdioData.dir)).toEqual([]);
    });
  });
});
