// The local store's HNSW graph (ann-index.ts), saved beside its base file so that a restart reads it instead of
// inserting every vector again (minutes for 100,000 dense vectors). Like the BM25 file (bm25-file.ts) it is a
// cache tied to one base: written after a new base, from the graph as it is then, listing the chunks changed
// while the base was written; when missing, damaged or of another base, the graph is built again in the
// background as before.
//
// Two files: the graph in usearch's own format under a name of its own (`vectors.bin.hnsw.<id>`), then a JSON
// description (`vectors.bin.graph`, replaced atomically) naming it, with each key's chunk id. A crash between the
// two leaves the previous description naming the previous graph, both intact; graphs no description names are
// deleted by the next save or start.
import { randomUUID } from "node:crypto";
import { open, readdir, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../atomic-file.ts";
import type { SavedGraphState } from "./ann-index.ts";

const FORMAT = "counsel-local-graph";

/** A saved graph as the store reads it back: keys by chunk id, since slots move. */
export interface SavedGraph {
  /** The graph's own file. */
  graphPath: string;
  state: Omit<SavedGraphState, "slots">;
  /** By position in `state.keys`: the chunk whose vector the key holds. */
  ids: string[];
  /** Chunks changed while the base was written: their vectors in the graph may not be theirs on disk. */
  stale: string[];
}

interface Description extends Omit<SavedGraphState, "slots" | "quantisation"> {
  /** Absent in graphs saved before it was an option: int8. */
  quantisation?: SavedGraphState["quantisation"];
  format: typeof FORMAT;
  version: 1;
  baseId: string;
  /** The graph's file name, in the same folder, and its size. */
  graph: string;
  graphBytes: number;
  ids: string[];
  stale: string[];
}

/** The description's file beside the base file `file`. */
export function graphDescriptionFile(file: string): string {
  return `${file}.graph`;
}

/**
 * Saves a graph for the base `baseId` of the store at `file`: `save` writes it to the path it is given, and
 * `idOfSlot` names the chunk in each of its slots.
 */
export async function writeGraphFile(
  file: string,
  baseId: string,
  stale: Iterable<string>,
  save: (graphPath: string) => SavedGraphState,
  idOfSlot: (slot: number) => string,
): Promise<void> {
  const name = `${path.basename(file)}.hnsw.${randomUUID()}`;
  const graphPath = path.join(path.dirname(file), name);
  try {
    // Slots named now, before any await: they move as chunks are deleted.
    const { slots, ...state } = save(graphPath);
    const ids = slots.map(idOfSlot);
    const staleIds = [...stale];
    await fsync(graphPath);
    const description: Description = {
      format: FORMAT,
      version: 1,
      baseId,
      graph: name,
      graphBytes: (await stat(graphPath)).size,
      ...state,
      ids,
      stale: staleIds,
    };
    await writeFileAtomic(graphDescriptionFile(file), JSON.stringify(description));
  } catch (error) {
    await unlink(graphPath).catch(() => undefined);
    throw error;
  }
  await removeUnnamedGraphs(file, name);
}

/**
 * Names a graph saved with an earlier base as the graph of the new base `baseId`, without reading it: for a
 * process that writes a new base but never searched (an ingestion from the command line), so that the next
 * start still finds the graph. `changed` are the chunks changed since that graph was saved, whose entries the
 * next reader drops with the graph's own stale ones.
 */
export async function carryGraphFile(
  file: string,
  baseId: string,
  graph: SavedGraph,
  changed: Iterable<string>,
): Promise<void> {
  const description: Description = {
    format: FORMAT,
    version: 1,
    baseId,
    graph: path.basename(graph.graphPath),
    graphBytes: (await stat(graph.graphPath)).size,
    ...graph.state,
    ids: graph.ids,
    stale: [...new Set([...graph.stale, ...changed])],
  };
  await writeFileAtomic(graphDescriptionFile(file), JSON.stringify(description));
}

/**
 * The graph saved for the base `baseId` of the store at `file`, with `dims` dimensions; undefined when there is
 * none for it. A damaged description, or a graph file missing or of another size, goes to `onDamaged`.
 */
export async function readGraphFile(
  file: string,
  baseId: string,
  dims: number,
  onDamaged: (reason: string) => void,
): Promise<SavedGraph | undefined> {
  let description: Description;
  try {
    description = JSON.parse(await readFile(graphDescriptionFile(file), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    onDamaged("its description is not valid JSON");
    return undefined;
  }
  const { graph, graphBytes, keys, ids, stale } = description ?? {};
  if (
    description?.format !== FORMAT ||
    description.version !== 1 ||
    typeof graph !== "string" ||
    graph.includes("/") ||
    !Array.isArray(keys) ||
    !Array.isArray(ids) ||
    !Array.isArray(stale) ||
    keys.length !== ids.length ||
    ![description.dims, description.connectivity, description.nextKey, description.tombstones].every(
      Number.isInteger,
    ) ||
    ![undefined, "b1", "i8"].includes(description.quantisation)
  ) {
    onDamaged("its description is not a graph's");
    return undefined;
  }
  if (description.baseId !== baseId || description.dims !== dims) return undefined;
  const graphPath = path.join(path.dirname(file), graph);
  const size = await stat(graphPath).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== graphBytes) {
    onDamaged(
      size < 0 ? `its graph ${graph} is missing` : `its graph ${graph} is not the size it was saved at`,
    );
    return undefined;
  }
  const { connectivity, nextKey, tombstones } = description;
  // Graphs saved before signs were an option are int8.
  const quantisation = description.quantisation ?? "i8";
  return { graphPath, state: { dims, connectivity, quantisation, keys, nextKey, tombstones }, ids, stale };
}

/** Deletes the graph files beside the store at `file` other than `keep` (none kept without it). */
export async function removeUnnamedGraphs(file: string, keep?: string): Promise<void> {
  const prefix = `${path.basename(file)}.hnsw.`;
  const dir = path.dirname(file);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && name !== keep) await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

async function fsync(file: string): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
