// Labels at ingestion: offline by the labels' keywords, by a chat model with structured output, and in the
// pipeline, where the label lands in every chunk's metadata (the caller's own value winning) and a filter
// selects by it; bad `classify` values are refused naming the field.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { PromptTemplate } from "@langchain/core/prompts";
import { fakeModel } from "@langchain/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineRecipe, loadRecipe, RecipeError } from "../../src/ingest/recipe.ts";
import { recipeClassifier } from "../../src/ingest/transform/classify/classifier.ts";
import { classifyByKeywords } from "../../src/ingest/transform/classify/rules.ts";
import { defaultTenant, tempDataDir, useRecipeServices } from "../helpers/services.ts";

const LABELS = [
  { name: "policy", keywords: ["policy", "must", "shall"] },
  { name: "report", keywords: ["report", "findings", "quarter"] },
];

describe("classifyByKeywords", () => {
  it("picks the label whose keywords occur most, as whole words in any case; none when nothing matches", () => {
    expect(classifyByKeywords("Employees MUST file expenses. This policy shall apply.", LABELS)).toBe(
      "policy",
    );
    expect(classifyByKeywords("Findings of the quarter: the report shows growth.", LABELS)).toBe("report");
    // "musty" and "reporting" are not the keywords.
    expect(classifyByKeywords("A musty room; reporting lines.", LABELS)).toBeUndefined();
    // A tie goes to the label listed first.
    expect(classifyByKeywords("policy report", LABELS)).toBe("policy");
    expect(classifyByKeywords("an annual   report", [{ name: "x", keywords: ["annual report"] }])).toBe("x");
  });
});

describe("the model classifier", () => {
  it("asks with the labels' descriptions and the summary, and takes the label the model chose", async () => {
    const recipe = defineRecipe({
      name: "c",
      classify: {
        enabled: true,
        engine: "model",
        labels: [
          { name: "policy", description: "Rules people must follow" },
          { name: "report", description: "Findings and figures" },
        ],
      },
    });
    const model = fakeModel().structuredResponse({ label: "report" });
    const prompt = PromptTemplate.fromTemplate("LABELS\n{labels}\nTEXT\n{text}");
    const classifier = await recipeClassifier(recipe, {
      chatModel: async () => model,
      prompt: async () => prompt,
    });
    expect(classifier?.engine).toBe("model");
    const label = await classifier?.classify(
      [new Document({ pageContent: "Q3 revenue rose." })],
      "A summary.",
    );
    expect(label).toBe("report");
  });
});

describe("labels in the pipeline", () => {
  const running = useRecipeServices(
    [
      "classify:",
      "  enabled: true",
      "  field: kind_of_doc",
      "  fallback: other",
      "  labels:",
      "    - { name: policy, keywords: [policy, must, shall] }",
      "    - { name: report, keywords: [report, findings, quarter] }",
      "    - { name: other }",
      "",
    ].join("\n"),
  );

  it("labels every chunk, keeps the caller's own label, and lets a filter select by it", async () => {
    const tenant = await defaultTenant(running.services);
    const blob = (source: string, text: string, metadata?: Record<string, unknown>) => ({
      name: `${source}.txt`,
      source,
      data: Buffer.from(text),
      metadata,
    });
    const report = await tenant.pipeline.ingest([
      blob("expenses", "Travel policy: employees must book economy. Receipts shall be kept."),
      blob("q3", "Quarter three report: the findings show revenue grew."),
      blob("lunch", "The cafeteria serves soup on Fridays."),
      blob("mislabelled", "This policy must be read.", { kind_of_doc: "report" }),
    ]);
    expect(report).toMatchObject({ added: 4, failed: [] });
    const labelOf = async (source: string) => {
      const [hit] = await tenant.index.similaritySearch(source, 20, { doc_id: source });
      return hit?.metadata.kind_of_doc;
    };
    expect(await labelOf("expenses")).toBe("policy");
    expect(await labelOf("q3")).toBe("report");
    expect(await labelOf("lunch")).toBe("other");
    expect(await labelOf("mislabelled")).toBe("report");
    const policies = await tenant.index.similaritySearch("employees", 20, { kind_of_doc: "policy" });
    expect(new Set(policies.map((d) => d.metadata.doc_id))).toEqual(new Set(["expenses"]));
  });
});

describe("classify in a recipe", () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDataDir());
  });
  afterAll(() => remove());

  const problems = async (name: string, yaml: string, settings?: { model: { provider: string } }) => {
    await writeFile(path.join(dir, `${name}.yaml`), yaml);
    const error = await loadRecipe(dir, name, settings).catch((e) => e);
    expect(error).toBeInstanceOf(RecipeError);
    return (error as RecipeError).problems;
  };

  it("refuses bad values naming the field", async () => {
    expect(
      await problems(
        "c1",
        "classify:\n  enabled: true\n  field: source\n  fallback: misc\n  labels:\n    - { name: a, keywords: [x] }\n    - { name: a }\n",
      ),
    ).toEqual([
      expect.stringMatching(/^classify\.field: is a field Counsel sets itself/),
      'classify.labels.1.name: "a" is listed twice',
      "classify.fallback: expected one of the labels (a, a)",
    ]);
    expect(await problems("c2", "classify:\n  enabled: true\n  labels:\n    - { name: only }\n")).toEqual([
      "classify.labels: expected at least two labels to choose from",
    ]);
  });

  it("refuses a model engine without a model, and labels without keywords without a model, at start", async () => {
    const two = "  labels:\n    - { name: a }\n    - { name: b }\n";
    expect(
      await problems("c3", `classify:\n  enabled: true\n  engine: model\n${two}`, {
        model: { provider: "extractive" },
      }),
    ).toEqual([
      "classify.engine: model needs a model: set MODEL_PROVIDER to bedrock or openai (or use engine: auto)",
    ]);
    expect(
      await problems("c4", `classify:\n  enabled: true\n${two}`, { model: { provider: "extractive" } }),
    ).toEqual([
      "classify.labels: without a model (MODEL_PROVIDER), labels are chosen by their keywords, and none has any",
    ]);
    const recipe = await loadRecipe(dir, "c4", { model: { provider: "bedrock" } });
    expect(recipe.classify).toMatchObject({ enabled: true, engine: "auto", field: "category" });
  });
});
