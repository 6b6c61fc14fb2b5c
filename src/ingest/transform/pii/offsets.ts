// Amazon Comprehend counts offsets in Unicode code points; JavaScript strings index UTF-16 code units, where a
// character outside the Basic Multilingual Plane (an emoji, many CJK extension characters) takes two.

/** A function from a code-point offset in `text` to its UTF-16 offset. */
export function codePointToUtf16(text: string): (offset: number) => number {
  if (!/[\uD800-\uDFFF]/.test(text)) return (offset) => offset; // the usual case: both count the same
  const utf16: number[] = [];
  let at = 0;
  for (const char of text) {
    utf16.push(at);
    at += char.length;
  }
  utf16.push(at);
  return (offset) => utf16[Math.min(Math.max(offset, 0), utf16.length - 1)];
}

/**
 * `text` cut into pieces of at most `maxBytes` bytes of UTF-8, each piece's start given as a UTF-16 offset.
 * A piece ends at the last paragraph break that leaves it at least half full, else the last line break, else the
 * last white space, else at the limit (never inside a character): a value is cut in two only by a text with no
 * white space for `maxBytes / 2` bytes.
 */
export function piecesOf(text: string, maxBytes: number): { start: number; text: string }[] {
  const pieces: { start: number; text: string }[] = [];
  let start = 0;
  while (start < text.length) {
    const end = pieceEnd(text, start, maxBytes);
    pieces.push({ start, text: text.slice(start, end) });
    start = end;
  }
  return pieces;
}

function pieceEnd(text: string, start: number, maxBytes: number): number {
  // The furthest end within the byte limit, never between the two halves of a surrogate pair.
  let bytes = 0;
  let end = start;
  while (end < text.length) {
    const code = text.codePointAt(end) as number;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += code >= 0x10000 ? 2 : 1;
  }
  if (end >= text.length) return text.length;
  const window = text.slice(start, end);
  const half = (end - start) / 2;
  for (const boundary of [/\n\s*\n/g, /\n/g, /\s/g]) {
    let last = -1;
    for (const match of window.matchAll(boundary)) last = match.index + match[0].length;
    if (last >= half) return start + last;
  }
  return end;
}
