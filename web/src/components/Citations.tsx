// An answer's text with each [n] linked to its source, and the list of sources it links to (document, page,
// snippet): shared by Ask (a qa chain's reply) and Chat (the advisor's source parts).

/** A source as the answer cites it: `n` is the number in its [n]. */
export interface Source {
  n: number;
  source?: string;
  page?: number;
  snippet?: string;
  score?: number;
  cited?: boolean;
}

/** Source n's element id under a prefix: what a [n] links to. */
const anchor = (prefix: string, n: number | string) => `${prefix}-${n}`;

/** The text with each [n] a link to source n (when there is one); `prefix` keeps two answers' anchors apart. */
export function CitedText({ text, sources, prefix }: { text: string; sources: Source[]; prefix: string }) {
  const parts = text.split(/(\[\d+\])/);
  return (
    <p className="answer-text">
      {parts.map((part, i) => {
        const n = /^\[(\d+)\]$/.exec(part)?.[1];
        const source = n === undefined ? undefined : sources.find((s) => s.n === Number(n));
        if (!source) return part;
        const label = `Source ${n}: ${source.source ?? "unknown document"}${source.page ? `, page ${source.page}` : ""}`;
        return (
          <a
            // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string, never reordered
            key={i}
            className="citation"
            href={`#${anchor(prefix, n as string)}`}
            aria-label={label}
            title={label}
          >
            [{n}]
          </a>
        );
      })}
    </p>
  );
}

/** The sources, numbered as the answer cites them, each the target of its [n]. */
export function SourceList({ sources, prefix }: { sources: Source[]; prefix: string }) {
  return (
    <ol className="sources">
      {sources.map((s) => (
        <li key={s.n} value={s.n} id={anchor(prefix, s.n)} className={s.cited ? "cited" : ""}>
          <span className="source-name">{s.source ?? "unknown document"}</span>
          {s.page ? <span className="source-page">, page {s.page}</span> : null}
          {s.cited ? <span className="badge">cited</span> : null}
          {s.snippet ? <blockquote>{s.snippet}</blockquote> : null}
        </li>
      ))}
    </ol>
  );
}
