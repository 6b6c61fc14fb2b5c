// The write_report tool over real document text (test/fixtures, origins in SOURCES.md) in the real in-process
// store and hybrid searcher, with the repository's prompts/write-report.md; a scripted chat
// model plays the model (first the search queries, through structured output, then the report).

import path from "node:path";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { Document } from "@langchain/core/documents";
import type { BindToolsInput } from "@langchain/core/language_models/chat_models";
import { BaseChatModel, type BaseChatModelCallOptions } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage, type ToolMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { beforeAll, describe, expect, it } from "vitest";
import { SourceRegistry } from "../../src/agent/sources.ts";
import { PLAN_TOOL, parseQueries } from "../../src/agent/tools/write-report/plan.ts";
import {
  loadWriteReportPrompts,
  type WriteReportPrompts,
} from "../../src/agent/tools/write-report/prompts.ts";
import {
  createWriteReportTool,
  type WriteReportArtifact,
  type WriteReportToolOptions,
} from "../../src/agent/tools/write-report/tool.ts";
import { parsePrompt, sourceOf } from "../../src/chains/prompts.ts";
import type { ScoredDocument, Searcher, SearchOptions } from "../../src/contracts/search.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { MemoryReportStore, type Report, type ReportStore } from "../../src/store/report-store.ts";
import { corpus } from "../helpers/corpus.ts";
import { ROOT } from "../helpers/services.ts";

/** The hybrid searcher, noting the queries it is asked; `onSearch` lets a test act in the middle of a run. */
class RecordingSearcher implements Searcher {
  readonly queries: string[] = [];
  constructor(
    private readonly inner: Searcher,
    private readonly onSearch?: () => void,
  ) {}
  async search(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    this.queries.push(query);
    this.onSearch?.();
    return this.inner.search(query, options);
  }
}

/**
 * A chat model that gives scripted replies in turn (text, or an AIMessage with tool calls) and keeps the
 * messages, signal and bound tools of every call. Written here rather than taken from FakeListChatModel, whose
 * withStructuredOutput parses the reply's text itself: over this one, LangChain's own withStructuredOutput runs,
 * as it does over a real model.
 */
class ScriptedModel extends BaseChatModel {
  readonly calls: { messages: BaseMessage[]; signal?: AbortSignal; tools: string[] }[] = [];
  private next = 0;
  constructor(private readonly replies: (string | AIMessage)[]) {
    super({});
  }
  _llmType() {
    return "scripted";
  }
  override bindTools(tools: BindToolsInput[], kwargs?: Partial<BaseChatModelCallOptions>) {
    return this.withConfig({ tools, ...kwargs } as BaseChatModelCallOptions);
  }
  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    const tools = ((options as { tools?: unknown[] }).tools ?? []).map(
      (t) =>
        (t as { function?: { name: string }; name?: string }).function?.name ??
        String((t as { name?: string }).name),
    );
    this.calls.push({ messages, signal: options.signal, tools });
    options.signal?.throwIfAborted();
    const reply = this.replies[this.next++];
    if (reply === undefined) throw new Error("ScriptedModel: no reply left");
    // A chunk, as a streaming model's reply is (LangChain's generic withStructuredOutput reads only those).
    const message =
      typeof reply === "string"
        ? new AIMessageChunk(reply)
        : new AIMessageChunk({ content: reply.content, tool_calls: reply.tool_calls });
    return { generations: [{ text: message.text, message }] };
  }
}

/** The planning reply through the structured output: a call of the plan_queries tool. */
const planned = (queries: string[]) =>
  new AIMessage({ content: "", tool_calls: [{ id: "plan-1", name: PLAN_TOOL, args: { queries } }] });

/** The memory store, noting what is saved. */
class RecordingReportStore implements ReportStore {
  readonly saved: Report[] = [];
  private readonly inner = new MemoryReportStore();
  async save(report: Report) {
    this.saved.push(report);
    await this.inner.save(report);
  }
  get(id: string) {
    return this.inner.get(id);
  }
}

const TOPIC = "How Bitcoin prevents double-spending without a trusted third party";
const QUERIES = [
  "double-spending without a trusted third party",
  "proof-of-work longest chain",
  "timestamp server",
];

