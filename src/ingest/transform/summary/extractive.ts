// An offline summary: the document's most central sentences, in their order. Each sentence is a TF-IDF vector
// of its words; the most central are those closest to the document's centroid (the mean of the vectors), which
// is what a sentence that speaks for the whole text looks like, in one pass rather than TextRank's all-pairs
// graph, so that a long document costs linear time. Sentences come from Intl.Segmenter (ICU's rules: "Dr." and
// "3.5" do not end one). No library in the dependency tree summarises offline; this is a few dozen lines.

const WORD = /\p{L}[\p{L}\p{N}'’-]*|\p{N}+/gu;
// Words that say nothing about a sentence's subject; a short list, since IDF already weighs common words down.
const STOP = new Set(
  "a an and are as at be but by for from has have he her his i in is it its of on or our she that the their them they this to was we were which who will with you your not no".split(
    " ",
  ),
);
// A sentence must say something: fragments, headings and list bullets of a few words are not summaries.
const MIN_WORDS = 5;

export function extractiveSummary(text: string, sentences = 3): string {
  const all = splitSentences(text);
  const candidates = all.filter((s) => s.words.length >= MIN_WORDS);
  if (candidates.length <= sentences) return candidates.map((s) => s.text).join(" ");
  const documentFrequency = new Map<string, number>();
  for (const { words } of candidates) {
    for (const word of new Set(words)) documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1);
  }
  const n = candidates.length;
  const vectors = candidates.map(({ words }) => {
    const vector = new Map<string, number>();
    for (const word of words) vector.set(word, (vector.get(word) ?? 0) + 1);
    for (const [word, tf] of vector)
      vector.set(word, tf * Math.log(1 + n / (documentFrequency.get(word) ?? 1)));
    return normalised(vector);
  });
  const centroid = new Map<string, number>();
  for (const vector of vectors)
    for (const [word, w] of vector) centroid.set(word, (centroid.get(word) ?? 0) + w / n);
  const scored = vectors.map((vector, i) => ({ i, score: dot(vector, centroid) }));
  const chosen = scored
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, sentences)
    .map((s) => s.i)
    .sort((a, b) => a - b);
  return chosen.map((i) => candidates[i].text).join(" ");
}

function splitSentences(text: string): { text: string; words: string[] }[] {
  const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
  const out: { text: string; words: string[] }[] = [];
  for (const { segment } of segmenter.segment(text)) {
    // A line break without a full stop ends a heading or a list item: never part of the next sentence.
    for (const line of segment.split(/\n\s*\n|\n(?=\s*[-*•#\d])/)) {
      const clean = line.replace(/\s+/g, " ").trim();
      if (!clean) continue;
      const words = (clean.toLowerCase().match(WORD) ?? []).filter((w) => !STOP.has(w));
      out.push({ text: clean, words });
    }
  }
  return out;
}

function normalised(vector: Map<string, number>): Map<string, number> {
  let norm = 0;
  for (const w of vector.values()) norm += w * w;
  norm = Math.sqrt(norm) || 1;
  for (const [word, w] of vector) vector.set(word, w / norm);
  return vector;
}

function dot(a: Map<string, number>, b: Map<string, number>): number {
  let sum = 0;
  for (const [word, w] of a) sum += w * (b.get(word) ?? 0);
  return sum;
}
