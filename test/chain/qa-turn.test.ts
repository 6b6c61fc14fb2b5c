// A qa chain's answer as the turn event stream that protocol adapters serve, over the real service (offline
// extractive answerer, embedded store) and a real document.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qaTurn } from "../../src/chains/qa-turn.ts";
import type { TurnEvent } from "../../src/contracts/turn-events.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { Tenant } from "../../src/tenants/tenant.ts";
import { defaultTenant, FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

describe("qaTurn", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let tenant: Tenant;

  beforeAll(async () => {
    data = await tempDataDir();
    services = await createServices(testSettings(data.dir), quiet);
    tenant = await defaultTenant(services);
    const memo = await readFile(path.join(FIXTURES, "fake-memo.txt"));
    await tenant.pipeline.ingest([{ name: "fake-memo.txt", source: "memo", data: memo }]);
  });
  afterAll(async () => {
    await services?.close();
    await data?.remove();
  });

  const collect = async (events: AsyncGenerator<TurnEvent>) => {
    const out: TurnEvent[] = [];
    for await (const event of events) out.push(event);
    return out;
  };

  it("streams the answer's text, then the cited sources numbered as cited, then done with the recorded run", async () => {
    const question = { question: "How many laptops were delivered?" };
    const options = { tenant, variant: "default" };
    const events = await collect(qaTurn(services.qaChain("qa"), question, options));
    const kinds = [...new Set(events.map((e) => e.event))];
    expect(kinds).toEqual(["token", "sources", "done"]);

    const done = events.at(-1) as Extract<TurnEvent, { event: "done" }>;
    const text = events.flatMap((e) => (e.event === "token" ? [e.data.text] : [])).join("");
    expect(text).toBe(done.data.message);
    // The same chain, gathered, answers the same.
    const whole = await services.qaChain("qa").invoke(question, options);
    expect(done.data.message).toBe(whole.answer);
    expect(done.data).toMatchObject({ chain: "qa", variant: "default", citations: whole.citations });
    expect(done.data.timings.firstTokenMs).toBeGreaterThan(0);

    const sources = (events.find((e) => e.event === "sources") as Extract<TurnEvent, { event: "sources" }>)
      .data.sources;
    expect(sources.map((s) => s.n)).toEqual(whole.citations);
    for (const s of sources) expect(done.data.message).toContain(`[${s.n}]`);
    expect(sources[0]).toMatchObject({ source: "memo", snippet: expect.any(String) });

    // The run was recorded: feedback finds it.
    expect(await tenant.runs.feedback(done.data.runId as string, { score: 1 })).not.toBe("unknown_run");
  });

  it("sends no sources when the answer abstains", async () => {
    const events = await collect(
      qaTurn(services.qaChain("qa"), { question: "What is the airspeed of an unladen swallow?" }, { tenant }),
    );
    expect(events.some((e) => e.event === "sources")).toBe(false);
    expect(events.at(-1)).toMatchObject({ event: "done", data: { citations: [] } });
  });
});
