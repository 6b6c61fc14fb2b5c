// Text analysis shared by the lexical index, the local embedder and the extractive answerer:
// one tokenizer, so that a question and a chunk are compared on the same terms.
import { stemmer } from "stemmer";

// A short English stop list: function words that carry no topic.
const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both " +
    "but by can could did do does doing down during each few for from further had has have having he her here hers " +
    "herself him himself his how i if in into is it its itself just me more most my myself no nor not of off on once " +
    "only or other our ours ourselves out over own same she should so some such than that the their theirs them " +
    "themselves then there these they this those through to too under until up very was we were what when where " +
    "which while who whom why will with would you your yours yourself yourselves"
  ).split(" "),
);

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

/** Lower-cased word tokens, in order, without stop words or stemming. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/['’]s$/, ""));
}

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** Index terms: words minus stop words, stemmed (Porter). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    if (STOP_WORDS.has(w)) continue;
    out.push(/^\p{N}+$/u.test(w) ? w : stemmer(w));
  }
  return out;
}
