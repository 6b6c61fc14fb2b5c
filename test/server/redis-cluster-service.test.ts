// Counsel on a Redis Cluster as MemoryDB and ElastiCache run it: a real service process (REDIS_CLUSTER=true) on
// six real Redis 8 processes (three masters, a replica each). Every store it keeps in Redis is used through the
// HTTP API: vectors, lexical index, record manager and catalog (ingest, ask, list documents), runs and feedback,
// chat histories and the session list, the embedding cache, the rate limit. Then the master that holds the
// tenant's keys is frozen and thawed (503 within about a second, never a hang), and killed (its replica is
// promoted and the service finds it by itself) without losing what was acknowledged.
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { type CounselProcess, startCounsel, stopCounsel } from "../helpers/counsel-process.ts";
import {
  command,
  masterOf,
  type RedisCluster,
  replicated,
  roleOf,
  startRedisCluster,
  until,
} from "../helpers/redis-cluster.ts";
import { FIXTURES, ROOT, tempDataDir } from "../helpers/services.ts";

const QUESTION = "How many laptops were shipped?";
const MEMO = "upload:fake-memo.pdf";
// Every key of the default tenant carries this hash tag, so one master holds them all (redis-key-layout.ts).
const TENANT_KEY = "counsel:{default}:x";
// With a Query Engine module to load (REDIS_SEARCH_MODULE, docs/development.md), the nodes load it and the
// service picks the Query Engine store, as on MemoryDB; without it, vector sets.
const searchModule = process.env.REDIS_SEARCH_MODULE || undefined;

