// The LanceDB candidate of `npm run bench:store -- --dense`, apart because its packages live in
// bench/store-dense/node_modules (see package.json): Counsel's own type-check leaves this file out, and
// `npx tsc -p bench/store-dense` checks it once they are installed.
import { Document } from "@langchain/core/documents";
import type { Candidate, CandidateName, CandidateOptions } from "./candidates.ts";
import { hybrid, QueryVectors, SidesStore } from "./candidates.ts";
import type { Chunk } from "./synthetic.ts";

/** LanceDB: columns on disk, a vector index (IVF-PQ by default) refined against the stored float32 vectors, FTS. */
export async function lancedbCandidate(_name: CandidateName, options: CandidateOptions): Promise<Candidate> {
  const lancedb = await import("@lancedb/lancedb");
  const arrow = await import("apache-arrow");
  const db = await lancedb.connect(options.dir);
  const vectorType = new arrow.FixedSizeList(
    options.dims,
    new arrow.Field("item", new arrow.Float32(), true),
  );
  const schema = new arrow.Schema([
    new arrow.Field("id", new arrow.Utf8(), false),
    new arrow.Field("doc_id", new arrow.Utf8(), false),
    new arrow.Field("text", new arrow.Utf8(), false),
    new arrow.Field("vector", vectorType, false),
  ]);
  let table = options.create ? null : await db.openTable("chunks");
  // LanceDB writes a data file and a version per add: gather adds into larger ones, as a store would.
  const pending: { chunks: Chunk[]; vectors: Float32Array[] } = { chunks: [], vectors: [] };
  const write = async () => {
    if (pending.chunks.length === 0) return;
    const n = pending.chunks.length;
    const flat = new Float32Array(n * options.dims);
    let at = 0;
    for (const v of pending.vectors) {
      flat.set(v, at);
      at += v.length;
    }
    const column = (values: string[]) => arrow.vectorFromArray(values, new arrow.Utf8()).data[0];
    const vectorData = arrow.makeData({
      type: vectorType,
      length: n,
      nullCount: 0,
      child: arrow.makeData({ type: new arrow.Float32(), length: n * options.dims, data: flat }),
    });
    const batch = new arrow.RecordBatch(
      schema,
      arrow.makeData({
        type: new arrow.Struct(schema.fields),
        length: n,
        nullCount: 0,
        children: [
          column(pending.chunks.map((c) => c.id)),
          column(pending.chunks.map((c) => c.docId)),
          column(pending.chunks.map((c) => c.text)),
          vectorData,
        ],
      }),
    );
    const data = new arrow.Table([batch]);
    if (table) await table.add(data);
    else table = await db.createTable("chunks", data, { mode: "overwrite" });
    pending.chunks = [];
    pending.vectors = [];
  };
  const open = () => {
    if (!table) throw new Error("empty table");
    return table;
  };
  const nprobes = options.nprobes ?? 20;
  const vectorQuery = (vector: Float32Array | number[], k: number) =>
    open().vectorSearch(Array.from(vector)).distanceType("cosine").nprobes(nprobes).refineFactor(5).limit(k);
  const queries = new QueryVectors();
  const store = new SidesStore(
    queries,
    async (vector, k) => {
      const found = await vectorQuery(vector, k).select(["id", "text"]).toArray();
      return found.map((r) => [new Document({ pageContent: r.text, id: r.id }), 1 - r._distance]);
    },
    async (text, k) => {
      const found = await open().query().fullTextSearch(text).limit(k).select(["id", "text"]).toArray();
      return found.map((r) => ({
        document: new Document({ pageContent: r.text, id: r.id }),
        score: r._score,
      }));
    },
  );
  return {
    async add(chunks, vectors) {
      pending.chunks.push(...chunks);
      pending.vectors.push(vectors);
      if (pending.chunks.length >= 50_000) await write();
    },
    async finish() {
      await write();
      const t = open();
      const kind = options.lanceIndex ?? "ivf-pq";
      const rows = await t.countRows();
      const numPartitions = Math.max(1, Math.round(Math.sqrt(rows)));
      const config =
        kind === "hnsw-sq"
          ? lancedb.Index.hnswSq({
              distanceType: "cosine",
              numPartitions: Math.max(1, Math.round(rows / 100_000)),
            })
          : kind === "ivf-rq"
            ? lancedb.Index.ivfRq({ distanceType: "cosine", numPartitions })
            : lancedb.Index.ivfPq({
                distanceType: "cosine",
                numPartitions,
                numSubVectors: options.dims / 16,
              });
      await t.createIndex("vector", { config, replace: true });
      await t.createIndex("text", {
        config: lancedb.Index.fts({ stem: false, removeStopWords: false, withPosition: false }),
        replace: true,
      });
      await t.optimize({ cleanupOlderThan: new Date() });
    },
    async vectorSearch(vector, k) {
      const found = await vectorQuery(vector, k).select(["id"]).toArray();
      return found.map((r) => r.id as string);
    },
    hybridSearch: hybrid(store, queries),
    lexicalSearch: (text, k) => store.lexicalSearch(text, { k }),
    async close() {
      table?.close();
      db.close();
    },
  };
}
