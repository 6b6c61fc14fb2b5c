// `counsel ingest` with an embedding model's dense vectors: the embedded store builds its graph as they are
// written, the command waits for it, and closing the store saves it beside the base, so that the service's next
// start answers from it instead of building it.
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useOpenAIEmulator } from "../helpers/openai.ts";
import { ROOT, tempDataDir } from "../helpers/services.ts";

const run = promisify(execFile);
vi.setConfig({ testTimeout: 180_000 });

/** A text of `paragraphs` distinct paragraphs, a chunk or so each. */
function longText(paragraphs: number): string {
  const words = [
    "ledger",
    "invoice",
    "freight",
    "harbour",
    "customs",
    "tariff",
    "pallet",
    "manifest",
    "audit",
  ];
  return Array.from({ length: paragraphs }, (_, p) => {
    const sentence = Array.from(
      { length: 120 },
      (_, w) => `${words[(p * 7 + w * 3) % words.length]}${(p * 31 + w) % 97}`,
    );
    return `Section ${p}. ${sentence.join(" ")}.`;
  }).join("\n\n");
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) return path.join(entry.parentPath, entry.name);
  }
  return undefined;
}

describe("counsel ingest with dense embeddings", () => {
  const openai = useOpenAIEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  beforeAll(async () => {
    data = await tempDataDir();
  });
  afterAll(async () => data?.remove());

  it("leaves the graph built and saved with the store", async () => {
    const docs = path.join(data.dir, "docs");
    await mkdir(docs);
    await writeFile(path.join(docs, "shipping.md"), longText(2500));
    const state = path.join(data.dir, "state");
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, "bin/counsel.mjs"), "ingest", docs, "--json"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATA_DIR: state,
          LOG_LEVEL: "silent",
          EMBEDDINGS_PROVIDER: "openai",
          EMBEDDINGS_MODEL: "mxbai-embed-large",
          OPENAI_BASE_URL: openai.url,
          OPENAI_API_KEY: "unused",
          LOCAL_VECTOR_INDEX: "hnsw",
        },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ added: 1, failed: [] });
    const description = await findFile(state, "vectors.bin.graph");
    expect(description, "the graph saved beside the base").toBeDefined();
    const graph = JSON.parse(await readFile(description as string, "utf8"));
    expect(graph.quantisation).toBe("b1");
    // Every chunk is in it: the next start inserts nothing.
    expect(graph.ids.length).toBeGreaterThan(1000);
    expect(graph.stale).toEqual([]);
  });
});
