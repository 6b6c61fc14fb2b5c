// Summaries at ingestion: the offline extractive summary (the most central sentences, in order), the chat
// model's map-reduce (one call for a short text; parts, then their summaries combined, for a long one), and the
// pipeline that stores the summary as the document's and indexes it as one more chunk, made from redacted text.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { PromptTemplate } from "@langchain/core/prompts";
import { fakeModel } from "@langchain/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSummaryPrompts } from "../../src/chains/prompts.ts";
import { loadRecipe, RecipeError } from "../../src/ingest/recipe.ts";
import { extractiveSummary } from "../../src/ingest/transform/summary/extractive.ts";
import { mapReduceSummary } from "../../src/ingest/transform/summary/map-reduce.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { defaultTenant, ROOT, tempDataDir, useRecipeServices } from "../helpers/services.ts";

const text = (messages: BaseMessage[]) => messages.map((m) => String(m.content)).join("\n");

describe("extractiveSummary", () => {
  const SENTENCES = [
    "The relief shipment reached the shelter on January 23.",
    "It carried water bottles, blankets and laptops for the shelter.",
    "My cousin likes to paint watercolours of lighthouses on weekends.",
    "The shelter stored the water bottles and blankets in the gym.",
    "Volunteers at the shelter unpacked the laptops and the blankets that evening.",
    "Parking downtown is expensive after six o'clock, they say.",
  ];

  it("keeps the sentences nearest the document's subject, in their order, and leaves the digressions", () => {
    const summary = extractiveSummary(SENTENCES.join(" "), 3);
    expect(summary).toBe([SENTENCES[1], SENTENCES[3], SENTENCES[4]].join(" "));
  });

  it("gives a short text whole, and skips headings and fragments", () => {
    expect(
      extractiveSummary("# Shelter report\n\nThe shelter received water bottles and blankets today.", 3),
    ).toBe("The shelter received water bottles and blankets today.");
    expect(extractiveSummary("", 3)).toBe("");
  });
});

describe("mapReduceSummary", () => {
  const mapPrompt = PromptTemplate.fromTemplate("SUMMARISE in {maxWords} words: {text}");
  const reducePrompt = PromptTemplate.fromTemplate("COMBINE in {maxWords} words: {summaries}");

  it("summarises a text that fits one call in one call", async () => {
    const seen: string[] = [];
    const model = fakeModel().respond((messages) => {
      seen.push(text(messages));
      return new AIMessage(" The memo lists a shipment. ");
    });
    const out = await mapReduceSummary("A memo about a shipment.", {
      model,
      mapPrompt,
      reducePrompt,
      pieceChars: 1000,
      maxWords: 50,
    });
    expect(out).toBe("The memo lists a shipment.");
    expect(seen).toEqual(["SUMMARISE in 50 words: A memo about a shipment."]);
  });

  it("summarises a long text part by part, then combines the parts' summaries in groups that fit", async () => {
    const paragraphs = Array.from({ length: 6 }, (_, i) => `Part ${i}: ${"word ".repeat(70).trim()}.`);
    const seen: string[] = [];
    let model = fakeModel();
    for (let i = 0; i < 12; i++) {
      model = model.respond((messages) => {
        const prompt = text(messages);
        seen.push(prompt);
        const part = prompt.match(/Part (\d)/g)?.join("+") ?? "?";
        return new AIMessage(prompt.startsWith("SUMMARISE") ? `S(${part}) ${"x".repeat(200)}` : `C(${part})`);
      });
    }
    const out = await mapReduceSummary(paragraphs.join("\n\n"), {
      model,
      mapPrompt,
      reducePrompt,
      pieceChars: 400,
      maxWords: 50,
      concurrency: 1,
    });
    const maps = seen.filter((p) => p.startsWith("SUMMARISE"));
    const reduces = seen.filter((p) => p.startsWith("COMBINE"));
    // Each part fits 400 characters alone: six map calls, each given one part.
    expect(maps.map((p) => p.match(/Part (\d)/g))).toEqual(paragraphs.map((_, i) => [`Part ${i}`]));
    // Six summaries of ~210 characters: combined in pairs (what fits 400), then the three results at once.
    expect(reduces).toHaveLength(4);
    expect(out).toMatch(/^C\(/);
    for (let i = 0; i < 6; i++) expect(out).toContain(`Part ${i}`);
  });
});

describe("summaries in the pipeline", () => {
  const running = useRecipeServices("summarize:\n  enabled: true\nredact:\n  pii: true\n");

  it("stores the summary as the document's, indexes it as its last chunk, from the redacted text", async () => {
    const tenant = await defaultTenant(running.services);
    const body =
      "The shelter received 20,000 bottles of water and 10,000 blankets on January 23.\n\n" +
      "Questions about the shelter delivery go to logistics@example.org at the shelter office.\n\n" +
      "Weather was fine.\n\n- Trucks: 3\n- Hours: 15\n- Drivers: 4\n- Depot: north\n- Shift: night";
    const report = await tenant.pipeline.ingest([
      { name: "memo.txt", source: "memo", data: Buffer.from(body) },
    ]);
    expect(report).toMatchObject({ added: 1, failed: [] });
    const detail = await tenant.documents.get("memo");
    // Three sentences at most, of five words or more: the two first; from the redacted text.
    expect(detail?.document.summary).toBe(
      "The shelter received 20,000 bottles of water and 10,000 blankets on January 23. " +
        "Questions about the shelter delivery go to [EMAIL] at the shelter office.",
    );
    expect(detail?.chunks.at(-1)?.text).toBe(detail?.document.summary);
    const [hit] = await tenant.index.similaritySearch("shelter delivery questions office", 5);
    expect(hit).toBeDefined();
    const summaries = (await tenant.index.similaritySearch("shelter delivery", 10)).filter(
      (d) => d.metadata.kind === "summary",
    );
    expect(summaries).toHaveLength(1);
    expect(summaries[0].metadata).toMatchObject({ doc_id: "memo", kind: "summary", type: "text" });

    // Unchanged: skipped, summary and all.
    const again = await tenant.pipeline.ingest([
      { name: "memo.txt", source: "memo", data: Buffer.from(body) },
    ]);
    expect(again).toMatchObject({ added: 0, updated: 0, skipped: 1 });
  });
});

describe("summarize in a recipe", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDataDir());
  });
  afterAll(() => remove());

  it("refuses engine: model without a model at start, naming the field, and takes it with one", async () => {
    await writeFile(path.join(dir, "m.yaml"), "summarize:\n  enabled: true\n  engine: model\n");
    const error = await loadRecipe(dir, "m", { model: { provider: "extractive" } }).catch((e) => e);
    expect(error).toBeInstanceOf(RecipeError);
    expect(error.problems).toEqual([
      "summarize.engine: model needs a model: set MODEL_PROVIDER to bedrock or openai (or use engine: auto)",
    ]);
    expect((await loadRecipe(dir, "m", { model: { provider: "bedrock" } })).summarize).toMatchObject({
      enabled: true,
      engine: "model",
    });
  });

  it("refuses bad values naming the field", async () => {
    await writeFile(path.join(dir, "b.yaml"), "summarize:\n  engine: gpt\n  sentences: 0\n  speed: 3\n");
    const error = await loadRecipe(dir, "b").catch((e) => e);
    expect(error.problems).toEqual([
      expect.stringMatching(/^summarize\.engine: expected one of "auto", "extractive", "model", got "gpt"/),
      "summarize.sentences: expected a whole number between 1 and 20, got 0",
      "summarize.speed: unknown field (check its spelling)",
    ]);
  });

  it("ships its prompts with the placeholders they need", async () => {
    const { map, reduce } = await loadSummaryPrompts(path.join(ROOT, "prompts"));
    expect([...map.inputVariables].sort()).toEqual(["maxWords", "text"]);
    expect([...reduce.inputVariables].sort()).toEqual(["maxWords", "summaries"]);
  });
});

