// The console's Chat view in a real browser (Debian's Chromium, driven by playwright-core) against the real
// service: the advisor on Bedrock through the emulator (the recorded tool-use conversation, streamed a frame at a
// time) for streaming and stopping, and on LangChain's scripted model for a turn that searches the ingested memo,
// writes a report and generates code with the real tools. Sessions listed, resumed and deleted; and, with the
// embedded defaults, the page that says the advisor is unavailable. Screenshot with UPDATE_SCREENSHOTS=1.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdvisorToolName, createAdvisor } from "../../src/agent/advisor.ts";
import type { AdvisorChain } from "../../src/agent/from-config.ts";
import { createGenerateCodeTool, loadGenerateCodePrompts } from "../../src/agent/tools/generate-code.ts";
import { createSearchTool } from "../../src/agent/tools/search-knowledge-base.ts";
import { loadWriteReportPrompts } from "../../src/agent/tools/write-report/prompts.ts";
import { createWriteReportTool } from "../../src/agent/tools/write-report/tool.ts";
import type { ChainConfig } from "../../src/chains/config.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { CHROMIUM, launchChromium, newPage, sayIfSkipped, shot, text } from "../helpers/browser.ts";
import { writeKeys } from "../helpers/keys.ts";
import { MEMO_REPORT } from "../helpers/memo-report.ts";
import {
  defaultTenant,
  FIXTURES,
  quiet,
  ROOT,
  startService,
  tempDataDir,
  testSettings,
} from "../helpers/services.ts";

sayIfSkipped("test/web/chat.test.ts");

const BEDROCK = { MODEL_PROVIDER: "bedrock", MODEL_ID: "us.amazon.nova-micro-v1:0", SSE_HEARTBEAT_MS: "0" };
const ANSWER = "The memo records 200 laptops delivered [1]. The report and the code are above.";
/** generate_code's draft: a string added to a number, which the TypeScript checker refuses. */
const CODE = 'export function total(a: number, b: number): number {\n  return a + b + "";\n}';

const callTool = (name: string, args: Record<string, unknown>) =>
  new AIMessage({ content: "", tool_calls: [{ name, args, id: `call_${name}`, type: "tool_call" }] });

