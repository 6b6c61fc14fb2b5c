// Planning: the model turns the report's topic into a few search queries (prompts/write-report-plan.md),
// through its structured output, else read from its prose; with none usable, the topic itself is searched.
import { HumanMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import { z } from "zod/v4";
import { formatMessage } from "../prompt-set.ts";
import type { Ask } from "./ask.ts";
import { oneLine } from "./one-line.ts";

const MAX_QUERIES = 5;
const MAX_QUERY_CHARS = 200;

/** The planning call's structured output: the tool the model is made to call. */
export const PLAN_TOOL = "plan_queries";
const Plan = z
  .object({
    queries: z
      .array(z.string())
      .describe(
        "3 to 5 search queries, each a few keywords or a short question, that together cover the topic",
      ),
  })
  .describe("The searches of the knowledge base that research the report's topic");

/** The queries to research `topic` with: the model's, else the topic. */
export async function planQueries(
  ask: Ask,
  prompt: PromptTemplate,
  topic: string,
  audience: string,
): Promise<string[]> {
  const request = new HumanMessage(await formatMessage(prompt, { topic, audience }));
  const reply = await ask.structured(Plan, PLAN_TOOL, [request], "plan");
  const queries = reply.parsed ? distinctQueries(reply.parsed.queries) : parseQueries(reply.text);
  return queries.length ? queries : [topic.slice(0, MAX_QUERY_CHARS)];
}

/**
 * Search queries from a model's prose, for a model that answered the planning prompt in text rather than
 * through the tool (one that cannot be forced to call it): a JSON array (bare, fenced, or inside prose), else
 * one per line with list markers and quotes stripped. At most five, without repeats; [] when it has none.
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

  return distinctQueries(candidates);
}

/** Candidates as queries: strings (or {query} objects) on one line, unquoted, cut to length; five distinct. */
function distinctQueries(candidates: unknown[]): string[] {
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
