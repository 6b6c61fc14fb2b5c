// Verified citations: every [n] in an answer is checked against source n. A sentence is supported by a source
// when one sentence of it, or two in a row, holds enough of the sentence's content terms, weighted by how rare
// they are among the sources (a shared name or figure counts for more than a common word). An unsupported
// citation is re-pointed to the source that supports the sentence best, or removed when none does; each kept
// citation carries the span that supports it (quote, with character offsets into the chunk) for a UI to
// highlight. Lexical, so offline, with no model call: a paraphrase that shares few words with its source is not
// recognised (it loses its citation rather than keeping a wrong one).
import type { CitationCounts, Quote } from "../contracts/citations.ts";
import type { ScoredDocument } from "../contracts/search.ts";
import { terms } from "../text/analysis.ts";
import { findSentence, sentenceSpans } from "../text/sentences.ts";

export type { CitationCounts, Quote };

export type CitationOutcome = "verified" | "repointed" | "removed" | "unchecked";

export interface CitationCheck {
  /** The answer's sentence, without its citation marks. */
  sentence: string;
  /** The source number the answer gave (1-based; may point at no source). */
  cited: number;
  /**
   * verified: source `cited` supports the sentence; repointed: it does not, another does and is cited instead;
   * removed: no source does (or `cited` points at none); unchecked: the sentence has no content words to check.
   */
  outcome: CitationOutcome;
  /** The source cited after the check; null when removed. */
  source: number | null;
  /** The share (0..1) of the sentence's weighted terms found in the quote. */
  support: number;
  quote?: Quote;
}

export interface CheckedSentence {
  /** The sentence as it is shown: its citation marks rewritten (re-pointed, removed). */
  text: string;
  checks: CitationCheck[];
}

