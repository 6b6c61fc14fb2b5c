// A document's whole text from its loaded parts (pages, rows): what a summary or a label is made from.

/** The parts' texts, trimmed, empty ones left out, separated by blank lines. */
export function documentText(docs: { pageContent: string }[]): string {
  return docs
    .map((d) => d.pageContent.trim())
    .filter(Boolean)
    .join("\n\n");
}
