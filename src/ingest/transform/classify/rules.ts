// Offline classification by the keywords a recipe gives each label: the label whose keywords occur most often
// in the text (whole words or phrases, any case) wins; a tie goes to the label listed first; no match, no label.
// Rules a person wrote and can read, for knowledge bases whose kinds of documents name themselves ("policy",
// "invoice", "minutes").

export interface KeywordLabel {
  name: string;
  keywords: readonly string[];
}

export function classifyByKeywords(text: string, labels: readonly KeywordLabel[]): string | undefined {
  const lower = text.toLowerCase();
  let best: { name: string; hits: number } | undefined;
  for (const { name, keywords } of labels) {
    let hits = 0;
    for (const keyword of keywords) hits += occurrences(lower, keyword.toLowerCase());
    if (hits > 0 && (!best || hits > best.hits)) best = { name, hits };
  }
  return best?.name;
}

function occurrences(text: string, phrase: string): number {
  const escaped = phrase.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
  return text.match(new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "gu"))?.length ?? 0;
}