describe.skipIf(!CHROMIUM)("the Chat view in a browser", () => {
  // Slow enough that a person (and this test) sees the answer grow, and can stop it halfway.
  useBedrockEmulator({ frameDelayMs: 25, longReply: { frames: 80, bytes: 6 } });
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  /** The next turn's advisor, when a test scripts it; else the service's own (Bedrock). */
  let scripted: (() => AdvisorChain) | undefined;
  let memoChain: () => AdvisorChain;

  beforeAll(async () => {
    data = await tempDataDir();
    const settings = testSettings(data.dir, BEDROCK);
    services = await createServices(settings, quiet);
    const tenant = await defaultTenant(services);
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    await tenant.pipeline.ingest([{ name: "fake-memo.pdf", source: "fake-memo.pdf", data: memo }]);
    const searcher = new HybridSearcher({ store: tenant.index });
    const reportPrompts = await loadWriteReportPrompts(path.join(ROOT, "prompts"));
    const codePrompts = await loadGenerateCodePrompts(path.join(ROOT, "prompts"));
    const base = services.chains.configs.get("advisor") as ChainConfig;
    const tools: AdvisorToolName[] = ["search_knowledge_base", "write_report", "generate_code"];

    // Searches, writes a report (queries, then its draft), writes code with a type error, and answers.
    const memoTurn = (): AdvisorChain => {
      const model = fakeModel()
        .respond(callTool("search_knowledge_base", { query: "laptops delivered" }))
        .respond(callTool("write_report", { topic: "the January relief shipment" }))
        .respond(new AIMessage(MEMO_REPORT))
        .respond(callTool("generate_code", { task: "Add two totals.", language: "typescript" }))
        .respond(new AIMessage(`\`\`\`ts\n${CODE}\n\`\`\`\nAdds the totals.`))
        .respond(new AIMessage(ANSWER))
        .structuredResponse({ queries: ["laptops delivered January"] });
      const advisor = createAdvisor({
        config: { ...base, advisor: { ...(base.advisor as NonNullable<ChainConfig["advisor"]>), tools } },
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
            prompts: reportPrompts,
          }),
          generate_code: createGenerateCodeTool({ model, prompts: codePrompts, maxRepairs: 0 }),
        },
      });
      return {
        ...advisor,
        tools: () => {
          throw new Error("this test calls no tool directly");
        },
      };
    };
    scripted = undefined;
    app = await buildApp(
      {
        ...services,
        advisor: (name) => {
          const next = scripted;
          scripted = undefined;
          return next ? next() : services.advisor(name);
        },
      },
      appOptions(settings, services),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    memoChain = memoTurn;

    browser = await launchChromium();
    ({ page, violations: cspViolations } = await newPage(browser));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await services?.close();
    await data?.remove();
  });

  const input = () => page.getByLabel("Message", { exact: true });
  const status = () => text(page.locator(".chat-status"));
  const lastAnswer = () => page.locator("li.message.assistant").last();
  const sessionButton = (title: string) => page.locator("button.session-open", { hasText: title });

  it("streams the advisor's answer as it comes, token by token, and lists the conversation", async () => {
    await page.goto(`${url}/#/chat`);
    await expect.poll(() => text(page.getByRole("heading", { level: 2 }))).toBe("Chat");
    await expect.poll(() => text(page.locator(".sessions"))).toContain("None yet");

    await input().fill("What is the temperature in Paris?");
    await input().press("Enter"); // Enter sends
    // Each poll reads the answer as painted then: it grows through several paints before it is complete.
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          const painted = await text(lastAnswer().locator(".answer-text").first(), 500).catch(() => "");
          if (painted) seen.add(painted);
          return status();
        },
        { timeout: 20_000, interval: 20 },
      )
      .toBe("Answer complete.");
    expect(seen.size, [...seen].join(" | ")).toBeGreaterThan(2);
    const lengths = [...seen].map((s) => s.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(await input().inputValue()).toBe("");

    await expect.poll(() => sessionButton("What is the temperature in Paris?").count()).toBe(1);
    expect(await text(sessionButton("What is the temperature in Paris?"))).toMatch(/2 messages/);
    expect(cspViolations).toEqual([]);
  });

  it("shows a turn's tool steps, its sources linked from each [n], the report rendered, and the code checked", async () => {
    await page.getByRole("button", { name: "New chat" }).click();
    await expect.poll(() => page.locator("li.message").count()).toBe(0);
    scripted = memoChain;
    // Shift+Enter is a new line, not a send.
    await input().fill("How many laptops arrived?");
    await input().press("Shift+Enter");
    await input().pressSequentially("Write me a report and the code to add totals.");
    expect(await page.locator("li.message").count()).toBe(0);
    await page.getByRole("button", { name: "Send" }).click();

    const answer = lastAnswer();
    await expect.poll(() => status(), { timeout: 20_000 }).toBe("Answer complete.");
    const steps = answer.locator(".tool-step .tool-title");
    expect(await steps.allTextContents()).toEqual([
      "Done Searched the knowledge base: “laptops delivered”",
      "Done Wrote a report: “the January relief shipment”",
      "Done Generated code: “Add two totals.”",
    ]);
    expect(await text(answer.locator(".answer-text").last())).toBe(ANSWER);
    expect(await text(answer.locator(".turn-meta"))).toMatch(
      /^first token \d+ ms · total \d+ ms · 0 tokens in, 0 out$/,
    );

    // [1] links to source 1: the memo, its page and a snippet.
    const citation = answer.locator("a.citation").first();
    expect(await citation.getAttribute("aria-label")).toBe("Source 1: fake-memo.pdf, page 1");
    await citation.click();
    const target = answer.locator(".sources li:target");
    await expect.poll(() => text(target.locator(".source-name"))).toBe("fake-memo.pdf");
    expect(await text(target.locator(".source-page"))).toBe(", page 1");
    expect(await text(target.locator("blockquote"))).toMatch(/laptops/);

    // The code, highlighted, with the checker's finding: line, column, message.
    const code = answer.locator(".code-check");
    expect(await text(code.locator("code"))).toBe(CODE);
    expect(await code.locator("code .hljs-keyword").count()).toBeGreaterThan(0);
    expect(await text(code.locator(".check-problems"))).toBe("The TypeScript checker found 1 problem:");
    expect(await text(code.locator(".diagnostics li"))).toMatch(
      /^line 2, column 3: Type 'string' is not assignable to type 'number'\. \(TS2322\)$/,
    );

    // The report opens rendered from its Markdown, with a download of that Markdown.
    await answer.getByRole("button", { name: "Open the report" }).click();
    const report = answer.getByRole("article", { name: "Report" });
    await expect
      .poll(() => text(report.getByRole("heading", { level: 1 })))
      .toBe("Relief shipment of January 2023");
    expect(await report.locator("li").first().textContent()).toMatch(/20,000 bottles of water/);
    const download = answer.getByRole("link", { name: "Download the report (Markdown)" });
    expect(await download.getAttribute("download")).toMatch(/^report-[0-9a-f-]{36}\.md$/);
    const [saved] = await Promise.all([page.waitForEvent("download"), download.click()]);
    expect(saved.suggestedFilename()).toMatch(/^report-[0-9a-f-]{36}\.md$/);
    const markdown = await readFile(await saved.path(), "utf8");
    expect(markdown).toMatch(/^# Relief shipment of January 2023/);

    await shot(page, "chat");
    // At a phone's width the conversation, its code and its report fit.
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1100, height: 800 });
    expect(cspViolations).toEqual([]);
  });

  it("stops a turn mid-stream, and shows it stopped when the conversation is resumed", async () => {
    await page.getByRole("button", { name: "New chat" }).click();
    await input().fill("Tell me everything about Paris.");
    await input().press("Enter");
    // Streaming: some of the answer is there, and Stop is offered.
    await expect
      .poll(() => text(lastAnswer().locator(".answer-text").first(), 500).catch(() => ""), {
        timeout: 10_000,
      })
      .not.toBe("");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => status()).toBe("Stopped.");
    expect(await text(lastAnswer().locator(".stopped-badge"))).toBe("stopped");
    expect(await page.getByRole("button", { name: "Stop" }).count()).toBe(0);
    const partial = await text(lastAnswer().locator(".answer-text").first());

    // The service kept the turn as far as it went; the page, loaded afresh, resumes it marked stopped.
    await expect
      .poll(
        async () => {
          await page.goto("about:blank"); // a page loaded afresh, not a change of hash
          await page.goto(`${url}/#/chat`);
          const listed = sessionButton("Tell me everything about Paris.");
          await listed.waitFor({ timeout: 2_000 }).catch(() => undefined);
          return listed.count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    await sessionButton("Tell me everything about Paris.").click();
    await expect.poll(() => text(lastAnswer().locator(".stopped-badge"))).toBe("stopped");
    const resumed = await text(lastAnswer().locator(".answer-text").first());
    expect(resumed.startsWith(partial.slice(0, 10))).toBe(true);
    expect(await text(page.locator("li.message.user").first())).toContain("Tell me everything about Paris.");
    expect(cspViolations).toEqual([]);
  });

  it("lists conversations newest first, resumes one, and deletes one", async () => {
    await page.goto("about:blank");
    await page.goto(`${url}/#/chat`);
    const titles = page.locator("button.session-open .session-title");
    await expect
      .poll(() => titles.allTextContents())
      .toEqual([
        "Tell me everything about Paris.",
        "How many laptops arrived? Write me a report and the code to add totals.",
        "What is the temperature in Paris?",
      ]);

    await sessionButton("How many laptops arrived?").click();
    await expect.poll(() => text(lastAnswer().locator(".answer-text").last())).toBe(ANSWER);
    expect(await sessionButton("How many laptops arrived?").getAttribute("aria-current")).toBe("true");

    // Deleting the open conversation closes it and removes it from the list, and from the service.
    await page.getByRole("button", { name: /^Delete “How many laptops arrived\?/ }).click();
    await expect.poll(() => titles.count()).toBe(2);
    expect(await page.locator("li.message").count()).toBe(0);
    const { sessions } = (await (await fetch(`${url}/advisor/sessions`)).json()) as {
      sessions: { title: string }[];
    };
    expect(sessions.map((s) => s.title)).not.toContain(
      "How many laptops arrived? Write me a report and the code to add totals.",
    );
    expect(cspViolations).toEqual([]);
  });
});

