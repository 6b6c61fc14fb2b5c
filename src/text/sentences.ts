// Sentence splitting for text as loaders produce it (PDF lines wrapped mid-sentence, DOCX paragraphs, Markdown,
// bullets): the extractive answerer quotes these sentences, the citation check and the offline reranker compare
// them with a question, and `sentenceSpans` finds them again in the text for highlighting.

// Words that end in a full stop without ending the sentence. "etc." is left out: it usually ends one.
const ABBREVIATIONS = new Set(
  (
    "mr mrs ms dr prof sr jr st mt messrs vs v cf al approx dept est esp fig figs eq eqs no nos vol vols p pp ch " +
    "sec secs art para ed eds inc ltd co corp bros gen gov sen rep rev hon capt col lt sgt cmdr adm seq jan feb " +
    "mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun ca ref refs min max dist"
  ).split(" "),
);

const BULLET = /^[•◦▪▫‣⁃●○■□·*\-–—]\s+/u;
// "1. ", "2) ", "a) ", "A.<tab>PURPOSE", "iv. ": a list item or a numbered heading starts a new unit.
const LIST_LABEL = /^(?:\d{1,3}|[A-Za-z]|[ivxlc]{2,5})[.)]\s+\S/;
const STANDALONE_LINE = /^(?:#{1,6}\s|\|.*\|$)/; // Markdown heading, table row
const LABEL_ONLY = /^\s*(?:\d{1,3}|[ivxlc]{2,5})$/i; // "1. Introduction" is one heading, not two sentences
const PAGE_MARKER = /^-- \d+ of \d+ --$/; // pdf-parse's page separator
const BOUNDARY = /([.!?…]+)(["'”’)\]]*)\s+(?=["“‘'([]?[\p{Lu}\p{N}])/gu;
const MAX_SENTENCE = 600;

/**
 * Splits text as loaders produce it (PDF lines wrapped mid-sentence, DOCX paragraphs, Markdown, bullets) into
 * sentences, keeping numbers (20,000, 3.5), abbreviations (U.S.C., e.g., Dr.) and initials inside sentences.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const unit of textUnits(text)) {
    for (const sentence of splitUnit(unit)) {
      if (sentence.length <= MAX_SENTENCE) out.push(sentence);
      else out.push(...sentence.split(/(?<=;)\s+/).map((s) => s.trim()));
    }
  }
  // A line of digits alone is a page number or a stray table cell, not something to quote.
  return out.filter((s) => /\p{L}/u.test(s));
}

export interface TextSpan {
  start: number;
  end: number;
}

/**
 * Where a text's sentences are, as {@link splitSentences} finds them, as character offsets into the text itself
 * (for highlighting a quote in the chunk it comes from). Each sentence is found again in the text with any run of
 * blanks matching any other (the splitter joins wrapped lines) and a line break allowed after a hyphen; one that
 * cannot be found (a bullet's mark removed mid-sentence) is left out.
 */
export function sentenceSpans(text: string): TextSpan[] {
  const spans: TextSpan[] = [];
  let from = 0;
  for (const sentence of splitSentences(text)) {
    const span = findSentence(text, sentence, from);
    if (!span) continue;
    spans.push(span);
    from = span.end;
  }
  return spans;
}

const BLANK = /\s/;

/**
 * The first place at or after `from` where `sentence` stands in `text`, blanks matching any run of blanks and a
 * hyphen allowed a line break after it. Matched character by character: a regular expression built for each
 * sentence cost ten times the splitting itself.
 */
export function findSentence(text: string, sentence: string, from = 0): TextSpan | undefined {
  // A match starts with the sentence's first word, up to a hyphen (after which the text may break the line).
  const head = sentence.slice(0, sentence.search(/\s|-|$/) + 1 || sentence.length).trimEnd();
  for (let start = text.indexOf(head, from); start >= 0; start = text.indexOf(head, start + 1)) {
    const end = matchAt(text, start, sentence);
    if (end >= 0) return { start, end };
  }
  return undefined;
}

/** Where `sentence` ends when it stands in `text` at `at`; -1 when it does not. */
function matchAt(text: string, at: number, sentence: string): number {
  let j = at;
  for (let i = 0; i < sentence.length; ) {
    const c = sentence[i];
    if (BLANK.test(c)) {
      if (j >= text.length || !BLANK.test(text[j])) return -1;
      while (j < text.length && BLANK.test(text[j])) j++;
      while (i < sentence.length && BLANK.test(sentence[i])) i++;
      continue;
    }
    if (text[j] !== c) return -1;
    i++;
    j++;
    // "non-reversible" joined from "non-" and "reversible" on two lines.
    if (c === "-" && i < sentence.length && !BLANK.test(sentence[i]))
      while (j < text.length && BLANK.test(text[j])) j++;
  }
  return j;
}

/** Joins wrapped lines back into paragraphs, list items and headings. */
function textUnits(text: string): string[] {
  const lines = text
    .replace(/\r\n?/g, "\n")
    .replace(/[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]/g, " ")
    .split("\n")
    .map((line) => line.replace(/ {2,}/g, " ").trim());
  // The usual width of a full line; a much shorter line followed by a capital is a heading, a date or a closing.
  const lengths = lines
    .filter(Boolean)
    .map((l) => l.length)
    .sort((a, b) => a - b);
  const width = lengths.length ? lengths[Math.floor(0.9 * (lengths.length - 1))] : 0;

  const units: string[] = [];
  let current = "";
  let previous = "";
  const flush = () => {
    if (current) units.push(current);
    current = "";
  };
  for (const line of lines) {
    if (!line || PAGE_MARKER.test(line)) {
      flush();
      continue;
    }
    const bullet = BULLET.exec(line);
    const standalone = STANDALONE_LINE.test(line);
    // A number or letter label starts a list item unless the line before stops mid-sentence ("on January\n23. A").
    const label = LIST_LABEL.test(line) && !/[\p{Ll},(\-–]$/u.test(previous);
    if (bullet || standalone || label || (current && endsUnit(previous, line, width))) flush();
    const body = bullet ? line.slice(bullet[0].length) : line;
    // A line ending in a hyphen is joined without a space; the hyphen stays, since in prose it is more often
    // part of a compound ("non-reversible") than a split word.
    if (!current) current = body;
    else current += /\p{L}-$/u.test(current) && /^\p{Ll}/u.test(body) ? body : ` ${body}`;
    previous = line;
    if (standalone) flush();
  }
  flush();
  return units;
}

function endsUnit(previous: string, next: string, width: number): boolean {
  if (/:$/.test(previous)) return true;
  const short = width >= 40 && previous.length < 0.6 * width;
  return short && !/[,(\-–]$/.test(previous) && /^["“(]?[\p{Lu}\p{N}]/u.test(next);
}

function splitUnit(unit: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const match of unit.matchAll(BOUNDARY)) {
    const end = (match.index ?? 0) + match[1].length + match[2].length;
    const before = unit.slice(start, match.index);
    if (match[1] === "." && (isAbbreviation(before) || LABEL_ONLY.test(before))) continue;
    out.push(unit.slice(start, end).trim());
    start = end;
  }
  out.push(unit.slice(start).trim());
  return out.filter(Boolean);
}

/** Whether the word before a full stop (at the end of `before`) is an abbreviation or an initial. */
function isAbbreviation(before: string): boolean {
  const token = (before.match(/\S+$/)?.[0] ?? "").replace(/^["“‘'([]+/, "");
  if (/^\p{Lu}$/u.test(token)) return true; // an initial: "J. Smith"
  if (/^(?:\p{L}\.)+\p{L}$/u.test(token)) return true; // "U.S.C", "e.g", "i.e"
  return ABBREVIATIONS.has(token.toLowerCase());
}
