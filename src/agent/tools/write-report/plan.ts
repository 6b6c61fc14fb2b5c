// Planning: the model turns the report's topic into a few search queries (prompts/write-report-plan.md), read
// from its reply; with none usable, the topic itself is searched.
import { HumanMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import { formatMessage } from "../prompt-set.ts";
import type { Ask } from "./ask.ts";
import { oneLine } from "./one-line.ts";

const MAX_QUERIES = 5;
const MAX_QUERY_CHARS = 200;

/** The queries to research `topic` with: the model's, else the topic. */
export async function planQueries(
  ask: Ask,
  prompt: PromptTemplate,
  topic: string,
  audience: string,
): Promise<string[]> {
  const request = new HumanMessage(await formatMessage(prompt, { topic, audience }));
  const queries = parseQueries(await ask([request], "plan"));
  return queries.length ? queries : [topic.slice(0, MAX_QUERY_CHARS)];
}

/**
 * Search queries from the model's reply: a JSON array (bare, fenced, or inside prose), else one per line with
 * list markers and quotes stripped. At most five, without repeats; [] when the reply has none.
 *
 * Read from prose rather than through withStructuredOutput: ChatBedrockConverse forces its structured-output
 * tool only for the Claude and Mistral Large ids it knows, so a Nova model (the documented default) may
 * answer this prompt's "JSON array and nothing else" in text and fail the call; and the test models script
 * this reply as text (FakeListChatModel's structured output drops the call's runName, the fakeModel
 * builder's never reads its scripted replies). A reply that misses the format still yields queries here.
 */
export function parseQueries(reply: string): string[] {
  const text = reply.replace(/```[\w-]*/g, "").trim();
  let candidates: unknown[] | undefined;
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start >= 0 && end > start) {
    try {
      const parsed: unknown = JSON.parse(text.slice(start, end + 1));
      if (Array.isArray(parsed)) candidates = parsed;
    } catch {
      // Not JSON after all (e.g. "[draft] …" in a list): read it line by line below.
    }
  }
  candidates ??= text
    .split("\n")
    .map((line) => line.replace(/^\s*(?:[-*•+]|\d{1,2}[.)]|query\s*\d*\s*:)\s*/i, ""))
    // A line ending in a colon introduces the list ("Here are the queries:"); it is not one.
    .filter((line) => !/:\s*$/.test(line));

  const queries = new Map<string, string>();
  for (const candidate of candidates) {
    const value =
      typeof candidate === "string"
        ? candidate
        : typeof (candidate as { query?: unknown } | null)?.query === "string"
          ? (candidate as { query: string }).query
          : "";
    const query = oneLine(value)
      .replace(/^["'“‘]+|["'”’]+,?$|,$/g, "")
      .trim()
      .slice(0, MAX_QUERY_CHARS);
    if (query && !queries.has(query.toLowerCase())) queries.set(query.toLowerCase(), query);
  }
  return [...queries.values()].slice(0, MAX_QUERIES);
}
