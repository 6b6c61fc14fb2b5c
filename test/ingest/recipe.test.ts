// Recipes: the shipped default documents the real defaults, and a broken recipe names its file, the field
// and what was expected.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineRecipe, loadRecipe, RecipeError } from "../../src/ingest/recipe.ts";

const LOADERS = path.resolve(import.meta.dirname, "../../loaders");

describe("loadRecipe", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-recipe-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function problems(name: string, yaml: string): Promise<string[]> {
    await writeFile(path.join(dir, `${name}.yaml`), yaml);
    const error = await loadRecipe(dir, name).catch((e) => e);
    expect(error).toBeInstanceOf(RecipeError);
    expect(error.file).toBe(path.join(dir, `${name}.yaml`));
    return error.problems;
  }

  it("loads loaders/default.yaml, whose values are the schema's defaults", async () => {
    const recipe = await loadRecipe(LOADERS, "default");
    expect(recipe.splitter).toEqual({
      chunkSize: 1000,
      chunkOverlap: 150,
      contextHeaders: false,
      contextSummary: false,
    });
    expect(recipe.types.pdf).toEqual({ timeoutMs: 30_000, splitPages: true });
    expect(recipe.types.csv.rowsAsDocuments).toBe(true);
    expect(recipe).toEqual(defineRecipe({ name: "default", description: recipe.description }));
  });

  it("fills every omitted field with its default, and takes the name from the file", async () => {
    await writeFile(path.join(dir, "small.yaml"), "splitter:\n  chunkSize: 300\n  chunkOverlap: 30\n");
    const recipe = await loadRecipe(dir, "small");
    expect(recipe.name).toBe("small");
    expect(recipe.splitter).toEqual({
      chunkSize: 300,
      chunkOverlap: 30,
      contextHeaders: false,
      contextSummary: false,
    });
    expect(recipe.types.json).toEqual({ mode: "strings", pointers: [] });
  });

  it("names the field and the expectation for a wrong value, an unknown field and a bad enum", async () => {
    expect(
      await problems(
        "bad",
        'splitter:\n  chunkSize: "big"\ntypes:\n  pdf:\n    timeout: 5\n  docx:\n    format: html\n',
      ),
    ).toEqual([
      'splitter.chunkSize: expected a whole number between 50 and 100000, got "big"',
      "types.pdf.timeout: unknown field (check its spelling)",
      'types.docx.format: expected one of "markdown", "raw", got "html"',
    ]);
  });

  it("refuses an overlap as large as the chunk", async () => {
    expect(await problems("overlap", "splitter:\n  chunkSize: 100\n  chunkOverlap: 100\n")).toEqual([
      "splitter.chunkOverlap: expected less than chunkSize (100), got 100",
    ]);
  });

  it("reads redact.pii: true as every offline type masked, and the detailed form with its defaults", async () => {
    await writeFile(path.join(dir, "pii-on.yaml"), "redact:\n  pii: true\n");
    expect((await loadRecipe(dir, "pii-on")).redact.pii).toEqual({
      engine: "offline",
      types: [
        "email",
        "phone",
        "credit_card",
        "iban",
        "us_ssn",
        "ip_address",
        "aws_access_key",
        "aws_secret_key",
      ],
      strategy: "mask",
    });
    await writeFile(path.join(dir, "pii-some.yaml"), "redact:\n  pii:\n    types: [email, iban]\n");
    expect((await loadRecipe(dir, "pii-some")).redact.pii).toEqual({
      engine: "offline",
      types: ["email", "iban"],
      strategy: "mask",
    });
    expect(defineRecipe({ name: "x" }).redact.pii).toBe(false);
  });

  it("refuses an unknown PII type or strategy, naming the field", async () => {
    expect(await problems("pii-bad", "redact:\n  pii:\n    types: [email, name, NAME]\n")).toEqual([
      expect.stringMatching(
        /^redact\.pii\.types\.1: "name" is not a type of the offline engine: expected one of email, phone, .*aws_secret_key$/,
      ),
      expect.stringMatching(/^redact\.pii\.types\.2: "NAME" is not a type of the offline engine/),
    ]);
    expect(await problems("pii-strategy", "redact:\n  pii:\n    strategy: encrypt\n")).toEqual([
      'redact.pii.strategy: expected one of "mask", "hash", got "encrypt"',
    ]);
    expect(await problems("pii-yes", "redact:\n  pii: yes\n")).toEqual([
      'redact.pii: expected true, false or a mapping of engine, types and strategy, got "yes"',
    ]);
    expect(await problems("pii-none", "redact:\n  pii:\n    types: []\n")).toEqual([
      "redact.pii.types: expected at least one type (or pii: false), got []",
    ]);
  });

  it("reads the Comprehend engine with its own type names, language and minimum score", async () => {
    await writeFile(
      path.join(dir, "pii-aws.yaml"),
      "redact:\n  pii:\n    engine: comprehend\n    types: [NAME, ADDRESS]\n    minScore: 0.8\n",
    );
    expect((await loadRecipe(dir, "pii-aws")).redact.pii).toEqual({
      engine: "comprehend",
      types: ["NAME", "ADDRESS"],
      strategy: "mask",
      language: "en",
      minScore: 0.8,
    });
    await writeFile(path.join(dir, "pii-aws-all.yaml"), "redact:\n  pii:\n    engine: comprehend\n");
    expect((await loadRecipe(dir, "pii-aws-all")).redact.pii).toMatchObject({
      types: expect.arrayContaining(["NAME", "ADDRESS", "EMAIL", "SSN", "PHONE"]),
      minScore: 0,
    });
    expect(
      await problems(
        "pii-aws-bad",
        "redact:\n  pii:\n    engine: comprehend\n    types: [email]\n    language: fr\n    minScore: 2\n",
      ),
    ).toEqual([
      'redact.pii.language: expected one of "en", "es", got "fr"',
      "redact.pii.minScore: expected a number from 0 to 1, got 2",
    ]);
    expect(
      await problems("pii-aws-type", "redact:\n  pii:\n    engine: comprehend\n    types: [email]\n"),
    ).toEqual([
      expect.stringMatching(
        /^redact\.pii\.types\.0: "email" is not a type of the comprehend engine: expected one of ADDRESS, AGE, /,
      ),
    ]);
    expect(await problems("pii-engine", "redact:\n  pii:\n    engine: macie\n")).toEqual([
      'redact.pii.engine: expected one of "offline", "comprehend", got "macie"',
    ]);
    expect(await problems("pii-off-score", "redact:\n  pii:\n    minScore: 0.5\n")).toEqual([
      "redact.pii.minScore: only with engine: comprehend",
    ]);
  });

  it("refuses PII hashing without PII_HASH_KEY when settings are given, and takes it with one", async () => {
    await writeFile(path.join(dir, "pii-hash.yaml"), "redact:\n  pii:\n    strategy: hash\n");
    const error = await loadRecipe(dir, "pii-hash", {}).catch((e) => e);
    expect(error).toBeInstanceOf(RecipeError);
    expect(error.problems).toEqual([
      "redact.pii.strategy: hash needs a key: set PII_HASH_KEY (or use strategy: mask)",
    ]);
    const recipe = await loadRecipe(dir, "pii-hash", { piiHashKey: "a-key-of-sixteen-chars" });
    expect(recipe.redact.pii).toMatchObject({ strategy: "hash" });
  });

  it("refuses Textract's SIGNATURES, whose findings no text keeps", async () => {
    expect(await problems("signatures", "textract:\n  features: [LAYOUT, SIGNATURES]\n")).toEqual([
      "textract.features.1: SIGNATURES is not available: detected signatures are not kept in the text",
    ]);
    expect(await problems("queries", "textract:\n  features: [QUERIES]\n")).toEqual([
      'textract.features.0: expected one of "LAYOUT", "TABLES", "FORMS", got "QUERIES"',
    ]);
  });

  it("refuses a name that differs from the file name", async () => {
    const [problem] = await problems("mine", "name: yours\n");
    expect(problem).toContain('name: expected "mine"');
  });

  it("reports a YAML syntax error with its line", async () => {
    const [problem] = await problems("syntax", "splitter:\n  chunkSize: [1000\n");
    expect(problem).toMatch(/^line \d+, column \d+: /);
  });

  it("reports a missing recipe and refuses names that could leave the folder", async () => {
    await expect(loadRecipe(dir, "nothing")).rejects.toThrow(
      /no such recipe: expected the file nothing\.yaml/,
    );
    await expect(loadRecipe(dir, "../default")).rejects.toThrow(/expected a name of a-z, 0-9/);
  });
});
