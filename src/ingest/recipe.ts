// Ingestion recipes: one YAML file per recipe in loaders/ (sources, splitter, options per file type),
// validated when loaded so that a typo fails at start-up with the file, the field and what was expected.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod/v4";
import { describeIssue, displayPath, parseConfigYaml } from "../config/describe-issues.ts";

// Every field is documented, with its default, in loaders/default.yaml (a test keeps the two in step).
import { NAME } from "../contracts/names.ts";
import { RESERVED_METADATA } from "./transform/metadata.ts";
import {
  COMPREHEND_PII_LANGUAGES,
  COMPREHEND_PII_TYPES,
  type ComprehendPiiType,
} from "./transform/pii/comprehend.ts";
import { PII_TYPES, type PiiType } from "./transform/pii/pii-types.ts";
import type { PiiRedaction } from "./transform/pii/redact.ts";

/** Not content: code, styling, navigation, embedded objects and button labels. */
const HTML_EXCLUDE = "script style noscript template nav svg iframe object embed button".split(" ");

function int(min: number, max: number) {
  const expected = `expected a whole number between ${min} and ${max}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, {
    error: expected,
  });
}

const bool = () => z.boolean({ error: "expected true or false" });

const splitterSchema = z
  .strictObject({
    chunkSize: int(50, 100_000).default(1000),
    chunkOverlap: int(0, 50_000).default(150),
    // Embed each chunk with its document's title and section path (the stored text stays the chunk's own).
    contextHeaders: bool().default(false),
    // With contextHeaders and summarize: the first sentence of the document's summary in every chunk's header.
    contextSummary: bool().default(false),
  })
  .superRefine((s, ctx) => {
    if (s.chunkOverlap >= s.chunkSize)
      ctx.addIssue({
        code: "custom",
        path: ["chunkOverlap"],
        message: `expected less than chunkSize (${s.chunkSize}), got ${s.chunkOverlap}`,
      });
  });

const typesSchema = z.strictObject({
  pdf: z
    .strictObject({
      timeoutMs: int(100, 600_000).default(30_000),
      splitPages: bool().default(true),
    })
    .prefault({}),
  docx: z
    .strictObject({
      format: z.enum(["markdown", "raw"]).default("markdown"),
    })
    .prefault({}),
  html: z
    .strictObject({
      exclude: z
        .array(z.string({ error: "expected a CSS selector" }).min(1), {
          error: "expected a list of CSS selectors",
        })
        .default(() => [...HTML_EXCLUDE]),
    })
    .prefault({}),
  csv: z
    .strictObject({
      rowsAsDocuments: bool().default(true),
      separator: z
        .string({ error: "expected one character" })
        .length(1, { error: "expected one character" })
        .optional(),
    })
    .prefault({}),
  json: z
    .strictObject({
      mode: z.enum(["strings", "pretty"]).default("strings"),
      pointers: z
        .array(z.string().regex(/^\//, { error: 'expected a JSON pointer such as "/items"' }), {
          error: "expected a list of JSON pointers",
        })
        .default(() => []),
    })
    .prefault({}),
});

const TEXTRACT_FEATURES = ["LAYOUT", "TABLES", "FORMS"] as const;

// Textract would also find (and bill) signatures, but the text made from its blocks keeps none of them.
const textractFeature = z
  .string({ error: `expected one of ${TEXTRACT_FEATURES.join(", ")}` })
  .refine((feature) => feature !== "SIGNATURES", {
    error: "SIGNATURES is not available: detected signatures are not kept in the text",
    abort: true,
  })
  .pipe(z.enum(TEXTRACT_FEATURES));

const piiSchema = z
  .strictObject(
    {
      engine: z.enum(["offline", "comprehend"]).default("offline"),
      // Checked against the engine's own names below: offline email, phone…; Comprehend NAME, EMAIL….
      types: z
        .array(z.string({ error: "expected a type name" }), { error: "expected a list of types" })
        .min(1, { error: "expected at least one type (or pii: false)" })
        .optional(),
      strategy: z.enum(["mask", "hash"]).default("mask"),
      language: z.enum(COMPREHEND_PII_LANGUAGES).optional(),
      minScore: z
        .number({ error: "expected a number from 0 to 1" })
        .min(0, { error: "expected a number from 0 to 1" })
        .max(1, { error: "expected a number from 0 to 1" })
        .optional(),
    },
    { error: "expected true, false or a mapping of engine, types and strategy" },
  )
  .superRefine((pii, ctx) => {
    const known: readonly string[] = pii.engine === "comprehend" ? COMPREHEND_PII_TYPES : PII_TYPES;
    pii.types?.forEach((type, i) => {
      if (known.includes(type)) return;
      ctx.addIssue({
        code: "custom",
        path: ["types", i],
        message: `"${type}" is not a type of the ${pii.engine} engine: expected one of ${known.join(", ")}`,
      });
    });
    if (pii.engine !== "comprehend") {
      for (const field of ["language", "minScore"] as const) {
        if (pii[field] === undefined) continue;
        ctx.addIssue({ code: "custom", path: [field], message: "only with engine: comprehend" });
      }
    }
  })
  .transform(
    (pii): PiiRedaction =>
      pii.engine === "comprehend"
        ? {
            engine: "comprehend",
            types: (pii.types as ComprehendPiiType[] | undefined) ?? [...COMPREHEND_PII_TYPES],
            strategy: pii.strategy,
            language: pii.language ?? "en",
            // Every finding, as Comprehend's own redaction jobs do: a value left in is worse than one masked.
            minScore: pii.minScore ?? 0,
          }
        : {
            engine: "offline",
            types: (pii.types as PiiType[] | undefined) ?? [...PII_TYPES],
            strategy: pii.strategy,
          },
  );

const recipeFields = z.strictObject({
  name: z.string({ error: "expected a recipe name" }).regex(NAME, {
    error: "expected a recipe name (a-z, 0-9, - and _)",
  }),
  description: z.string().optional(),
  sources: z
    .array(z.string({ error: "expected a path, folder, glob, s3:// or http(s):// URL" }).min(1), {
      error: "expected a list of paths, folders, globs, s3:// or http(s):// URLs",
    })
    .optional(),
  splitter: splitterSchema.prefault({}),
  types: typesSchema.prefault({}),
  textract: z
    .strictObject({
      // Omitted: TEXTRACT_ENABLED decides.
      enabled: bool().optional(),
      features: z
        .array(textractFeature, { error: "expected a list of LAYOUT, TABLES, FORMS" })
        .default(() => [...TEXTRACT_FEATURES]),
      keepHeadersFooters: bool().default(false),
      timeoutMs: int(1000, 3_600_000).default(900_000),
    })
    .prefault({}),
  summarize: z
    .strictObject({
      enabled: bool().default(false),
      // auto: the service's model (MODEL_PROVIDER bedrock or openai) when it has one, else extractive.
      engine: z.enum(["auto", "extractive", "model"]).default("auto"),
      sentences: int(1, 20).default(3),
      maxWords: int(20, 1000).default(150),
      pieceChars: int(1000, 400_000).default(24_000),
    })
    .prefault({}),
  classify: z
    .strictObject({
      enabled: bool().default(false),
      // auto: the service's model when it has one, else the labels' keywords.
      engine: z.enum(["auto", "keywords", "model"]).default("auto"),
      field: z
        .string({ error: "expected a metadata field name" })
        .regex(/^[a-z][a-z0-9_]{0,39}$/, { error: "expected a field name of a-z, 0-9 and _ (40 at most)" })
        .refine((field) => !RESERVED_METADATA.has(field), {
          error: `is a field Counsel sets itself (${[...RESERVED_METADATA].join(", ")})`,
        })
        .default("category"),
      labels: z
        .array(
          z.strictObject({
            name: z.string({ error: "expected a label" }).regex(/^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,59}$/u, {
              error: "expected a label of letters, digits, spaces, _ . - (60 at most)",
            }),
            description: z.string().optional(),
            keywords: z.array(z.string({ error: "expected a word or phrase" }).min(1)).default([]),
          }),
          { error: "expected a list of labels, each with a name" },
        )
        .default([]),
      // The label of a document no keyword matches (keywords), or that the model cannot place; none when omitted.
      fallback: z.string().optional(),
      // model: the most characters of a document's start it reads when the recipe does not summarise.
      maxChars: int(500, 100_000).default(8000),
    })
    .superRefine((c, ctx) => {
      if (!c.enabled) return;
      const names = c.labels.map((l) => l.name);
      if (names.length < 2)
        ctx.addIssue({
          code: "custom",
          path: ["labels"],
          message: "expected at least two labels to choose from",
        });
      names.forEach((name, i) => {
        if (names.indexOf(name) !== i)
          ctx.addIssue({ code: "custom", path: ["labels", i, "name"], message: `"${name}" is listed twice` });
      });
      if (c.fallback !== undefined && !names.includes(c.fallback))
        ctx.addIssue({
          code: "custom",
          path: ["fallback"],
          message: `expected one of the labels (${names.join(", ")})`,
        });
      if (c.engine === "keywords" && !c.labels.some((l) => l.keywords.length > 0))
        ctx.addIssue({
          code: "custom",
          path: ["labels"],
          message: "engine keywords needs keywords on the labels",
        });
    })
    .prefault({}),
  redact: z
    .strictObject({
      // true: the offline engine, every type, masked; false: nothing redacted.
      // (Not a union: the mapping's own problems, such as an unknown type, are then named field by field.)
      pii: z
        .preprocess((pii) => (pii === true ? {} : pii === false ? null : pii), piiSchema.nullable())
        .transform((pii): PiiRedaction | false => pii ?? false)
        .default(false),
    })
    .prefault({}),
});

const recipeSchema = recipeFields.superRefine((recipe, ctx) => {
  const { contextSummary, contextHeaders } = recipe.splitter;
  if (contextSummary && !(contextHeaders && recipe.summarize.enabled))
    ctx.addIssue({
      code: "custom",
      path: ["splitter", "contextSummary"],
      message:
        "needs splitter.contextHeaders: true and summarize.enabled: true (it puts the summary in the header)",
    });
});

export type Recipe = z.output<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;

/** A recipe file that cannot be used; names the file and every problem in it. */
export class RecipeError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join("\n"));
    this.name = "RecipeError";
  }
}

/** Settings a recipe may need: refused at load when it asks for something they do not give. */
export interface RecipeSettings {
  piiHashKey?: string;
  /** The service's model: `summarize.engine: model` needs bedrock or openai. */
  model?: { provider: string };
}

/** Reads and validates `<dir>/<name>.yaml` (or .yml). */
export async function loadRecipe(dir: string, name: string, settings?: RecipeSettings): Promise<Recipe> {
  if (!NAME.test(name)) {
    throw new RecipeError(displayPath(dir), [`recipe "${name}": expected a name of a-z, 0-9, - and _`]);
  }
  for (const ext of [".yaml", ".yml"]) {
    const file = path.join(dir, `${name}${ext}`);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new RecipeError(displayPath(file), [`cannot read it (${(error as Error).message})`]);
    }
    const recipe = parseRecipe(text, file);
    if (settings) checkSettings(recipe, displayPath(file), settings);
    return recipe;
  }
  throw new RecipeError(displayPath(path.join(dir, `${name}.yaml`)), [
    `no such recipe: expected the file ${name}.yaml in ${displayPath(dir)}`,
  ]);
}

/** Validates a recipe file's text; `file` names it in errors, and its base name is the default recipe name. */
export function parseRecipe(text: string, file: string): Recipe {
  const shown = displayPath(file);
  const data = parseConfigYaml(text, (problem) => {
    throw new RecipeError(shown, [problem]);
  });
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new RecipeError(shown, [
      "expected a mapping of fields (name, sources, splitter, types, textract, summarize, classify, redact)",
    ]);
  }
  const base = path.basename(file).replace(/\.ya?ml$/, "");
  const recipe = validate({ name: base, ...data }, shown);
  if (recipe.name !== base) {
    throw new RecipeError(shown, [
      `name: expected "${base}" (the file name, so that RECIPE=${base} finds it), got "${recipe.name}"`,
    ]);
  }
  return recipe;
}

function checkSettings(recipe: Recipe, shown: string, settings: RecipeSettings): void {
  const { summarize, classify } = recipe;
  const hasModel = ["bedrock", "openai"].includes(settings.model?.provider ?? "");
  if (classify.enabled && classify.engine === "model" && !hasModel) {
    throw new RecipeError(shown, [
      "classify.engine: model needs a model: set MODEL_PROVIDER to bedrock or openai (or use engine: auto)",
    ]);
  }
  if (
    classify.enabled &&
    classify.engine === "auto" &&
    !hasModel &&
    !classify.labels.some((l) => l.keywords.length)
  ) {
    throw new RecipeError(shown, [
      "classify.labels: without a model (MODEL_PROVIDER), labels are chosen by their keywords, and none has any",
    ]);
  }
  if (
    summarize.enabled &&
    summarize.engine === "model" &&
    !["bedrock", "openai"].includes(settings.model?.provider ?? "")
  ) {
    throw new RecipeError(shown, [
      "summarize.engine: model needs a model: set MODEL_PROVIDER to bedrock or openai (or use engine: auto)",
    ]);
  }
  if (recipe.redact.pii && recipe.redact.pii.strategy === "hash" && !settings.piiHashKey) {
    throw new RecipeError(shown, [
      "redact.pii.strategy: hash needs a key: set PII_HASH_KEY (or use strategy: mask)",
    ]);
  }
}

/** Validates a recipe given as an object (tests, code); every omitted field takes its default. */
export function defineRecipe(input: RecipeInput): Recipe {
  return validate(input, "(recipe)");
}

function validate(input: unknown, shown: string): Recipe {
  const parsed = recipeSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new RecipeError(shown, parsed.error.issues.flatMap(describeIssue));
  return parsed.data;
}

/**
 * What in a recipe changes the chunks it makes, hashed (16 hex digits): every setting but its name, its
 * description and its sources. Equal fingerprints chunk the same bytes alike, so a document (or an S3 object)
 * recorded under the same one may be skipped unread.
 */
export function recipeFingerprint(recipe: Recipe): string {
  const { name: _name, description: _description, sources: _sources, ...settings } = recipe;
  // The schema gives its output's fields in one order, so the same settings always serialise alike.
  return createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 16);
}
