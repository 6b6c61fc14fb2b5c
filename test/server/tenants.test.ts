// API keys and tenants end to end, in-process and on the real Redis: a request without a valid key is a 401, a
// key without the route's scope a 403; and two tenants that ingest a document under the same id never see each
// other's chunks, records, answers, runs, feedback, sessions or reports.
import path from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { advisorsFromConfig } from "../../src/agent/from-config.ts";
import type { Scope } from "../../src/auth/api-keys.ts";
import type { ChainConfig } from "../../src/chains/config.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { newReportId } from "../../src/store/report-store.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { redisSearchUrl, sayWhySearchIsSkipped } from "../helpers/redis-search.ts";
import { quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";

const SPECS: Record<string, { tenant: string; scopes: Scope[] }> = {
  acme: { tenant: "acme", scopes: ["query", "chat", "ingest", "admin"] },
  globex: { tenant: "globex", scopes: ["query", "chat", "ingest", "admin"] },
  acmeReader: { tenant: "acme", scopes: ["query"] },
};

const POLICY = (tenant: string, allowance: string) => ({
  documents: [
    {
      text: `Travel policy of ${tenant}. Staff receive a travel allowance of ${allowance} per day for meals.`,
      metadata: { doc_id: "travel-policy" },
    },
  ],
});

/**
 * The advisor chain built as the service builds it (advisorsFromConfig: an agent per tenant over that tenant's
 * stores), with LangChain's fake tool-calling model scripted for two turns that each search, then answer.
 */
function scriptedAdvisors(services: Services) {
  const model = fakeModel()
    .respondWithTools([{ name: "search_knowledge_base", args: { query: "travel allowance" } }])
    .respond(new AIMessage("The allowance is in the policy [1]."))
    .respondWithTools([{ name: "search_knowledge_base", args: { query: "travel allowance" } }])
    .respond(new AIMessage("The allowance is in the policy [1]."));
  const config = services.chains.configs.get("advisor") as ChainConfig;
  return advisorsFromConfig(
    [
      {
        ...config,
        model: { ...config.model, provider: "bedrock", id: "fake" },
        advisor: {
          ...(config.advisor as NonNullable<ChainConfig["advisor"]>),
          tools: ["search_knowledge_base"],
        },
      },
    ],
    {
      promptsDir: path.join(ROOT, "prompts"),
      chatModelFor: async () => model,
      turns: new TurnQueue(),
    },
  );
}

const backends: { backend: string; env: () => Record<string, string> }[] = [
  { backend: "in-process stores", env: () => ({}) },
  {
    backend: "Redis",
    env: () => ({
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  },
];
if (redisSearchUrl) {
  backends.push({
    backend: "the Redis Query Engine",
    env: () => ({
      REDIS_URL: redisSearchUrl as string,
      VECTOR_STORE: "redis-search",
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  });
}
sayWhySearchIsSkipped("tenants");

describe.each(backends)("tenants on $backend", ({ env }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let url = "";
  let keys: Record<string, string>;
  let close: () => Promise<void>;
  const logLines: string[] = [];

  const post = (route: string, key: string | undefined, body: unknown) =>
    fetch(`${url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? bearer(key) : {}) },
      body: JSON.stringify(body),
    });
  const get = (route: string, key?: string) => fetch(`${url}${route}`, { headers: key ? bearer(key) : {} });
  const ask = async (key: string) => {
    const res = await post("/chain/qa", key, { question: "What is the travel allowance per day?" });
    expect(res.status).toBe(200);
    return (await res.json()) as { answer: string; runId: string; sources: { snippet: string }[] };
  };

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, SPECS);
    keys = written.keys;
    const settings = testSettings(path.join(data.dir, "state"), { API_KEYS_FILE: written.file, ...env() });
    services = await createServices(settings, quiet);
    const advisors = await scriptedAdvisors(services);
    // The service's log, as JSON lines, for the test that reads it.
    const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
    const app = await buildApp(
      { ...services, advisor: (name) => advisors.get(name) as never },
      appOptions(settings, services, logger),
    );
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
  });

  it("refuses requests without a valid key (401) or without the route's scope (403); probes stay public", async () => {
    const none = await post("/chain/qa", undefined, { question: "Anything?" });
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toContain("application/problem+json");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await none.json()).toMatchObject({ status: 401, code: "unauthorized" });

    const forged = `${keys.acme.slice(0, -4)}AAAA`;
    expect((await post("/chain/qa", forged, { question: "Anything?" })).status).toBe(401);
    expect((await post("/chain/qa", "not-a-key", { question: "Anything?" })).status).toBe(401);

    // x-api-key works as well as Bearer.
    const viaHeader = await fetch(`${url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": keys.acmeReader },
      body: JSON.stringify({ question: "Anything?" }),
    });
    expect(viaHeader.status).toBe(200);

    const ingest = await post("/ingest", keys.acmeReader, POLICY("acme", "1 euro"));
    expect(ingest.status).toBe(403);
    expect(await ingest.json()).toMatchObject({ code: "forbidden", detail: /needs the scope ingest/ });
    expect((await get("/chains/qa/stats", keys.acmeReader)).status).toBe(403);
    expect((await get("/usage", keys.acmeReader)).status).toBe(403);
    expect((await get("/chains", keys.acmeReader)).status).toBe(200);

    for (const probe of ["/healthz", "/readyz", "/metrics", "/docs/json"])
      expect((await get(probe)).status).toBe(200);
    expect((await get("/no-such-route")).status).toBe(401);
    expect((await get("/no-such-route", keys.acmeReader)).status).toBe(404);
  });

  it("keeps each tenant's documents, records and answers apart, even under the same document id", async () => {
    const acmeIngest = await post("/ingest", keys.acme, POLICY("acme", "42 euros"));
    const globexIngest = await post("/ingest", keys.globex, POLICY("globex", "99 dollars"));
    // Same id, same path through the pipeline: each tenant's record manager sees a new document.
    expect(await acmeIngest.json()).toMatchObject({ added: 1, updated: 0, skipped: 0 });
    expect(await globexIngest.json()).toMatchObject({ added: 1, updated: 0, skipped: 0 });

    const acme = await ask(keys.acme);
    expect(acme.answer).toContain("42 euros");
    expect(JSON.stringify(acme.sources)).not.toMatch(/globex|99 dollars/);
    const globex = await ask(keys.globex);
    expect(globex.answer).toContain("99 dollars");
    expect(JSON.stringify(globex.sources)).not.toMatch(/acme|42 euros/);

    // Acme changes its document: its old chunks go, globex's stay untouched.
    const changed = await post("/ingest", keys.acme, POLICY("acme", "50 euros"));
    expect(await changed.json()).toMatchObject({ added: 0, updated: 1, chunks: { deleted: 1 } });
    expect((await ask(keys.acme)).answer).toContain("50 euros");
    expect(JSON.stringify(await ask(keys.acme))).not.toContain("42 euros");
    expect((await ask(keys.globex)).answer).toContain("99 dollars");
    const again = await post("/ingest", keys.globex, POLICY("globex", "99 dollars"));
    expect(await again.json()).toMatchObject({ added: 0, updated: 0, skipped: 1 });

    expect(await (await services.tenant("acme")).index.countChunks()).toBe(1);
    expect(await (await services.tenant("globex")).index.countChunks()).toBe(1);
  });

  it("logs each answer with its tenant, key id, chain, variant, run and tokens; never the key or the question", async () => {
    const { runId } = await ask(keys.acmeReader);
    const line = logLines.find((l) => l.includes(runId) && l.includes('"answered"'));
    expect(JSON.parse(line as string)).toMatchObject({
      msg: "answered",
      reqId: expect.any(String),
      tenant: "acme",
      key: keys.acmeReader.split("_")[1],
      chain: "qa",
      variant: expect.any(String),
      tokens: { inputTokens: 0, outputTokens: 0 },
    });
    const all = logLines.join("\n");
    for (const key of Object.values(keys)) expect(all).not.toContain(key);
    expect(all).not.toContain("travel allowance per day");
  });

  it("takes feedback only on a tenant's own runs, and counts stats per tenant", async () => {
    const requests = async (key: string) =>
      ((await (await get("/chains/qa/stats", key)).json()) as { variants: { requests: number }[] }).variants
        .map((v) => v.requests)
        .reduce((a, b) => a + b, 0);
    const acmeBefore = await requests(keys.acme);
    const globexBefore = await requests(keys.globex);

    const { runId } = await ask(keys.acme);
    await ask(keys.acme);
    expect((await post("/feedback", keys.globex, { runId, score: -1 })).status).toBe(404);
    expect((await post("/feedback", keys.acme, { runId, score: 1 })).status).toBe(200);

    // Runs are recorded after the reply: wait for acme's two to land.
    await expect.poll(() => requests(keys.acme)).toBe(acmeBefore + 2);
    expect(await requests(keys.globex)).toBe(globexBefore);
  });

  it("keeps sessions and reports to their tenant; the advisor searches only its tenant's chunks", async () => {
    const chat = async (key: string, message: string) => {
      const res = await fetch(`${url}/advisor/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream", ...bearer(key) },
        body: JSON.stringify({ message }),
      });
      expect(res.status).toBe(200);
      return readSse(res).rest();
    };
    const data = <T>(events: SseEvent[], event: string) => events.find((e) => e.event === event)?.data as T;

    const acmeTurn = await chat(keys.acme, "What is our travel allowance?");
    const acmeSources = data<{ sources: { snippet: string }[] }>(acmeTurn, "sources");
    expect(JSON.stringify(acmeSources)).toContain("50 euros");
    expect(JSON.stringify(acmeSources)).not.toContain("99 dollars");
    const { sessionId } = data<{ sessionId: string }>(acmeTurn, "session");

    const globexTurn = await chat(keys.globex, "What is our travel allowance?");
    console.log(JSON.stringify(globexTurn).slice(0, 1500));
    const globexSources = JSON.stringify(data(globexTurn, "sources"));
    expect(globexSources).toContain("99 dollars");
    expect(globexSources).not.toContain("euros");

    expect((await get(`/advisor/sessions/${sessionId}`, keys.acme)).status).toBe(200);
    expect((await get(`/advisor/sessions/${sessionId}`, keys.globex)).status).toBe(404);
    // Another tenant's DELETE forgets nothing of acme's.
    expect(
      (
        await fetch(`${url}/advisor/sessions/${sessionId}`, {
          method: "DELETE",
          headers: bearer(keys.globex),
        })
      ).status,
    ).toBe(204);
    expect((await get(`/advisor/sessions/${sessionId}`, keys.acme)).status).toBe(200);

    // A report acme's advisor saved (through acme's report store, as write_report does).
    const report = {
      id: newReportId(),
      title: "Travel",
      topic: "travel",
      audience: "staff",
      markdown: "# Travel\n\nThe allowance is 50 euros [1].",
      sources: [],
      createdAt: new Date().toISOString(),
    };
    await (await services.tenant("acme")).reports.save(report);
    const reportUrl = `/reports/${report.id}`;
    expect((await get(reportUrl, keys.acme)).status).toBe(200);
    expect((await get(reportUrl, keys.globex)).status).toBe(404);
    // A key without the chat scope reads no report, even its own tenant's.
    expect((await get(reportUrl, keys.acmeReader)).status).toBe(403);
  });
});