describe("Counsel on a three-master Redis Cluster", () => {
  // A model that calls tools, for the advisor: Amazon Nova on the Bedrock emulator.
  useBedrockEmulator();
  let cluster: RedisCluster;
  let service: CounselProcess | undefined;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let sessionId: string;

  const post = (route: string, body: unknown) =>
    fetch(`${service?.url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const get = (route: string) => fetch(`${service?.url}${route}`);
  /** The qa chain's answer, which must cite the memo. */
  const answer = async () => {
    const res = await post("/chain/qa", { question: QUESTION });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { answer: string; runId: string; sources: { source: string }[] };
    expect(
      body.sources.map((s) => s.source),
      JSON.stringify(body),
    ).toContain(MEMO);
    return body;
  };
  const ready = () => until(async () => (await get("/readyz")).status === 200, "serve Counsel again", 30_000);

  beforeAll(async () => {
    data = await tempDataDir();
    // The qa chain offline (extractive, quoting the memo); the advisor, and a copy of qa with its LLM response
    // cache on, on Amazon Nova, so that the advisor's sessions and the cache live in the cluster too.
    const chains = path.join(data.dir, "chains");
    await cp(path.join(ROOT, "chains"), chains, { recursive: true });
    const nova = "model:\n  provider: bedrock\n  id: us.amazon.nova-micro-v1:0\n";
    const advisor = await readFile(path.join(chains, "advisor.yaml"), "utf8");
    await writeFile(path.join(chains, "advisor.yaml"), advisor.replace(/^model:\n/m, nova));
    const qa = await readFile(path.join(chains, "qa.yaml"), "utf8");
    await writeFile(
      path.join(chains, "qa-cached.yaml"),
      qa
        .replace(/^name: qa$/m, "name: qa-cached")
        .replace(/^model:\n/m, nova)
        .replace(/^ {2}minRelevance: .*$/m, "")
        .replace(/^ {2}llm: false$/m, "  llm: true"),
    );
    cluster = await startRedisCluster({ modules: searchModule ? [searchModule] : [] });
    const [first, ...others] = cluster.rootNodes.map((n) => new URL(n.url));
    service = await startCounsel({
      REDIS_URL: (first as URL).toString(),
      REDIS_CLUSTER: "true",
      REDIS_CLUSTER_NODES: others.map((u) => u.host).join(","),
      RATE_LIMIT_PER_MINUTE: "60",
      DATA_DIR: path.join(data.dir, "state"),
      CHAINS_DIR: chains,
    });
  }, 120_000);

  afterAll(async () => {
    await stopCounsel(service);
    await cluster?.stop();
    await data?.remove();
  });

  it("keeps every store in the cluster: documents, answers and feedback, sessions", async () => {
    const readiness = (await (await get("/readyz")).json()) as {
      checks: Record<string, { ok: boolean; backend?: string }>;
    };
    expect(readiness.checks.redis.ok).toBe(true);
    expect(readiness.checks.store.backend).toBe(searchModule ? "redis-search" : "redis-vectorset");

    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const ingested = await fetch(`${service?.url}/ingest`, { method: "POST", body: form });
    expect(await ingested.json()).toMatchObject({ added: 1, failed: [] });
    const { runId } = await answer();
    expect((await post("/feedback", { runId, score: 1 })).status).toBeLessThan(300);

    expect((await post("/chain/qa-cached", { question: QUESTION })).status).toBe(200);
    const chat = await post("/advisor/chat", { message: QUESTION });
    expect(chat.status, await chat.clone().text()).toBe(200);
    sessionId = ((await chat.json()) as { sessionId: string }).sessionId;

    const documents = (await (await get("/documents")).json()) as { documents: { source: string }[] };
    expect(documents.documents.map((d) => d.source)).toEqual([MEMO]);
    const sessions = (await (await get("/advisor/sessions")).json()) as { sessions: { id: string }[] };
    expect(sessions.sessions.map((s) => s.id)).toEqual([sessionId]);

    // The tenant's keys are all on one master; the embedding cache's, no tenant's, go by their own slots.
    const master = await masterOf(cluster, TENANT_KEY);
    const tenantKeys = await command<string[]>(master.port, ["KEYS", "counsel:{default}:*"]);
    expect(tenantKeys.length).toBeGreaterThan(10);
    expect(tenantKeys.filter((key) => key.startsWith("counsel:{default}:llm:")).length).toBeGreaterThan(0);
    const cached = await Promise.all(
      cluster.nodes
        .slice(0, 3)
        .map(async (n) => (await command<string[]>(n.port, ["KEYS", "counsel:embeddings:*"])).length),
    );
    expect(cached.reduce((a, b) => a + b)).toBeGreaterThan(0);
  });

  it("runs ingestion jobs on the cluster's BullMQ queue, its keys under one hash tag", async () => {
    const submitted = await post("/ingest?async=true", {
      documents: [{ text: "The depot took 42 laptops in March.", metadata: { doc_id: "depot-march" } }],
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    let job: { state: string; report?: { added: number } } = { state: "queued" };
    await until(
      async () => {
        job = (await (await get(`/ingest/jobs/${id}`)).json()) as typeof job;
        return job.state === "completed" || job.state === "failed";
      },
      `job ${id} to end`,
      30_000,
    );
    expect(job).toMatchObject({ state: "completed", report: { added: 1 } });
    const doc = (await (await get("/documents/depot-march")).json()) as { document: { status: string } };
    expect(doc.document.status).toBe("indexed");
    // Every key of the queue on the master of {jobs}'s slot, none elsewhere.
    const master = await masterOf(cluster, "counsel:{jobs}:ingest:id");
    const jobKeys = await command<string[]>(master.port, ["KEYS", "counsel:{jobs}:*"]);
    expect(jobKeys.length).toBeGreaterThan(2);
    for (const node of cluster.nodes.slice(0, 3).filter((n) => n.port !== master.port))
      expect(await command<string[]>(node.port, ["KEYS", "counsel:{jobs}:*"])).toEqual([]);
    const deleted = await fetch(`${service?.url}/documents/depot-march`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
  });

  it("answers 503 within about a second while the tenant's master is frozen, and recovers when it thaws", async () => {
    const master = await masterOf(cluster, TENANT_KEY);
    master.process.kill("SIGSTOP");
    try {
      const started = performance.now();
      const res = await post("/chain/qa", { question: QUESTION });
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(performance.now() - started).toBeLessThan(2_000);
      const readiness = await get("/readyz");
      expect(readiness.status).toBe(503);
      const { checks } = (await readiness.json()) as { checks: Record<string, { detail?: string }> };
      expect(checks.redis?.detail).toMatch(/did not answer a PING within 750 ms/);
      expect((await get("/healthz")).status).toBe(200);
    } finally {
      master.process.kill("SIGCONT");
    }
    await ready();
    await answer();
  }, 60_000);

  it("finds the promoted replica by itself when the tenant's master is killed, with nothing acknowledged lost", async () => {
    const master = await masterOf(cluster, TENANT_KEY);
    const replica = await replicated(cluster, master);
    master.process.kill("SIGKILL");
    const res = await post("/chain/qa", { question: QUESTION });
    expect(res.status).toBe(503);
    await until(async () => (await roleOf(replica.port)) === "master", "promote the replica");
    await ready();

    await answer();
    const documents = (await (await get("/documents")).json()) as { documents: { source: string }[] };
    expect(documents.documents.map((d) => d.source)).toEqual([MEMO]);
    const sessions = (await (await get("/advisor/sessions")).json()) as { sessions: { id: string }[] };
    expect(sessions.sessions.map((s) => s.id)).toEqual([sessionId]);
    const stats = (await (await get("/chains/qa/stats")).json()) as {
      variants: { feedback: { count: number } }[];
    };
    expect(stats.variants.reduce((sum, v) => sum + v.feedback.count, 0)).toBe(1);
    expect(service?.output()).toMatch(/slot map changed|did not answer a PING/);
  }, 60_000);

  it("counts the rate limit in the cluster", async () => {
    let limited = 0;
    for (let i = 0; i < 70 && limited === 0; i++) {
      if ((await get("/documents")).status === 429) limited = i;
    }
    expect(limited).toBeGreaterThan(0);
  });
});
