// Text flattened to one line, as the report's topic, audience, title and search queries are.

/** The text with each run of whitespace (newlines included) made one space, trimmed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
