// Turns zod issues into one line each, "field.path: expected …, got …", for the config files people edit by
// hand (chains/*.yaml, loaders/*.yaml): the error names the file, the field and what was expected.
import path from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod/v4";

/** One line per problem: "field.path: expected …, got …". */
export function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = issue.path.length ? issue.path.map(String).join(".") : "(top level)";
  // A custom (cross-field) issue's input is the whole config: not worth echoing.
  const got =
    issue.code !== "custom" && "input" in issue && issue.input !== undefined
      ? `, got ${show(issue.input)}`
      : "";
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map(
        (key) => `${issue.path.length ? `${at}.` : ""}${key}: unknown field (check its spelling)`,
      );
    case "invalid_value":
      return [`${at}: expected one of ${issue.values.map((v) => show(v)).join(", ")}${got}`];
    case "invalid_type":
      if (!("input" in issue) || issue.input === undefined) return [`${at}: required (${expected(issue)})`];
      return [`${at}: ${expected(issue)}${got}`];
    default:
      return [`${at}: ${issue.message}${got}`];
  }
}

function expected(issue: z.core.$ZodIssueInvalidType): string {
  if (issue.message.startsWith("expected")) return issue.message;
  const kinds: Record<string, string> = {
    object: "a mapping",
    array: "a list",
    string: "text",
    number: "a number",
  };
  return `expected ${kinds[issue.expected] ?? issue.expected}`;
}

export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Relative to the working directory when inside it ("chains/qa.yaml"), else absolute. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/**
 * A config file's YAML; a syntax error becomes `fail("line L, column C: …")` with its first line only.
 * @example
 * const data = parseConfigYaml(text, (problem) => { throw new RecipeError(shown, [problem]); });
 */
export function parseConfigYaml(text: string, fail: (problem: string) => never): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const at = error.linePos?.[0];
    return fail(`${at ? `line ${at.line}, column ${at.col}: ` : ""}${error.message.split("\n")[0]}`);
  }
}
