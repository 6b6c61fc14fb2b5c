// The advisor's tools through the HTTP route, driven by LangChain's fake tool-calling model over the real
// services: it searches the ingested memo, writes a report, and answers; the SSE stream shows each tool call
// between tool_start and tool_end, the sources it found, and the report's link, which GET /reports/:id serves.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdvisorToolName, createAdvisor } from "../../src/agent/advisor.ts";
import { createGenerateCodeTool, loadGenerateCodePrompts } from "../../src/agent/tools/generate-code.ts";
import { createSearchTool } from "../../src/agent/tools/search-knowledge-base.ts";
import { loadWriteReportPrompts } from "../../src/agent/tools/write-report/prompts.ts";
import { createWriteReportTool } from "../../src/agent/tools/write-report/tool.ts";
import type { ChainConfig } from "../../src/chains/config.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices } from "../../src/services/services.ts";
import { MEMO_REPORT } from "../helpers/memo-report.ts";
import { defaultTenant, FIXTURES, quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";

// Three lines, the second with a type error the compiler reports at 2:3.
const BROKEN_CODE = 'export function add(a: number, b: number): number {\n  return "sum" + a + b;\n}';

function withTools(config: ChainConfig, tools: AdvisorToolName[]): ChainConfig {
  return { ...config, advisor: { ...(config.advisor as NonNullable<ChainConfig["advisor"]>), tools } };
}

describe("the advisor's tools over SSE", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    data = await tempDataDir();
    const settings = testSettings(data.dir, { SSE_HEARTBEAT_MS: "0" });
    const services = await createServices(settings, quiet);
    const tenant = await defaultTenant(services);
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    await tenant.pipeline.ingest([{ name: "fake-memo.pdf", source: "memo", data: memo }]);

    const searcher = new HybridSearcher({ store: tenant.index });
    const model = fakeModel()
      .respondWithTools([{ name: "search_knowledge_base", args: { query: "laptops delivered" } }])
      .respondWithTools([{ name: "write_report", args: { topic: "the January relief shipment" } }])
      .respond(new AIMessage(MEMO_REPORT)) // the report
      .respond(new AIMessage("200 laptops were delivered [1]. The report is at the link above."))
      // The report's queries, through the model's structured output.
      .structuredResponse({ queries: ["laptops delivered January", "blankets and water"] });
    const advisor = createAdvisor({
      config: withTools(services.chains.configs.get("advisor") as ChainConfig, [
        "search_knowledge_base",
        "write_report",
      ]),
      model,
      systemPrompt: "You advise.",
      history: tenant.history,
      turns: new TurnQueue(),
      tools: {
        search_knowledge_base: createSearchTool({ searcher, k: 3 }),
        write_report: createWriteReportTool({
          searcher,
          model,
          reports: tenant.reports,
          prompts: await loadWriteReportPrompts(path.join(ROOT, "prompts")),
        }),
      },
    });
    // A second chain that writes code: the model asks for it, writes it with a type error, then answers.
    const coderModel = fakeModel()
      .respondWithTools([
        { name: "generate_code", args: { task: "Sum two numbers.", language: "typescript" } },
      ])
      .respond(new AIMessage(`\`\`\`ts\n${BROKEN_CODE}\n\`\`\`\nAdds a and b.`))
      .respond(new AIMessage("Here is the function; the checker found one problem."));
    const coder = createAdvisor({
      config: withTools(services.chains.configs.get("advisor") as ChainConfig, ["generate_code"]),
      model: coderModel,
      systemPrompt: "You advise.",
      history: tenant.history,
      turns: new TurnQueue(),
      tools: {
        generate_code: createGenerateCodeTool({
          model: coderModel,
          prompts: await loadGenerateCodePrompts(path.join(ROOT, "prompts")),
          maxRepairs: 0,
        }),
      },
    });
    // The chains as the service serves them; nothing here calls their tools directly (MCP does: mcp.test.ts).
    const served = (handle: typeof advisor) => ({
      ...handle,
      tools: () => {
        throw new Error("this test calls no tool directly");
      },
    });
    const chains = { advisor: served(advisor), coder: served(coder) };
    const app = await buildApp(
      { ...services, advisor: (name: string) => chains[name as keyof typeof chains] },
      appOptions(settings, services),
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

  it("shows each tool call, the sources found and the report's link, and serves the report", async () => {
    const res = await fetch(`${url}/advisor/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: "How many laptops arrived? Write me a report." }),
    });
    const events = await readSse(res).rest();
    const names = events.map(
      (e) => `${e.event}${(e.data as { name?: string }).name ? `:${(e.data as { name: string }).name}` : ""}`,
    );
    expect(names.filter((n) => n !== "token")).toEqual([
      "session",
      "tool_start:search_knowledge_base",
      "tool_end:search_knowledge_base",
      "sources",
      "tool_start:write_report",
      "tool_end:write_report",
      "sources",
      "done",
    ]);
    const sources = events.find((e) => e.event === "sources")?.data as {
      sources: { n: number; source: string }[];
    };
    expect(sources.sources[0]).toMatchObject({ n: 1, source: "memo", page: 1 });

    const written = events.find(
      (e) =>
        e.event === "tool_end" && (e.data as SseEvent["data"] & { name: string }).name === "write_report",
    )?.data as { url: string; summary: string };
    // Absolute on the origin the request reached, so that a browser opens it as it is.
    expect(written.url).toMatch(new RegExp(`^${url}/reports/[0-9a-f-]{36}$`));
    // A result for people: the report and its summary, without the instruction the model got with them.
    expect(written.summary).toContain('The report "Relief shipment of January 2023" is saved at');
    expect(written.summary).toContain("The January delivery included 200 laptops.");
    expect(written.summary).not.toMatch(/Give the user/i);
    // The report's sources come as any turn's, numbered in the turn: the memo the search found is [1] again.
    const reportSources = events.filter((e) => e.event === "sources").at(-1)?.data as typeof sources;
    expect(reportSources.sources).toEqual([expect.objectContaining({ n: 1, source: "memo", page: 1 })]);
    const report = await fetch(written.url);
    expect(report.headers.get("content-type")).toContain("text/markdown");
    const markdown = await report.text();
    expect(markdown).toMatch(/^# Relief shipment of January 2023/);
    for (const section of ["## Executive summary", "## Findings", "## Recommendations", "## Sources"])
      expect(markdown).toContain(section);
    expect(markdown).toMatch(/## Sources[\s\S]*\[1\] memo, page 1/);

    const done = events.at(-1)?.data as { message: string };
    expect(done.message).toContain("200 laptops were delivered [1].");
    expect((await fetch(`${url}/reports/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it("gives generated code whole, with each of the compiler's findings, for a UI to show", async () => {
    const res = await fetch(`${url}/advisor/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: "Write me an add function.", chain: "coder" }),
    });
    const events = await readSse(res).rest();
    const end = events.find((e) => e.event === "tool_end")?.data as {
      name: string;
      summary: string;
      check: Record<string, unknown>;
    };
    expect(end.name).toBe("generate_code");
    expect(end.summary).toBe("Checked with the TypeScript compiler: 1 problem remains.");
    expect(end.check).toEqual({
      language: "typescript",
      checked: true,
      repaired: false,
      problems: 1,
      code: BROKEN_CODE,
      diagnostics: [
        { line: 2, column: 3, message: "Type 'string' is not assignable to type 'number'.", code: 2322 },
      ],
    });
    expect(events.at(-1)?.event).toBe("done");
  });
});
