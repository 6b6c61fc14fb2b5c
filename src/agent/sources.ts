// The documents one advisor turn drew on, numbered across every search of the turn, so that the model cites
// [n] consistently and the client gets one `sources` list whose numbers match the answer's citations.
import { chunkId, citedNumbers, opening } from "../chains/citations.ts";
import { sourceOf } from "../chains/prompts.ts";
import type { ScoredDocument } from "../contracts/search.ts";
import type { TurnSource } from "../contracts/turn-events.ts";

export class SourceRegistry {
  private readonly byId = new Map<string, TurnSource>();

  /** Numbers the chunks (a chunk seen earlier in the turn keeps its number) and returns them in order. */
  add(found: ScoredDocument[]): TurnSource[] {
    return found.map(({ document, score }) => {
      const id =
        chunkId(document) || `${sourceOf(document.metadata).source}#${document.metadata.chunk ?? ""}`;
      const known = this.byId.get(id);
      if (known) return known;
      const entry: TurnSource = {
        n: this.byId.size + 1,
        id,
        ...sourceOf(document.metadata),
        snippet: opening(document.pageContent),
        score,
      };
      this.byId.set(id, entry);
      return entry;
    });
  }

  all(): TurnSource[] {
    return [...this.byId.values()];
  }

  /** The sources an answer cites with [n], in the order of their numbers. */
  cited(text: string): TurnSource[] {
    const numbers = new Set(citedNumbers(text, this.byId.size));
    return this.all().filter((s) => numbers.has(s.n));
  }
}
