// An answer's text released a window at a time, each window checked by the chain's guardrail before any of it
// goes out: a streamed answer still streams, a window later, and no text is shown unchecked. A window ends at
// the first sentence end past `windowChars`, so that a sentence (and a phone number or an e-mail in it) is
// checked whole. A window is checked as soon as it closes, while the next ones gather, and released in order:
// checks cost the stream about one check's latency, not one per window. Past a few checks at once, the windows
// that closed meanwhile go together into one check, so that a fast model does not pile up calls.
import type { Guardrail, GuardrailVerdict } from "../../contracts/guardrail.ts";

/** What is streamed: answer text, or anything else (a tool call), which closes the window before it. */
export type Piece<T> = { text: string } | { other: T };

/** What is released: checked text (`masked` when the guardrail replaced parts), the rest in order, or the end. */
export type Released<T> = { text: string; masked: boolean } | { other: T } | { blocked: string };

export interface OutputCheck {
  guardrail: Guardrail;
  /** A window ends at the first sentence end at or after this many characters; Infinity: one window, at the end. */
  windowChars: number;
  signal?: AbortSignal;
}

/** With no sentence end, a window ends at a space past twice windowChars (this at least). */
const MIN_HARD_END = 400;

/** Checks of one stream under way at once: enough to keep pace with a model when a check is slower than a window. */
const MAX_CHECKS = 3;

/**
 * A sentence's end before a space (its punctuation, closing quotes or brackets, and the citations after it, as in
 * "delivered. [1]"), or a line's end.
 */
const SENTENCE_END = /[.!?…]+["'”’)\]]*(?:\s*\[\d+(?:,\s*\d+)*\])*(?=\s)|\n/g;

type Queued<T> = { window: string; verdict?: Promise<GuardrailVerdict> } | { other: T };
type Step<T> = { verdict: GuardrailVerdict } | { result: IteratorResult<Piece<T>> };

/**
 * The pieces, their text checked window by window. A blocked window ends the release with `{ blocked: message }`
 * and stops reading the pieces (the caller aborts the model too, so that it stops paying for them).
 *
 * @example
 * for await (const out of checkedWindows(tokens, { guardrail, windowChars: 300, signal })) {
 *   if ("blocked" in out) return say(out.blocked);
 *   if ("text" in out) send(out.text);
 * }
 */
export async function* checkedWindows<T>(
  pieces: AsyncIterable<Piece<T>>,
  check: OutputCheck,
): AsyncGenerator<Released<T>> {
  const upstream = pieces[Symbol.asyncIterator]();
  // Checks of windows that will never be released (blocked before them, or the reader left) are called off.
  const abandoned = new AbortController();
  const signal = check.signal ? AbortSignal.any([check.signal, abandoned.signal]) : abandoned.signal;
  const queue: Queued<T>[] = [];
  let open = "";
  let next: Promise<IteratorResult<Piece<T>>> | undefined;
  let ended = false;
  const close = () => {
    if (open) queue.push({ window: open });
    open = "";
  };
  try {
    while (true) {
      const head = queue[0];
      if (head && "other" in head) {
        queue.shift();
        yield { other: head.other };
        continue;
      }
      startChecks(queue, check.guardrail, signal);
      if (!ended) next ??= upstream.next();
      const waiting: Promise<Step<T>>[] = [];
      if (head?.verdict) waiting.push(head.verdict.then((verdict) => ({ verdict })));
      if (next) waiting.push(next.then((result) => ({ result })));
      if (waiting.length === 0) return;
      const step = await Promise.race(waiting);
      if ("verdict" in step) {
        queue.shift();
        const { verdict } = step;
        if (verdict.action === "blocked") {
          yield { blocked: verdict.message };
          return;
        }
        const window = (head as { window: string }).window;
        yield verdict.action === "masked"
          ? { text: verdict.text, masked: true }
          : { text: window, masked: false };
        continue;
      }
      next = undefined;
      if (step.result.done) {
        ended = true;
        close();
        continue;
      }
      const piece = step.result.value;
      if ("other" in piece) {
        close();
        queue.push(piece);
        continue;
      }
      open += piece.text;
      for (let end = windowEnd(open, check.windowChars); end > 0; end = windowEnd(open, check.windowChars)) {
        queue.push({ window: open.slice(0, end) });
        open = open.slice(end);
      }
    }
  } finally {
    // Blocked, failed, or the reader left: what the pieces would still bring is nobody's.
    abandoned.abort();
    if (!ended) {
      next?.catch(() => {});
      upstream.return?.()?.catch(() => {});
    }
  }
}

/**
 * Starts the checks of windows not yet checked, in order, up to MAX_CHECKS under way (checked but not yet
 * released); consecutive windows waiting together are checked together.
 */
function startChecks<T>(queue: Queued<T>[], guardrail: Guardrail, signal: AbortSignal): void {
  let started = queue.filter((item) => "window" in item && item.verdict).length;
  for (let i = 0; i < queue.length && started < MAX_CHECKS; i += 1) {
    const item = queue[i];
    if (!("window" in item) || item.verdict) continue;
    for (let next = queue[i + 1]; next && "window" in next && !next.verdict; next = queue[i + 1]) {
      item.window += next.window;
      queue.splice(i + 1, 1);
    }
    item.verdict = guardrail.check(item.window, "output", signal);
    item.verdict.catch(() => {}); // awaited when it is the head; a reader that left awaits it no more
    started += 1;
  }
}

/** Where the window that `text` opens ends (its length in characters), or 0 while it has not ended yet. */
export function windowEnd(text: string, windowChars: number): number {
  if (text.length < windowChars) return 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (end >= windowChars) return end;
  }
  const hard = Math.max(2 * windowChars, MIN_HARD_END);
  if (text.length < hard) return 0;
  const space = text.lastIndexOf(" ", hard);
  return space > windowChars / 2 ? space + 1 : hard;
}

/** Text alone as pieces. */
export async function* textPieces(
  texts: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<Piece<never>> {
  for await (const text of texts) yield { text };
}
