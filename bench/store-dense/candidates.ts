// The stores compared by `npm run bench:store -- --dense`, behind one small interface. Each hybrid query goes
// through Counsel's own HybridSearcher (100 candidates per side, weighted fusion), so the rows differ only in the
// store under it.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { Embeddings } from "@langchain/core/embeddings";
import { VectorStore } from "@langchain/core/vectorstores";
import type { LexicalSearch, ScoredDocument, SearchOptions } from "../../src/contracts/search.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import type { DataFiles } from "../../src/store/at-rest/data-files.ts";
import { sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { Bm25Index } from "../../src/store/bm25-index.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import type { Chunk } from "./synthetic.ts";

/** `counsel-sealed`: the same store on sealed files (DATA_DIR encrypted at rest); not run unless named. */
export const CANDIDATES = ["local", "counsel", "usearch", "lancedb", "counsel-sealed"] as const;
export type CandidateName = (typeof CANDIDATES)[number];

export interface Candidate {
  add(chunks: Chunk[], vectors: Float32Array): Promise<void>;
  /** Everything durable and indexed: the store answers as it will after a restart. */
  finish(): Promise<void>;
  vectorSearch(vector: Float32Array, k: number): Promise<string[]>;
  hybridSearch(vector: Float32Array, text: string, k: number): Promise<string[]>;
  /** Resolves once the store answers at full speed (an index built after opening). */
  ready?(): Promise<void>;
  /** The lexical side alone, at the hybrid's candidate count. */
  lexicalSearch(text: string, k: number): Promise<unknown>;
  close(): Promise<void>;
}

export interface CandidateOptions {
  dir: string;
  dims: number;
  create: boolean;
  /** LanceDB's vector index: ivf-pq, ivf-rq, hnsw-sq (default ivf-pq). */
  lanceIndex?: string;
  /** Partitions probed per query (LanceDB; default 20). */
  nprobes?: number;
  /** HNSW expansion at search (usearch; default 128 in the prototype, Counsel's own default 256). */
  ef?: number;
}

/** Query vectors by text, so that HybridSearcher's usual path (embed the query, then search) runs unchanged. */
export class QueryVectors extends Embeddings {
  readonly byText = new Map<string, number[]>();
  constructor() {
    super({});
  }
  async embedQuery(text: string): Promise<number[]> {
    const vector = this.byText.get(text);
    if (!vector) throw new Error(`no vector for query ${JSON.stringify(text)}`);
    return vector;
  }
  async embedDocuments(): Promise<number[][]> {
    throw new Error("the bench embeds nothing");
  }
}

type VectorSide = (vector: number[], k: number) => Promise<[DocumentInterface, number][]>;
type LexicalSide = (text: string, k: number) => Promise<ScoredDocument[]>;

/** A LangChain store made of two functions, for stores that are not LangChain stores. */
export class SidesStore extends VectorStore implements LexicalSearch {
  constructor(
    embeddings: QueryVectors,
    private readonly vectorSide: VectorSide,
    private readonly lexicalSide: LexicalSide,
  ) {
    super(embeddings, {});
  }
  _vectorstoreType(): string {
    return "bench";
  }
  async addVectors(): Promise<void> {}
  async addDocuments(): Promise<void> {}
  similaritySearchVectorWithScore(query: number[], k: number): Promise<[DocumentInterface, number][]> {
    return this.vectorSide(query, k);
  }
  lexicalSearch(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    return this.lexicalSide(query, options.k);
  }
}

export function hybrid(store: VectorStore & LexicalSearch, queries: QueryVectors) {
  const searcher = new HybridSearcher({ store });
  return async (vector: Float32Array, text: string, k: number) => {
    queries.byText.set(text, Array.from(vector));
    const hits = await searcher.search(text, { k });
    return hits.map((h) => h.document.id as string);
  };
}

function rows(vectors: Float32Array, dims: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < vectors.length; i += dims) out.push(Array.from(vectors.subarray(i, i + dims)));
  return out;
}

/**
 * Counsel's embedded store: int8 columns (a step per vector), BM25 in memory, one file plus a log. `local` scans
 * every vector (the store before its approximate index); `counsel` is the store as it ships, with its HNSW graph
 * (built as the vectors are written, saved with the store; `ready` waits for what a start must still insert).
 */
async function local(
  options: CandidateOptions,
  vectorIndex: "exact" | "hnsw",
  files?: DataFiles,
): Promise<Candidate> {
  const queries = new QueryVectors();
  const file = path.join(options.dir, "vectors.bin");
  await mkdir(options.dir, { recursive: true });
  const store = await LocalVectorStore.load(queries, {
    path: file,
    files,
    vectorIndex,
    ann: options.ef ? { expansionSearch: options.ef } : undefined,
  });
  return {
    async add(chunks, vectors) {
      const docs = chunks.map(
        (c) => new Document({ pageContent: c.text, metadata: { doc_id: c.docId }, id: c.id }),
      );
      await store.addVectors(rows(vectors, options.dims), docs, { ids: chunks.map((c) => c.id) });
    },
    // The graph, built as the dense vectors are written, may lag a quick ingestion: it is waited for (what
    // `counsel ingest` does) and saved with the new base it makes due.
    async finish() {
      await store.whenIndexed();
      await store.flush();
    },
    ready: () => store.whenIndexed(),
    async vectorSearch(vector, k) {
      const hits = await store.similaritySearchVectorWithScore(Array.from(vector), k);
      return hits.map(([d]) => d.id as string);
    },
    hybridSearch: hybrid(store, queries),
    lexicalSearch: (text, k) => store.lexicalSearch(text, { k }),
    close: () => store.close(),
  };
}

