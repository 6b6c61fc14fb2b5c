// A process that fills a store whose approximate index is built in the background, searches it once (which
// starts the build), then either waits for the graph (`wait`) or simply ends: run by ann-process.test.ts.
import { Document } from "@langchain/core/documents";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { random, randomVector } from "./random-vectors.ts";

const next = random(5);
const vectors = Array.from({ length: 3000 }, () => randomVector(next, 1, 64));
const store = new LocalVectorStore(new LocalHashEmbeddings({ dimensions: 64 }), { vectorIndex: "hnsw" });
await store.addVectors(
  vectors,
  vectors.map((_, i) => new Document({ pageContent: `chunk ${i}`, metadata: {}, id: `c${i}` })),
);
await store.similaritySearchVectorWithScore(vectors[0], 1);
if (process.argv[2] === "wait") await store.whenIndexed();
console.log(JSON.stringify(store.indexStatus()));
