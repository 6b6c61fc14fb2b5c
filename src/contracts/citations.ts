// What a checked answer says about its citations (chains/citation-check.ts), shared by the qa chain's reply and
// the turn events every protocol serves.

/** A span of a chunk's text, as offsets into its `pageContent`: `pageContent.slice(start, end) === text`. */
export interface Quote {
  text: string;
  start: number;
  end: number;
}

/** How an answer's citations fared when checked against their sources: the reply's `verification`. */
export interface CitationCounts {
  /** Citations the answer gave. */
  citations: number;
  verified: number;
  repointed: number;
  removed: number;
  unchecked: number;
}