/**
 * Today's store with an approximate index: usearch's HNSW over int8-quantised vectors (saved to its own file,
 * memory-mapped on open), texts and BM25 in memory as today. int8 loses most of a 1024-dimension unit vector's
 * precision (its components are about ±0.03 on a ±1 scale), so the index proposes max(2k, 40) candidates and their
 * float32 vectors, read from a file beside it, rank them exactly. Its persistence of texts is the simplest possible
 * (a JSON file written at finish): the candidate measures the index, not a finished store.
 */
async function usearchCandidate(options: CandidateOptions): Promise<Candidate> {
  const { Index, MetricKind, ScalarKind } = (await import("usearch-v2")).default;
  const indexFile = path.join(options.dir, "vectors.usearch");
  const textFile = path.join(options.dir, "texts.json");
  const vectorFile = path.join(options.dir, "vectors.f32");
  await mkdir(options.dir, { recursive: true });
  const vectorFd = openSync(vectorFile, options.create ? "w+" : "r");
  const rowBytes = options.dims * 4;
  const row = new Float32Array(options.dims);
  const rowView = new Uint8Array(row.buffer);
  /** The index's max(2k, 40) candidates, ranked by their exact cosine (the vectors are unit length). */
  const nearest = (query: Float32Array, k: number): { slot: number; score: number }[] => {
    const found = index.search(query, Math.max(2 * k, 40), 1);
    const scored = Array.from(found.keys, (key) => {
      const slot = Number(key);
      readSync(vectorFd, rowView, 0, rowBytes, slot * rowBytes);
      let dot = 0;
      for (let d = 0; d < options.dims; d++) dot += row[d] * query[d];
      return { slot, score: dot };
    });
    return scored.sort((a, b) => b.score - a.score).slice(0, k);
  };
  const index = new Index({
    metric: MetricKind.Cos,
    dimensions: options.dims,
    connectivity: 16,
    quantization: ScalarKind.I8,
    expansion_add: 128,
    expansion_search: options.ef ?? 128,
    multi: false,
  });
  const ids: string[] = [];
  const texts: string[] = [];
  const bm25 = new Bm25Index();
  if (!options.create) {
    index.view(indexFile);
    const saved = JSON.parse(await readFile(textFile, "utf8")) as { ids: string[]; texts: string[] };
    saved.ids.forEach((id, slot) => {
      ids.push(id);
      texts.push(saved.texts[slot]);
      bm25.add(id, saved.texts[slot]);
    });
  }
  const doc = (slot: number) => new Document({ pageContent: texts[slot], id: ids[slot] });
  const queries = new QueryVectors();
  const store = new SidesStore(
    queries,
    async (vector, k) =>
      nearest(Float32Array.from(vector), k).map(
        ({ slot, score }) => [doc(slot), score] as [DocumentInterface, number],
      ),
    async (text, k) =>
      bm25
        .search(text, k)
        .map((hit) => ({ document: new Document({ pageContent: "", id: hit.id }), score: hit.score })),
  );
  return {
    async add(chunks, vectors) {
      const keys = BigUint64Array.from(chunks, (_, i) => BigInt(ids.length + i));
      index.add(keys, vectors, 2);
      writeSync(vectorFd, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
      for (const c of chunks) {
        ids.push(c.id);
        texts.push(c.text);
        bm25.add(c.id, c.text);
      }
    },
    async finish() {
      index.save(indexFile);
      await writeFile(textFile, JSON.stringify({ ids, texts }));
    },
    async vectorSearch(vector, k) {
      return nearest(vector, k).map(({ slot }) => ids[slot]);
    },
    hybridSearch: hybrid(store, queries),
    lexicalSearch: (text, k) => store.lexicalSearch(text, { k }),
    async close() {
      closeSync(vectorFd);
    },
  };
}

export function openCandidate(name: CandidateName, options: CandidateOptions): Promise<Candidate> {
  if (name === "local") return local(options, "exact");
  if (name === "counsel") return local(options, "hnsw");
  // One key for the ingesting and the serving process (a bench's, made up: the KMS round trip is not measured).
  if (name === "counsel-sealed") return local(options, "hnsw", sealedFiles(Buffer.alloc(32, 7)));
  if (name === "usearch") return usearchCandidate(options);
  // Not a static import: LanceDB lives in bench/store-dense/node_modules, installed on first use, and this file
  // is type-checked with Counsel's own (tsconfig.json leaves lancedb.ts to bench/store-dense/tsconfig.json).
  const lancedb = new URL("./lancedb.ts", import.meta.url).href;
  return import(lancedb).then((m: { lancedbCandidate: typeof openCandidate }) =>
    m.lancedbCandidate(name, options),
  );
}
