// Experiments over HTTP: GET /chains with the variants, a variant chosen per request (by name, header or the
// caller's key), every answer recorded as a run, POST /feedback, GET /chains/:name/stats; and chain files
// reloaded on edit, an invalid edit logged while the last good chains keep serving.
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDataDir, useService } from "../helpers/services.ts";

const post = (url: string, route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

type Reply = { answer: string; variant: string; runId: string };

describe("chain variants, runs and feedback", () => {
  const service = useService();
  const ask = async (body: Record<string, unknown>, headers?: Record<string, string>) => {
    const res = await post(
      service.url,
      "/chain/qa",
      { question: "How many laptops were shipped?", ...body },
      headers,
    );
    expect(res.status).toBe(200);
    return (await res.json()) as Reply;
  };

  it("lists the chains with their variants and weights", async () => {
    const { chains } = (await (await fetch(`${service.url}/chains`)).json()) as {
      chains: {
        name: string;
        type: string;
        variants: { name: string; weight: number; configHash: string }[];
      }[];
    };
    const qa = chains.find((c) => c.name === "qa");
    expect(qa?.variants.map((v) => [v.name, v.weight])).toEqual([
      ["baseline", 1],
      ["balanced", 1],
      ["calibrated", 0],
      ["reranked", 0],
      ["decomposed", 0],
    ]);
    expect(new Set(qa?.variants.map((v) => v.configHash)).size).toBe(5);
    expect(chains.find((c) => c.name === "advisor")?.type).toBe("advisor");
    // The embedded defaults have no model that can call tools: the advisor says so, and how to get one.
    expect((chains.find((c) => c.name === "advisor") as { unavailable?: string }).unavailable).toMatch(
      /^The advisor needs a chat model that can call tools.*MODEL_PROVIDER=bedrock/,
    );
    expect(qa).not.toHaveProperty("unavailable");
  });

  it("serves the variant asked for by body or header, and refuses an unknown one", async () => {
    expect((await ask({ variant: "balanced" })).variant).toBe("balanced");
    expect((await ask({}, { "x-counsel-variant": "baseline" })).variant).toBe("baseline");
    const unknown = await post(service.url, "/chain/qa", { question: "x", variant: "nope" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      detail: expect.stringMatching(/no variant "nope".*baseline, balanced/),
    });
  });

  it("gives a caller's session the same variant every time, and each answer its own runId", async () => {
    const replies = await Promise.all(Array.from({ length: 6 }, () => ask({ sessionId: "session-7" })));
    expect(new Set(replies.map((r) => r.variant)).size).toBe(1);
    expect(new Set(replies.map((r) => r.runId)).size).toBe(6);
  });

  it("records feedback on a run, replaces a second score, and aggregates it per variant", async () => {
    const data = await tempDataDir(); // a fresh service: stats start at zero
    const fresh = await (await import("../helpers/services.ts")).startService(data.dir);
    try {
      const askFresh = async (variant: string) =>
        (await (
          await post(fresh.url, "/chain/qa", { question: "How many laptops were shipped?", variant })
        ).json()) as Reply;
      const a1 = await askFresh("baseline");
      const a2 = await askFresh("baseline");
      const b1 = await askFresh("balanced");
      const b2 = await askFresh("balanced");
      const feedback = (runId: string, score: number) => post(fresh.url, "/feedback", { runId, score });
      expect((await feedback(a1.runId, -1)).status).toBe(200);
      expect((await feedback(a1.runId, 1)).status).toBe(200); // replaces the -1
      expect((await feedback(a2.runId, 0)).status).toBe(200);
      expect((await feedback(b1.runId, 0.5)).status).toBe(200);
      expect((await feedback(b2.runId, -1)).status).toBe(200);
      expect((await feedback("00000000-0000-4000-8000-000000000000", 1)).status).toBe(404);
      expect((await feedback(b1.runId, 2)).status).toBe(400);

      const stats = (await (await fetch(`${fresh.url}/chains/qa/stats`)).json()) as {
        variants: { variant: string; requests: number; feedback: Record<string, number | null> }[];
      };
      const by = Object.fromEntries(stats.variants.map((v) => [v.variant, v]));
      // baseline: scores 1 (replaced -1) and 0 → mean 0.5 over 2, one thumb up (0 is neither);
      // balanced: 0.5 and -1 → mean -0.25, one up and one down.
      expect(by.baseline).toMatchObject({
        requests: 2,
        feedback: { count: 2, mean: 0.5, up: 1, down: 0, positiveShare: 1 },
      });
      expect(by.balanced).toMatchObject({
        requests: 2,
        feedback: { count: 2, mean: -0.25, up: 1, down: 1, positiveShare: 0.5 },
      });
      expect((await fetch(`${fresh.url}/chains/nope/stats`)).status).toBe(404);
    } finally {
      await fresh.stop();
      await data.remove();
    }
  });
});

describe("chain files edited while the service runs", async () => {
  const data = await tempDataDir();
  const chains = path.join(data.dir, "chains");
  await cp(path.join(ROOT, "chains"), chains, { recursive: true });
  const service = useService({ CHAINS_DIR: chains, WATCH_CONFIG: "true" });
  const variantsOf = async () => {
    const { chains: list } = (await (await fetch(`${service.url}/chains`)).json()) as {
      chains: { name: string; variants: { name: string }[] }[];
    };
    return list.find((c) => c.name === "qa")?.variants.map((v) => v.name);
  };

  it("picks up a valid edit without a restart, and keeps serving the last good chains through an invalid one", async () => {
    const file = path.join(chains, "qa.yaml");
    const original = await readFile(file, "utf8");
    await writeFile(file, `${original}  strict:\n    weight: 1\n    model: { minRelevance: 0.6 }\n`);
    await expect
      .poll(variantsOf, { timeout: 5000 })
      .toEqual(["baseline", "balanced", "calibrated", "reranked", "decomposed", "strict"]);

    await writeFile(file, `${original}  broken: { weight: "heavy" }\n`);
    await new Promise((r) => setTimeout(r, 800)); // past the settle time and the reload
    expect(await variantsOf()).toEqual([
      "baseline",
      "balanced",
      "calibrated",
      "reranked",
      "decomposed",
      "strict",
    ]);
    const res = await post(service.url, "/chain/qa", { question: "How many laptops?", variant: "strict" });
    expect(res.status).toBe(200);

    await writeFile(file, original);
    await expect
      .poll(variantsOf, { timeout: 5000 })
      .toEqual(["baseline", "balanced", "calibrated", "reranked", "decomposed"]);
    await data.remove();
  });
});