// What a model writes, with a citation out of range ([42]), a group with one ([2, 99]), a title with a
// citation and a references list of its own; claims paraphrase the whitepaper.
const REPORT = `Here is the report you asked for.

# Preventing double-spending in Bitcoin [1]

## Executive summary
Bitcoin prevents double-spending with a peer-to-peer timestamp server [1]. Nodes accept the longest chain of proof-of-work as the record of events [2, 99]. An attacker would need most of the CPU power to rewrite it [3]. This needs no trusted third party [42].

## Findings
- Transactions are hashed into a chain of timestamps, each including the previous one [1].
- The longest chain serves as proof of the sequence of events witnessed [2][3].
- A merchant cannot otherwise know that a coin was not spent twice [42].

## Recommendations
- Wait for several blocks before treating a payment as final [3].

## References
[13] Wikipedia, "Double-spending".
`;

const ask = (topic: string, extra: Record<string, unknown> = {}) => ({
  type: "tool_call" as const,
  id: "call-1",
  name: "write_report",
  args: { topic, ...extra },
});

const text = (message: BaseMessage) => (typeof message.content === "string" ? message.content : message.text);

describe("write_report", () => {
  const docs = corpus();
  const byId = new Map(docs.map((d) => [d.id as string, d]));
  let searcher: HybridSearcher;
  let prompts: WriteReportPrompts;

  beforeAll(async () => {
    const store = new LocalVectorStore(new LocalHashEmbeddings());
    await store.addDocuments(docs, { ids: docs.map((d) => d.id as string) });
    searcher = new HybridSearcher({ store });
    prompts = await loadWriteReportPrompts(path.join(ROOT, "prompts"));
  });

  function setup(responses: (string | AIMessage)[], options: Partial<WriteReportToolOptions> = {}) {
    const model = new ScriptedModel(responses);
    const recording = new RecordingSearcher(options.searcher ?? searcher);
    const reports = new RecordingReportStore();
    const tool = createWriteReportTool({
      prompts,
      k: 4,
      maxSources: 6,
      ...options,
      searcher: recording,
      model,
      reports,
    });
    return { model, searcher: recording, reports, tool };
  }

  it("researches the model's queries and saves a four-section report whose Sources are the cited chunks", async () => {
    const { model, searcher, reports, tool } = setup([planned(QUERIES), REPORT]);
    const reply: ToolMessage = await tool.invoke(ask(TOPIC));

    expect(searcher.queries).toEqual(QUERIES);
    expect(model.calls).toHaveLength(2);

    const artifact = reply.artifact as WriteReportArtifact;
    expect(artifact.reportId).toEqual(expect.any(String));
    const id = artifact.reportId as string;
    expect(artifact.url).toBe(`/reports/${id}`);
    expect(reply.content).toContain(`/reports/${id}`);
    const report = (await reports.get(id)) as Report;
    expect(report).toEqual(reports.saved[0]);
    expect(report).toMatchObject({ id, topic: TOPIC, audience: "a general business reader" });
    expect(new Date(report.createdAt).toISOString()).toBe(report.createdAt);
    expect(artifact).toEqual({
      reportId: id,
      url: `/reports/${id}`,
      title: report.title,
      // Outside a turn the tool numbers its own registry, in the order the report cites them.
      sources: report.sources.map(({ n, id, source, page, snippet }) => ({
        n,
        id,
        source,
        ...(page === undefined ? {} : { page }),
        snippet,
        score: expect.any(Number),
      })),
      summary: expect.any(String),
    });
    // The model is told what to do with the link; the summary for people carries only the result.
    expect(reply.content).toContain("Give the user this link.");
    expect(artifact.summary).toContain(`The report "${report.title}" is saved at /reports/${id}`);
    expect(artifact.summary).toContain(
      "Bitcoin prevents double-spending with a peer-to-peer timestamp server.",
    );
    expect(artifact.summary).not.toMatch(/Give the user|link\./);

    // The title from the # heading, without its citation; the preamble and the model's references are gone.
    expect(report.title).toBe("Preventing double-spending in Bitcoin");
    const { markdown } = report;
    expect(markdown.startsWith("# Preventing double-spending in Bitcoin\n")).toBe(true);
    expect(markdown).not.toContain("Here is the report");
    expect(markdown).not.toMatch(/References|Wikipedia|\[13\]/);
    const headings = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(["Executive summary", "Findings", "Recommendations", "Sources"]);

    // At most six chunks were numbered: [42] and the 99 of [2, 99] pointed at nothing and are gone.
    expect(markdown).not.toMatch(/\[42\]|99/);
    expect(markdown).toContain("as the record of events [2].");
    expect(markdown).toContain("This needs no trusted third party.");
    const cited = [...new Set([...markdown.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))].sort();
    expect(cited).toEqual([1, 2, 3]);
    expect(report.sources.map((s) => s.n)).toEqual([1, 2, 3]);

    // Each listed source is a real chunk, the very one the model was shown as [n].
    const writingPrompt = text(model.calls[1].messages[0]);
    const sourcesSection = markdown.slice(markdown.indexOf("## Sources"));
    for (const source of report.sources) {
      const chunk = byId.get(source.id) as Document;
      expect(chunk, source.id).toBeDefined();
      const { source: file, page } = sourceOf(chunk.metadata);
      expect(source).toMatchObject({ source: file, page });
      const where = page === undefined ? file : `${file}, page ${page}`;
      expect(sourcesSection).toContain(`- [${source.n}] ${where}\n`);
      const block = writingPrompt.slice(writingPrompt.indexOf(`[${source.n}] (`));
      expect(block.startsWith(`[${source.n}] (${where})\n`)).toBe(true);
      expect(block).toContain(
        chunk.pageContent
          .trim()
          .slice(0, 60)
          .replace(/\n{3,}/g, "\n\n"),
      );
      expect(chunk.pageContent.replace(/\s+/g, " ")).toContain(source.snippet.replace(/…$/, "").slice(0, 80));
    }

    // The defaults reached the prompt; the agent gets a summary without the report's own [n] numbers.
    expect(writingPrompt).toContain(TOPIC);
    expect(writingPrompt).toContain("a general business reader");
    expect(writingPrompt).toContain("Length: medium");
    expect(reply.content).toContain("Bitcoin prevents double-spending with a peer-to-peer timestamp server.");
    expect(reply.content).not.toMatch(/\[\d+\]/);
    expect(reply.content).not.toContain("Note:");
  });

  it("numbers its sources in the turn's sequence and links the report absolutely on the run's baseUrl", async () => {
    const { reports, tool } = setup([planned(QUERIES), REPORT]);
    const registry = new SourceRegistry();
    // A search earlier in the turn numbered a chunk the report does not cite.
    const earlier = new Document({
      id: "earlier-search",
      pageContent: "Unrelated.",
      metadata: { source: "x" },
    });
    registry.add([{ document: earlier, score: 1 }]);
    const reply: ToolMessage = await tool.invoke(ask(TOPIC), {
      configurable: { sources: registry, baseUrl: "https://counsel.test:8443" },
    });
    const artifact = reply.artifact as WriteReportArtifact & { reportId: string };
    const report = reports.saved[0];
    expect(artifact.url).toBe(`https://counsel.test:8443/reports/${report.id}`);
    expect(reply.content).toContain(artifact.url);
    expect(artifact.summary).toContain(artifact.url);
    // The report's [1], [2], [3] are the turn's 2, 3, 4: the same chunks, numbered after the earlier search's.
    expect(artifact.sources.map((s) => [s.n, s.id])).toEqual(report.sources.map((s) => [s.n + 1, s.id]));
    expect(registry.all().map((s) => s.id)).toEqual(["earlier-search", ...report.sources.map((s) => s.id)]);
  });

  it("runs the model calls under the tool's run, tagged so that the agent's stream can leave them out", async () => {
    const { tool } = setup([planned(QUERIES), REPORT]);
    const chains = new Map<string, { name?: string; parent?: string }>();
    /** The names of a run's ancestors, nearest first. */
    const ancestors = (runId?: string): (string | undefined)[] =>
      runId && chains.has(runId) ? [chains.get(runId)?.name, ...ancestors(chains.get(runId)?.parent)] : [];
    const starts: { runName?: string; parentRunId?: string; tags?: string[] }[] = [];
    const handler = BaseCallbackHandler.fromMethods({
      handleChainStart(_chain, _inputs, runId, parentRunId, _tags, _metadata, _runType, runName) {
        chains.set(runId, { name: runName, parent: parentRunId });
      },
      handleChatModelStart(_llm, _messages, _runId, parentRunId, _extra, tags, _metadata, runName) {
        starts.push({ runName, parentRunId, tags });
      },
    });
    handler.awaitHandlers = true;
    await tool.invoke(ask(TOPIC), { callbacks: [handler] });
    // The plan is a structured-output run (model call, then the parser) named for its step; the writing call is
    // the model's own run.
    expect(starts).toHaveLength(2);
    expect(ancestors(starts[0].parentRunId)).toContain("write_report:plan");
    expect(starts[1].runName).toBe("write_report:write");
    for (const start of starts) {
      expect(start.parentRunId).toEqual(expect.any(String));
      expect(start.tags).toEqual(expect.arrayContaining(["write_report", "nostream"]));
    }
  });

  it("plans through the model's structured output: the plan_queries tool, bound to the planning call only", async () => {
    const { model, searcher, tool } = setup([planned([...QUERIES, "Timestamp server", "  "]), REPORT]);
    await tool.invoke(ask(TOPIC));
    expect(model.calls.map((c) => c.tools)).toEqual([[PLAN_TOOL], []]);
    // Repeats (in any case) and blanks from the tool's arguments are dropped, as from prose.
    expect(searcher.queries).toEqual(QUERIES);
  });

  it("reads the queries from the text when the model answers in prose instead of calling the tool", async () => {
    const { searcher, tool } = setup([`Here you are:\n${JSON.stringify(QUERIES)}`, REPORT]);
    await tool.invoke(ask(TOPIC));
    expect(searcher.queries).toEqual(QUERIES);
  });

  it("reads the queries from the text when the tool's arguments miss its schema", async () => {
    const wrong = new AIMessage({
      content: JSON.stringify(QUERIES.slice(0, 2)),
      tool_calls: [{ id: "plan-1", name: PLAN_TOOL, args: { query: QUERIES[0] } }],
    });
    const { searcher, tool } = setup([wrong, REPORT]);
    await tool.invoke(ask(TOPIC));
    expect(searcher.queries).toEqual(QUERIES.slice(0, 2));
  });

  it.each([
    [
      "a fenced JSON array after prose",
      'Sure.\n```json\n["proof-of-work", "timestamp server"]\n```',
      ["proof-of-work", "timestamp server"],
    ],
    [
      "a numbered list under a heading line",
      'Queries:\n1. proof-of-work\n2) "timestamp server"\n3. Proof-of-work',
      ["proof-of-work", "timestamp server"],
    ],
    [
      "a bullet list",
      "- incentive for nodes\n* reclaiming disk space\n",
      ["incentive for nodes", "reclaiming disk space"],
    ],
    [
      "objects with a query field",
      '[{"query": "merkle tree"}, {"query": "privacy"}]',
      ["merkle tree", "privacy"],
    ],
    ["more than five queries", JSON.stringify(["a", "b", "c", "d", "e", "f"]), ["a", "b", "c", "d", "e"]],
    ["nothing usable", "   ", []],
  ])("reads the search queries from %s", (_form, reply, queries) => {
    expect(parseQueries(reply)).toEqual(queries);
  });

  it("searches for the topic itself when the model suggests no queries", async () => {
    const { model, searcher, tool } = setup(["", REPORT]);
    await tool.invoke(ask(TOPIC, { audience: "the board", length: "short" }));
    expect(searcher.queries).toEqual([TOPIC]);
    const writingPrompt = text(model.calls[1].messages[0]);
    expect(writingPrompt).toContain("<audience>\nthe board\n</audience>");
    expect(writingPrompt).toContain("Length: short");
  });

  it("asks once for a rewrite when a section is missing, and keeps the rewrite", async () => {
    const noRecommendations = REPORT.slice(0, REPORT.indexOf("## Recommendations"));
    const { model, reports, tool } = setup([planned(QUERIES), noRecommendations, REPORT]);
    const reply: ToolMessage = await tool.invoke(ask(TOPIC));
    expect(model.calls).toHaveLength(3);
    const [request, draft, fix] = model.calls[2].messages;
    expect(text(request)).toBe(text(model.calls[1].messages[0]));
    expect([request.type, draft.type, fix.type]).toEqual(["human", "ai", "human"]);
    expect(text(draft)).toBe(noRecommendations);
    expect(text(fix)).toContain('lacks the "## Recommendations" section');
    const report = reports.saved[0];
    expect(report.markdown).toContain("## Recommendations\n");
    expect(reply.content).not.toContain("Note:");
  });

  it("saves the rewrite as it is, and tells the agent, when it still lacks a section", async () => {
    const noRecommendations = REPORT.slice(0, REPORT.indexOf("## Recommendations"));
    const { model, reports, tool } = setup([planned(QUERIES), noRecommendations, noRecommendations]);
    const reply: ToolMessage = await tool.invoke(ask(TOPIC));
    expect(model.calls).toHaveLength(3);
    const { markdown } = reports.saved[0];
    expect([...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1])).toEqual([
      "Executive summary",
      "Findings",
      "Sources",
    ]);
    expect(reply.content).toContain('Note: the report lacks the "## Recommendations" section.');
  });

  it("titles a report after its topic when the model gives it no title", async () => {
    const untitled = `\`\`\`markdown\n${REPORT.slice(REPORT.indexOf("## Executive summary"))}\`\`\``;
    const { reports, tool } = setup([planned(QUERIES), untitled]);
    await tool.invoke(ask(TOPIC));
    const report = reports.saved[0];
    expect(report.title).toBe(TOPIC);
    expect(report.markdown.startsWith(`# ${TOPIC}\n\n## Executive summary\n`)).toBe(true);
    expect(report.markdown).not.toContain("```");
  });

  it("writes no report, and makes no writing call, when nothing in the knowledge base matches", async () => {
    const empty = new HybridSearcher({ store: new LocalVectorStore(new LocalHashEmbeddings()) });
    const { model, searcher, reports, tool } = setup([planned(QUERIES), REPORT], { searcher: empty });
    const reply: ToolMessage = await tool.invoke(ask(TOPIC));
    expect(searcher.queries).toEqual(QUERIES);
    expect(model.calls).toHaveLength(1);
    expect(reports.saved).toEqual([]);
    expect(reply.content).toContain("no report was written");
    expect(reply.artifact).toEqual({
      reportId: null,
      url: null,
      title: null,
      sources: [],
      summary: reply.content,
    });
  });

  it("stops when the run is aborted during the research: no writing call, no report", async () => {
    const controller = new AbortController();
    const model = new ScriptedModel([planned(QUERIES), REPORT]);
    const reports = new RecordingReportStore();
    const aborting = new RecordingSearcher(searcher, () => controller.abort());
    const tool = createWriteReportTool({ searcher: aborting, model, reports, prompts });
    await expect(tool.invoke(ask(TOPIC), { signal: controller.signal })).rejects.toThrow(/abort/i);
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0].signal?.aborted).toBe(true); // the model call got the run's signal
    expect(reports.saved).toEqual([]);
  });

  it("refuses a prompt without the placeholders the tool fills in", () => {
    const bad = parsePrompt("Write about {topic} for {audience}: {notes}", "bad.md", "advisor");
    expect(() =>
      createWriteReportTool({
        searcher,
        model: new ScriptedModel([]),
        reports: new MemoryReportStore(),
        prompts: { ...prompts, report: bad },
      }),
    ).toThrow(/missing \{length\} \{context\}; unknown \{notes\}/);
  });

  it("rejects an empty or overlong topic and an unknown length before any work", async () => {
    const { model, tool } = setup([planned(QUERIES), REPORT]);
    await expect(tool.invoke(ask(""))).rejects.toThrow();
    await expect(tool.invoke(ask("x".repeat(501)))).rejects.toThrow();
    await expect(tool.invoke(ask(TOPIC, { length: "epic" }))).rejects.toThrow();
    expect(model.calls).toHaveLength(0);
  });
});