// One [n], or a group such as [2, 5] or [2; 5]; with the blank before it, which goes when the mark does.
const CITATION_GROUP = /[ \t]*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]/g;
// A mark as it streams in: may still become one (OPEN), or is one (COMPLETE).
const OPEN_MARK = /^\[(?:\d{1,3}(?:\s*[,;]\s*(?:\d{1,3})?)*)?$/;
const COMPLETE_MARK = /^\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]$/;
// Between two sentences: after a full stop and the marks that follow it, or at a line break.
const SENTENCE_BREAK = /(?<=[.!?…]["'”’)\]]*(?:[ \t]*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*)\s+(?!\s*\[\d)|\n+/;

interface Window {
  quote: Quote;
  terms: Set<string>;
}

export class CitationVerifier {
  private readonly windows: Window[][];
  private readonly idf = new Map<string, number>();
  private readonly spanCount: number;

  constructor(
    readonly sources: readonly ScoredDocument[],
    readonly minSupport: number,
  ) {
    const documentFrequency = new Map<string, number>();
    let spanCount = 0;
    this.windows = sources.map(({ document }) => {
      const text = document.pageContent;
      const spans = sentenceSpans(text).map((span) => ({
        ...span,
        terms: new Set(terms(text.slice(span.start, span.end))),
      }));
      spanCount += spans.length;
      for (const span of spans)
        for (const t of span.terms) documentFrequency.set(t, (documentFrequency.get(t) ?? 0) + 1);
      const windows: Window[] = [];
      spans.forEach((span, i) => {
        windows.push({ quote: quoteOf(text, span.start, span.end), terms: span.terms });
        const next = spans[i + 1];
        if (next)
          windows.push({
            quote: quoteOf(text, span.start, next.end),
            terms: new Set([...span.terms, ...next.terms]),
          });
      });
      return windows;
    });
    this.spanCount = spanCount;
    for (const [t, df] of documentFrequency) this.idf.set(t, this.weight(df));
  }

  /** Checks one answer sentence's citations and rewrites its marks accordingly. */
  check(sentence: string): CheckedSentence {
    const cited = citedIn(sentence);
    if (cited.length === 0) return { text: sentence, checks: [] };
    const { kept, checks } = this.checkClaim(sentence.replace(CITATION_GROUP, "").trim(), cited);
    return { text: withMarks(sentence, kept), checks };
  }

  /**
   * Checks the sources `cited` for `claim`: the ones kept (verified, or re-pointed to), and each check. `also`:
   * sources the claim already cites (a mark before this one): never cited twice.
   */
  checkClaim(
    claim: string,
    cited: readonly number[],
    also: readonly number[] = [],
  ): { kept: number[]; checks: CitationCheck[] } {
    const claimTerms = [...new Set(terms(claim))];
    const checks: CitationCheck[] = [];
    const kept: number[] = [];
    const keep = (n: number) => {
      if (!kept.includes(n)) kept.push(n);
    };
    const exists = (n: number) => n >= 1 && n <= this.sources.length;
    if (claimTerms.length === 0) {
      for (const n of cited) {
        checks.push({
          sentence: claim,
          cited: n,
          outcome: exists(n) ? "unchecked" : "removed",
          source: exists(n) ? n : null,
          support: 0,
        });
        if (exists(n)) keep(n);
      }
      return { kept, checks };
    }
    const best = this.sources.map((_, i) => this.bestWindow(claimTerms, i));
    // The source that supports the claim best, if any supports it enough.
    let top = -1;
    best.forEach((b, i) => {
      if (b.support >= this.minSupport && (top < 0 || b.support > best[top].support)) top = i;
    });
    for (const n of cited) {
      const own = exists(n) ? best[n - 1] : undefined;
      if (own && own.support >= this.minSupport) {
        checks.push({
          sentence: claim,
          cited: n,
          outcome: "verified",
          source: n,
          support: own.support,
          quote: own.quote,
        });
        keep(n);
      } else if (top >= 0 && !cited.includes(top + 1) && !also.includes(top + 1)) {
        const to = best[top];
        checks.push({
          sentence: claim,
          cited: n,
          outcome: "repointed",
          source: top + 1,
          support: to.support,
          quote: to.quote,
        });
        keep(top + 1);
      } else {
        checks.push({
          sentence: claim,
          cited: n,
          outcome: "removed",
          source: null,
          support: own?.support ?? 0,
        });
      }
    }
    return { kept, checks };
  }

  /** The best window of source `i` for the claim: highest support, the shorter on a tie. */
  private bestWindow(claimTerms: string[], i: number): { support: number; quote?: Quote } {
    let total = 0;
    for (const t of claimTerms) total += this.idf.get(t) ?? this.weight(1);
    let best: { support: number; quote?: Quote } = { support: 0 };
    for (const window of this.windows[i]) {
      let found = 0;
      for (const t of claimTerms) if (window.terms.has(t)) found += this.idf.get(t) ?? 0;
      const support = total > 0 ? found / total : 0;
      const length = window.quote.end - window.quote.start;
      const tie = Math.abs(support - best.support) < 1e-9;
      if (support > best.support + 1e-9 || (tie && best.quote && length < best.quote.end - best.quote.start))
        best = { support, quote: window.quote };
    }
    return { ...best, support: round(best.support) };
  }

  /** BM25's idf over the sources' sentences; a term in none of them weighs as one found once. */
  private weight(df: number): number {
    const n = Math.max(this.spanCount, 1);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }
}

/** Adds up the checks of an answer. */
export function countChecks(checks: readonly CitationCheck[]): CitationCounts {
  const counts: CitationCounts = {
    citations: checks.length,
    verified: 0,
    repointed: 0,
    removed: 0,
    unchecked: 0,
  };
  for (const check of checks) counts[check.outcome]++;
  return counts;
}

/**
 * A streamed answer with its citation marks checked: text passes through as it comes; a mark is held until it
 * is complete, checked against the text before it (since the previous mark or sentence end; the previous
 * sentence when the mark follows its full stop), and let out rewritten. Blanks before a mark are held with it,
 * so that a removed mark leaves no blank behind. Each mark's checks go to `onChecks`.
 */
export async function* checkedStream(
  pieces: AsyncIterable<string> | Iterable<string>,
  verifier: CitationVerifier,
  onChecks: (checks: CitationCheck[]) => void,
): AsyncGenerator<string> {
  let mark = ""; // a mark being read: "[", "[1", "[1, 2"
  let blanks = ""; // blanks not yet let out
  let claim = ""; // text since the previous mark or sentence end
  let previous = ""; // the last claim with words: what a mark right after a full stop cites for
  let citedHere: number[] = []; // what the marks since the claim's last words kept
  for await (const piece of pieces) {
    let out = "";
    const text = (t: string) => {
      out += blanks + t;
      claim += blanks + t;
      blanks = "";
      if (t === "\n") endClaim();
    };
    const endClaim = () => {
      if (/[\p{L}\p{N}]/u.test(claim)) previous = claim;
      claim = "";
    };
    for (const c of piece) {
      if (mark) {
        mark += c;
        if (COMPLETE_MARK.test(mark)) {
          const cited = citedIn(mark);
          const fresh = /[\p{L}\p{N}]/u.test(claim);
          if (fresh) citedHere = [];
          const { kept, checks } = verifier.checkClaim((fresh ? claim : previous).trim(), cited, citedHere);
          onChecks(checks);
          const added = kept.filter((n) => !citedHere.includes(n));
          if (added.length) out += blanks + added.map((n) => `[${n}]`).join("");
          citedHere.push(...added);
          blanks = "";
          mark = "";
          if (fresh) previous = claim;
          claim = "";
        } else if (!OPEN_MARK.test(mark)) {
          // Not a mark after all ("[a]", "[1234"): its text goes out as text.
          const held = mark;
          mark = "";
          for (const d of held) text(d);
        }
      } else if (c === "[") mark = c;
      else if (c === " " || c === "\t") {
        if (/[.!?…]["'”’)\]]*$/.test(claim)) endClaim();
        blanks += c;
      } else text(c);
    }
    if (out) yield out;
  }
  const rest = blanks + mark;
  if (rest) yield rest;
}

/** How well an answer's citations hold up: the evaluation's citation precision and coverage. */
export interface CitationJudgement {
  /** Answer sentences with content words. */
  sentences: number;
  /** Of them, those with a citation whose source supports them. */
  covered: number;
  /** Citations that could be checked (not `unchecked`), and those whose own source supports their sentence. */
  citations: number;
  supported: number;
}

/**
 * Judges an answer as it stands (no rewriting): each sentence (with the marks that follow its full stop) is
 * checked against the sources it cites.
 */
export function judgeCitations(answer: string, verifier: CitationVerifier): CitationJudgement {
  const judgement: CitationJudgement = { sentences: 0, covered: 0, citations: 0, supported: 0 };
  for (const sentence of answer.split(SENTENCE_BREAK)) {
    const claim = sentence.replace(CITATION_GROUP, "").trim();
    if (!/[\p{L}\p{N}]/u.test(claim) || terms(claim).length === 0) continue;
    judgement.sentences++;
    const cited = citedIn(sentence);
    const checks = verifier.checkClaim(claim, cited).checks.filter((c) => c.outcome !== "unchecked");
    const supported = checks.filter((c) => c.outcome === "verified").length;
    judgement.citations += checks.length;
    judgement.supported += supported;
    if (supported > 0) judgement.covered++;
  }
  return judgement;
}

/**
 * The checks of an extractive answer, whose every sentence is its cited source's own text: the citation stands
 * (all of the sentence's terms are in it, support 1) without weighing it against the other sources; only the
 * sentence's place in the chunk is looked up, for its quote.
 */
export function quotedChecks(
  sentences: readonly { text: string; citation: number }[],
  sources: readonly ScoredDocument[],
): CitationCheck[] {
  return sentences.map(({ text, citation }) => {
    const chunk = sources[citation - 1]?.document.pageContent ?? "";
    const span = findSentence(chunk, text);
    return {
      sentence: text,
      cited: citation,
      outcome: "verified",
      source: citation,
      support: 1,
      ...(span ? { quote: quoteOf(chunk, span.start, span.end) } : {}),
    };
  });
}

/** Per source (1-based), the quote of its best-supported kept citation. */
export function quotesBySource(checks: readonly CitationCheck[]): Map<number, Quote> {
  const best = new Map<number, CitationCheck>();
  for (const check of checks) {
    if (check.source === null || !check.quote) continue;
    const seen = best.get(check.source);
    if (!seen || check.support > seen.support) best.set(check.source, check);
  }
  return new Map([...best].map(([source, check]) => [source, check.quote as Quote]));
}

/** The source numbers a sentence cites, in order of appearance, each once. */
function citedIn(sentence: string): number[] {
  const out: number[] = [];
  for (const match of sentence.matchAll(CITATION_GROUP))
    for (const n of match[1].split(/[,;]/).map((x) => Number(x.trim()))) if (!out.includes(n)) out.push(n);
  return out;
}

/** The sentence with its marks replaced by `kept`, where its first mark stood. */
function withMarks(sentence: string, kept: number[]): string {
  let first = true;
  return sentence.replace(CITATION_GROUP, (whole) => {
    if (!first) return "";
    first = false;
    const space = /^[ \t]*/.exec(whole)?.[0] ?? "";
    return kept.length ? `${space}${kept.map((n) => `[${n}]`).join("")}` : "";
  });
}

function quoteOf(text: string, start: number, end: number): Quote {
  return { text: text.slice(start, end), start, end };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
