import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import { prepareBlob } from "../../src/ingest/prepare.ts";
import { defineRecipe } from "../../src/ingest/recipe.ts";
import { contextualText, firstSentence } from "../../src/ingest/transform/context-headers.ts";
import { splitDocuments } from "../../src/ingest/transform/split.ts";
import { defaultTenant, useRecipeServices } from "../helpers/services.ts";

const HANDBOOK = [
  "# Travel policy",
  "",
  "Everyone books through the portal.",
  "",
  "## Expenses",
  "",
  "### Meals",
  "",
  "Up to 40 euros a day, with receipts.",
  "",
  "```sh",
  "# not a heading: a comment in a code block",
  "```",
  "",
  "## Hotels",
  "",
  "Three stars at most.",
].join("\n");

describe("section paths", () => {
  it("give each chunk the headings above it, by level, ignoring code blocks", async () => {
    const recipe = defineRecipe({
      name: "h",
      splitter: { chunkSize: 60, chunkOverlap: 0, contextHeaders: true },
    });
    const chunks = await splitDocuments(
      [new Document({ pageContent: HANDBOOK, metadata: { type: "markdown" } })],
      recipe,
    );
    const sections = Object.fromEntries(
      chunks.map((c) => [c.pageContent.split("\n").at(-1), c.metadata.section]),
    );
    expect(sections["Everyone books through the portal."]).toBe("Travel policy");
    expect(sections["Up to 40 euros a day, with receipts."]).toBe("Travel policy › Expenses › Meals");
    expect(sections["```"]).toBe("Travel policy › Expenses › Meals");
    expect(sections["Three stars at most."]).toBe("Travel policy › Hotels");
  });

  it("are not computed when the recipe does not ask", async () => {
    const chunks = await splitDocuments(
      [new Document({ pageContent: HANDBOOK, metadata: { type: "markdown" } })],
      defineRecipe({ name: "h", splitter: { chunkSize: 60, chunkOverlap: 0 } }),
    );
    expect(chunks.every((c) => c.metadata.section === undefined)).toBe(true);
  });

  it("add the summary's first sentence when the recipe asks, and refuse it without headers and a summary", async () => {
    expect(
      contextualText(new Document({ pageContent: "Body.", metadata: { name: "h.md", context: "A memo." } })),
    ).toBe("h.md\nA memo.\n\nBody.");
    expect(firstSentence("The memo lists a delivery. It was late.")).toBe("The memo lists a delivery.");
    expect(firstSentence(`${"word ".repeat(60)}end.`)).toHaveLength(200);
    expect(() => defineRecipe({ name: "x", splitter: { contextSummary: true } })).toThrow(
      /splitter\.contextSummary: needs splitter\.contextHeaders: true and summarize\.enabled: true/,
    );
  });

  it("make the text a chunk is embedded as: title › section, a blank line, the text", () => {
    const doc = (metadata: Record<string, unknown>) => new Document({ pageContent: "Body.", metadata });
    expect(contextualText(doc({ title: "Handbook", name: "h.md", section: "Travel › Meals" }))).toBe(
      "Handbook › Travel › Meals\n\nBody.",
    );
    expect(contextualText(doc({ name: "h.md" }))).toBe("h.md\n\nBody.");
    expect(contextualText(doc({}))).toBe("Body.");
  });
});

describe("the summary's line in the headers", () => {
  const running = useRecipeServices(
    "splitter:\n  chunkSize: 60\n  chunkOverlap: 0\n  contextHeaders: true\n  contextSummary: true\n" +
      "summarize:\n  enabled: true\n  sentences: 1\n",
  );

  it("gives every text chunk the summary's first sentence as context, and embeds it in the header", async () => {
    const tenant = await defaultTenant(running.services);
    const body =
      "Hotels for staff travelling abroad are booked through the travel portal by the office.\n\n" +
      "Three stars at most.\n\nBreakfast included.\n\nNo minibar.";
    await tenant.pipeline.ingest([{ name: "hotels.txt", source: "hotels", data: Buffer.from(body) }]);
    const hits = await tenant.index.similaritySearch("Three stars at most.", 10, { doc_id: "hotels" });
    const text = hits.find((h) => h.pageContent.startsWith("Three stars at most."));
    const summary = hits.find((h) => h.metadata.kind === "summary");
    expect(summary?.pageContent).toBe(
      "Hotels for staff travelling abroad are booked through the travel portal by the office.",
    );
    expect(text?.metadata.context).toBe(summary?.pageContent);
    expect(summary?.metadata.context).toBeUndefined();
    const [vector] = await running.services.stores.embeddings.embedDocuments([
      `hotels.txt\n${summary?.pageContent}\n\n${text?.pageContent}`,
    ]);
    const [[hit, score]] = await tenant.index.similaritySearchVectorWithScore(vector, 1);
    expect(hit.pageContent).toBe(text?.pageContent);
    // 1 within the store's int8 quantisation of the vector.
    expect(score).toBeCloseTo(1, 2);
  });
});

describe("contextual headers in the pipeline", () => {
  const running = useRecipeServices(
    "splitter:\n  chunkSize: 60\n  chunkOverlap: 0\n  contextHeaders: true\n",
  );

  it("stores each chunk's own text and section, and its vector from the header and the text", async () => {
    const tenant = await defaultTenant(running.services);
    const report = await tenant.pipeline.ingest([
      { name: "travel.md", source: "travel", data: Buffer.from(HANDBOOK) },
    ]);
    expect(report).toMatchObject({ added: 1, failed: [] });
    const chunks = (await tenant.documents.get("travel"))?.chunks ?? [];
    expect(chunks.map((c) => c.text)).toContain("## Hotels\n\nThree stars at most.");

    const text = "## Hotels\n\nThree stars at most.";
    const [stored] = await tenant.index.similaritySearch("Three stars at most", 1);
    expect(stored.pageContent).toBe(text);
    expect(stored.metadata.section).toBe("Travel policy › Hotels");
    // Its vector is the embedding of its contextual text, not of its text alone.
    const embeddings = running.services.stores.embeddings;
    const [withHeader] = await embeddings.embedDocuments([`travel.md › Travel policy › Hotels\n\n${text}`]);
    const [bare] = await embeddings.embedDocuments([text]);
    const [[byHeader, headerScore]] = await tenant.index.similaritySearchVectorWithScore(withHeader, 1);
    expect(byHeader.pageContent).toBe(text);
    expect(headerScore).toBeCloseTo(1, 2);
    const [[, bareScore]] = await tenant.index.similaritySearchVectorWithScore(bare, 1);
    expect(bareScore).toBeLessThan(0.99);
    expect(stored.metadata.header).toBe("travel.md › Travel policy › Hotels");
  });

  it("changes the chunks of a document without headings when headers are turned on, so index() embeds them again", async () => {
    const blob = { name: "plain.txt", source: "plain", data: Buffer.from("No headings here, only text.") };
    const [off] = await prepareBlob(blob, defineRecipe({ name: "plain" }));
    const [on] = await prepareBlob(blob, defineRecipe({ name: "plain", splitter: { contextHeaders: true } }));
    expect(on.pageContent).toBe(off.pageContent);
    expect(off.metadata.header).toBeUndefined();
    expect(on.metadata.header).toBe("plain.txt");
  });
});
