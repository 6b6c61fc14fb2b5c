// Fusion: each planned query is searched, and the result lists are merged into one list of chunks, best
// first, whose positions are the [n] numbers the report cites.
import { chunkId } from "../../../chains/citations.ts";
import type { MetadataFilter, ScoredDocument, Searcher } from "../../../contracts/search.ts";

// Reciprocal-rank fusion's offset: the searcher's scores are comparable only within one result list.
const RRF_K = 60;

export interface GatherOptions {
  /** Chunks per query. */
  k: number;
  /** Chunks kept at most. */
  max: number;
  /** Metadata every search is limited to. */
  filter?: MetadataFilter;
}

/** The chunks found for `queries`, fused by rank: chunk n of the result is source [n]. */
export async function gatherSources(
  searcher: Searcher,
  queries: string[],
  { k, max, filter }: GatherOptions,
): Promise<ScoredDocument[]> {
  const lists = await Promise.all(
    queries.map((query) => searcher.search(query, { k, ...(filter ? { filter } : {}) })),
  );
  return fuseByRank(lists, max);
}

/**
 * Merges result lists by reciprocal rank (a chunk found by several queries rises), keeping the best `max`, so
 * that [n] numbers the chunks by how well they serve the whole topic.
 */
function fuseByRank(lists: ScoredDocument[][], max: number): ScoredDocument[] {
  const fused = new Map<string, ScoredDocument>();
  for (const hits of lists) {
    hits.forEach(({ document }, rank) => {
      const key = chunkId(document) || `${document.pageContent}\u0000${JSON.stringify(document.metadata)}`;
      const entry = fused.get(key);
      if (entry) entry.score += 1 / (RRF_K + rank + 1);
      else fused.set(key, { document, score: 1 / (RRF_K + rank + 1) });
    });
  }
  // A stable sort: equal scores keep the order the chunks were first found in.
  return [...fused.values()].sort((a, b) => b.score - a.score).slice(0, max);
}