describe.skipIf(!CHROMIUM)("the Chat view without a model that can call tools", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;

  beforeAll(async () => {
    data = await tempDataDir();
    service = await startService(data.dir); // the embedded defaults: the extractive answerer only
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await data?.remove();
  });

  it("says the advisor is unavailable and how to configure one before anyone types, and offers Ask", async () => {
    const { page, violations } = await newPage(browser, { width: 375, height: 740 });
    await page.goto(`${service.url}/#/chat`);
    const panel = page.locator("section.unavailable");
    await expect.poll(() => text(panel.getByRole("heading"))).toBe("The advisor is not available here");
    expect(await text(panel.locator(".problem-detail"))).toMatch(
      /^The advisor needs a chat model that can call tools.*MODEL_PROVIDER=bedrock/,
    );
    expect(await text(panel)).toContain("docs/models.md");
    expect(await page.getByLabel("Message", { exact: true }).count()).toBe(0);
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);

    await page.getByRole("link", { name: "Ask the knowledge base instead" }).click();
    await expect.poll(() => text(page.getByRole("heading", { level: 2 }))).toBe("Ask");
    expect(violations).toEqual([]);
  });
});

describe.skipIf(!CHROMIUM)("the Chat view with API keys on", () => {
  useBedrockEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;
  let keys: Record<"reader" | "chatter", string>;

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, {
      reader: { tenant: "acme", scopes: ["query"] },
      chatter: { tenant: "acme", scopes: ["chat"] },
    });
    keys = written.keys;
    service = await startService(path.join(data.dir, "state"), { ...BEDROCK, API_KEYS_FILE: written.file });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await data?.remove();
  });

  it("asks for a key with the chat scope, and chats with the key given after the page opened", async () => {
    const { page, violations } = await newPage(browser);
    await page.goto(`${service.url}/#/chat`);
    const prompt = page.getByRole("alertdialog");
    const useKey = async (key: string) => {
      await page.getByLabel("API key", { exact: true }).fill(key);
      await page.getByRole("button", { name: "Use this key" }).click();
    };
    await expect.poll(() => text(prompt.getByRole("heading"))).toBe("An API key is needed");
    // A key without the chat scope reads the chains, but not the conversations: the prompt says why.
    await useKey(keys.reader);
    await expect.poll(() => text(prompt.getByRole("heading"))).toBe("This key may not do that");
    await useKey(keys.chatter);
    await expect.poll(() => prompt.count()).toBe(0);
    await expect.poll(() => text(page.locator(".sessions"))).toContain("None yet");

    await page.getByLabel("Message", { exact: true }).fill("What is the temperature in Paris?");
    await page.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => text(page.locator(".chat-status")), { timeout: 20_000 }).toBe("Answer complete.");
    expect(await text(page.locator("li.message.assistant .answer-text").last())).toContain("30°C");
    expect(violations).toEqual([]);
  });
});
