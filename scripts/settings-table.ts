// The settings table of docs/configuration.md, rendered from the zod settings schema (its JSON Schema for types
// and ranges, the zod defaults for defaults), so the documentation cannot drift from what loadSettings accepts.
import { z } from "zod/v4";
import { settingsSchema } from "../src/config/settings.ts";

/** The comments that fence the generated table in docs/configuration.md. */
export const TABLE_START =
  "<!-- settings table: generated from src/config/settings.ts by `npm run docs:config`; edit the schema, not this -->";
export const TABLE_END = "<!-- end of settings table -->";

/** The JSON Schema keywords the table shows. */
interface PropertySchema {
  description?: string;
  type?: string;
  enum?: string[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

// The settings' boolean words (`bool` in settings.ts): shown as one kind, not six values.
const BOOLEAN_WORDS = ["0", "1", "false", "no", "true", "yes"];

/** The Markdown table of every environment variable the settings schema reads, in the schema's order. */
export function renderSettingsTable(): string {
  // Input side: what an operator writes in the environment, before coercion and transforms.
  const json = z.toJSONSchema(settingsSchema, { io: "input", unrepresentable: "any" });
  const properties = (json.properties ?? {}) as Record<string, PropertySchema>;
  const rows = Object.entries(settingsSchema.shape).map(([name, field]) => {
    const property = properties[name] ?? {};
    return [
      `\`${name}\``,
      showDefault(defaultOf(field)),
      allowedValues(property),
      property.description ?? "",
    ].map(cell);
  });
  return [
    "| variable | default | allowed values | description |",
    "|---|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

/**
 * `doc` with the text between the table markers replaced by the table the schema gives now.
 * @example
 * await writeFile(file, withSettingsTable(await readFile(file, "utf8")));
 */
export function withSettingsTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(
      `the settings table markers are missing; put these two lines where it goes:\n${TABLE_START}\n${TABLE_END}`,
    );
  }
  return `${doc.slice(0, start + TABLE_START.length)}\n${renderSettingsTable()}\n${doc.slice(end)}`;
}

// JSON Schema drops a default that applies after a transform (the booleans'), so defaults come from zod itself.
function defaultOf(field: z.core.$ZodType): unknown {
  const def = field._zod.def;
  if (def.type === "default") return (def as z.core.$ZodDefaultDef).defaultValue;
  if (def.type === "pipe") return defaultOf((def as z.core.$ZodPipeDef).in);
  return undefined;
}

function showDefault(value: unknown): string {
  if (value === undefined) return "unset";
  if (value === "") return "empty";
  return `\`${String(value)}\``;
}

function allowedValues(p: PropertySchema): string {
  if (p.enum) {
    const values = [...p.enum].sort();
    if (values.join() === BOOLEAN_WORDS.join()) return "`true` or `false` (also `1`/`0`, `yes`/`no`)";
    return p.enum.map((v) => `\`${v}\``).join(", ");
  }
  if (p.type === "integer" || p.type === "number") return `${p.type}${range(p.minimum, p.maximum, "")}`;
  if (p.format === "uri") return "URL";
  if (p.pattern) return `string matching \`${p.pattern}\``;
  return `string${range(p.minLength, p.maxLength, " characters")}`;
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  // zod gives an unbounded integer the largest safe integer as its maximum: no bound worth printing.
  const upper = max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined;
  if (min !== undefined && upper !== undefined) return `, ${min}-${upper}${unit}`;
  if (upper !== undefined) return `, at most ${upper}${unit}`;
  // A non-empty string is implied: an empty variable counts as unset.
  if (min !== undefined && !(unit && min === 1)) return `, at least ${min}${unit}`;
  return "";
}

// A table cell holds one line and no unescaped column separator.
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}