describe("summaries by the service's model on Bedrock", () => {
  const bedrock = useBedrockEmulator();
  const running = useRecipeServices("summarize:\n  enabled: true\n  engine: model\n", {
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: "us.amazon.nova-micro-v1:0",
  });

  it("asks the model through Converse with the summary prompt, meters it, and asks once for the same text", async () => {
    const tenant = await defaultTenant(running.services);
    const body =
      "The shelter received 20,000 bottles of water and 10,000 blankets on January 23. " +
      "The blankets were stored in the gym and the water in the kitchen, as the staff had planned.";
    const blob = { name: "memo.txt", source: "memo", data: Buffer.from(body) };
    expect(await tenant.pipeline.ingest([blob])).toMatchObject({ added: 1, failed: [] });
    // The emulator replays its recorded Converse reply, whatever it is asked.
    const recorded =
      "Hello! How can I assist you today? Whether you have questions, need information, or just want to chat, I'm here to help.";
    expect((await tenant.documents.get("memo"))?.document.summary).toBe(recorded);
    const calls = bedrock.requests.filter((r) => r.operation === "converse");
    expect(calls).toHaveLength(1);
    expect(JSON.stringify(calls[0].body)).toContain(`<document>\\n${body}`);
    expect(running.services.usage?.()).toMatchObject({
      "us.amazon.nova-micro-v1:0": { requests: 1, inputTokens: 7, outputTokens: 30 },
    });

    // The same text again, under another source: the summary comes from the LLM cache.
    await tenant.pipeline.ingest([{ ...blob, source: "memo-copy" }]);
    expect((await tenant.documents.get("memo-copy"))?.document.summary).toBe(recorded);
    expect(bedrock.requests.filter((r) => r.operation === "converse")).toHaveLength(1);
  });
});

describe("a short document's summary", () => {
  it("is not indexed when it is nearly the whole text, which it would only repeat", async () => {
    const { summaryIndexed } = await import("../../src/ingest/prepare.ts");
    const { Document } = await import("@langchain/core/documents");
    const doc = (text: string) => [new Document({ pageContent: text })];
    const sentence = "The shelter received bottles of water and blankets.";
    expect(summaryIndexed(sentence, doc(sentence))).toBe(false);
    expect(summaryIndexed(sentence, doc(`${sentence} ${"More words about other things. ".repeat(3)}`))).toBe(
      true,
    );
    expect(summaryIndexed("", doc(sentence))).toBe(false);
  });
});
