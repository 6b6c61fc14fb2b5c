// The local vector store's file: MAGIC, a JSON header (ids, texts, metadata, the vectors' checksum), then the
// vectors row-major float32 LE. Written a few ms of work at a time with an atomic replace; read and checked whole.
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { crc32 } from "node:zlib";
import { CounselError } from "../../errors.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import type { VectorSnapshot } from "./vector-snapshot.ts";

/** The persisted file cannot be used: damaged, or written for another embedding model. */
export class VectorStoreFileError extends CounselError {
  constructor(code: "store_corrupt" | "store_mismatch", message: string) {
    super(code, 503, message);
    this.name = "VectorStoreFileError";
  }
}

/** What the store saves besides the vectors, slot by slot. */
export interface VectorFileContents {
  /**
   * Names this write of the file, so that a change log (change-log.ts) is replayed only over the base it
   * continues. Null in files written before the log existed.
   */
  baseId: string | null;
  embeddingModelId: string | null;
  dimensions: number;
  count: number;
  ids: string[];
  texts: string[];
  metadata: Record<string, unknown>[];
}

/** A file read back: its contents and the vectors of slots 0..count-1, row-major. */
export interface LoadedVectorFile extends VectorFileContents {
  vectors: Float32Array;
}

interface PersistedHeader extends VectorFileContents {
  format: typeof FORMAT;
  version: 1;
  /** CRC-32 of the vector bytes, so that a flipped or torn byte is caught rather than searched. */
  vectorsCrc32: number;
}

// File layout: MAGIC, uint32 LE header length, UTF-8 JSON header, zero padding to a multiple of 4, then
// count x dimensions float32 LE.
const MAGIC = Buffer.from("CNSLVEC1", "latin1");
const FORMAT = "counsel-local-vectors";
const LITTLE_ENDIAN = endianness() === "LE";

/**
 * Reads the file at `file`: undefined when it does not exist yet. Throws a VectorStoreFileError when it is
 * damaged, or was written with another embedding model or dimension than `embedder`'s (0 and null: not known).
 */
export async function readVectorFile(
  file: string,
  embedder: { dimensions: number; modelId: string | null },
): Promise<LoadedVectorFile | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const loaded = decode(data, file);
  if (embedder.dimensions !== 0 && loaded.count > 0 && loaded.dimensions !== embedder.dimensions) {
    throw mismatch(
      file,
      `it holds ${loaded.dimensions}-dimensional vectors; the embedder makes ${embedder.dimensions}`,
    );
  }
  if (embedder.modelId && loaded.embeddingModelId && loaded.embeddingModelId !== embedder.modelId) {
    throw mismatch(
      file,
      `it was written by embedding model ${loaded.embeddingModelId}, not ${embedder.modelId}`,
    );
  }
  return loaded;
}

// Saving: hundreds of ms of work for tens of thousands of chunks, done in steps of a few ms with turns of the
// event loop between them, so that a save never stalls the requests the same process answers. The vectors'
// checksum comes first (the header holds it), then the file is written a piece at a time as it is made: the
// header's JSON (every chunk's text and metadata: as large as the store's text) is never held whole, its length
// written into the prefix once it is known.

/**
 * Writes `contents` and `vectors` to `file` (replaced atomically), yielding to the event loop whenever a step
 * has computed for `stepMs` (0: after every step).
 */
export async function writeVectorFile(
  file: string,
  contents: VectorFileContents,
  vectors: VectorSnapshot,
  stepMs: number,
): Promise<void> {
  const header: HeaderWithoutCrc = {
    format: FORMAT,
    version: 1,
    baseId: contents.baseId,
    embeddingModelId: contents.embeddingModelId,
    dimensions: contents.dimensions,
    count: contents.count,
    ids: contents.ids,
    texts: contents.texts,
    metadata: contents.metadata,
  };
  const pause = pacer(stepMs);
  const crc = await vectorsCrc32(vectors, pause);
  await writeFileAtomic(file, async (handle) => {
    const prefix = Buffer.alloc(MAGIC.length + 4);
    MAGIC.copy(prefix);
    await handle.write(prefix);
    let length = 0;
    for await (const piece of headerJson(header, crc, pause)) {
      await handle.write(piece);
      length += piece.length;
    }
    await handle.write(Buffer.alloc(paddedToFour(prefix.length + length) - prefix.length - length));
    for (const rows of vectorRows(vectors)) await handle.write(rows);
    prefix.writeUInt32LE(length, MAGIC.length);
    await handle.write(prefix, 0, prefix.length, 0);
  });
}

type HeaderWithoutCrc = Omit<PersistedHeader, "vectorsCrc32">;

/** Called between steps of a long computation: resolves at once, or after a turn of the event loop. */
type Pause = () => Promise<void>;

/** A pause that yields to the event loop once `stepMs` have passed since it last did. */
function pacer(stepMs: number): Pause {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < stepMs) return;
    await nextTurn();
    since = performance.now();
  };
}

/** About 256 KB of rows: a step of a few tenths of a ms, a multiple of the transpose's eight slots. */
function slotsPerStep(dims: number): number {
  return Math.max(8, Math.floor(65536 / Math.max(dims, 1) / 8) * 8);
}

/** The CRC-32 of the vectors as the file holds them (row-major float32 LE). */
async function vectorsCrc32(vectors: VectorSnapshot, pause: Pause): Promise<number> {
  let crc = 0;
  for (const rows of vectorRows(vectors)) {
    crc = crc32(rows, crc);
    await pause();
  }
  return crc;
}

/** The vectors row-major float32 LE, a few slots at a time, in one buffer reused: take each before the next. */
function* vectorRows(vectors: VectorSnapshot): Generator<Buffer> {
  const { count, dims } = vectors;
  const step = slotsPerStep(dims);
  const rows = new Float32Array(step * dims);
  for (let first = 0; first < count; first += step) {
    const n = Math.min(step, count - first);
    vectors.readRows(first, n, rows);
    yield floatBytes(rows.subarray(0, n * dims));
  }
}

/**
 * JSON.stringify of the header with its checksum, as UTF-8 pieces: its arrays go a slice of `itemsPerStep`
 * items at a time, with a pause after each slice. Exported for tests.
 */
export async function* headerJson(
  header: HeaderWithoutCrc,
  crc: number,
  pause: Pause,
  itemsPerStep = 256,
): AsyncGenerator<Buffer> {
  let separator = "{";
  // In the header's key order, as JSON.stringify goes (no value is undefined, so no key is skipped).
  for (const [key, value] of Object.entries(header)) {
    yield Buffer.from(`${separator}${JSON.stringify(key)}:`);
    separator = ",";
    if (Array.isArray(value)) yield* arrayJson(value, pause, itemsPerStep);
    else yield Buffer.from(JSON.stringify(value));
  }
  yield Buffer.from(`${separator}"vectorsCrc32":${crc}}`, "latin1");
}

/** JSON.stringify(items) in pieces of `itemsPerStep` items, pausing after each. */
async function* arrayJson(items: unknown[], pause: Pause, itemsPerStep: number): AsyncGenerator<Buffer> {
  if (items.length === 0) yield Buffer.from("[]");
  for (let from = 0; from < items.length; from += itemsPerStep) {
    // Each slice stringifies as "[a,b]": later slices open with "," instead, and all but the last drop "]".
    const json = Buffer.from(JSON.stringify(items.slice(from, from + itemsPerStep)));
    if (from > 0) json[0] = COMMA;
    yield from + itemsPerStep < items.length ? json.subarray(0, -1) : json;
    await pause();
  }
}

const COMMA = 0x2c;

function paddedToFour(length: number): number {
  return length + ((4 - (length % 4)) % 4);
}

function floatBytes(values: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.byteLength);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], i * 4);
  return out;
}

function corrupt(file: string, reason: string): VectorStoreFileError {
  return new VectorStoreFileError(
    "store_corrupt",
    `The vector store file ${file} is damaged (${reason}). Delete the data folder ${path.dirname(file)} and ` +
      "ingest the documents again to rebuild it.",
  );
}

function mismatch(file: string, reason: string): VectorStoreFileError {
  return new VectorStoreFileError(
    "store_mismatch",
    `The vector store file ${file} does not fit the configured embeddings: ${reason}. Delete the data folder ` +
      `${path.dirname(file)} and re-index (ingest again), or configure the embedding model it was built with.`,
  );
}

function decode(data: Buffer, file: string): LoadedVectorFile {
  const prefix = MAGIC.length + 4;
  if (data.length < prefix) throw corrupt(file, `only ${data.length} bytes, truncated`);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(file, "not a Counsel vector store file");
  const headerLength = data.readUInt32LE(MAGIC.length);
  if (prefix + headerLength > data.length) throw corrupt(file, "truncated inside its header");
  let header: PersistedHeader;
  try {
    header = JSON.parse(data.toString("utf8", prefix, prefix + headerLength));
  } catch {
    throw corrupt(file, "its header is not valid JSON");
  }
  const { dimensions, count, ids, texts, metadata } = header ?? {};
  if (
    header?.format !== FORMAT ||
    header.version !== 1 ||
    !Number.isInteger(dimensions) ||
    dimensions < 0 ||
    !Number.isInteger(count) ||
    !Array.isArray(ids) ||
    !Array.isArray(texts) ||
    !Array.isArray(metadata) ||
    ids.length !== count ||
    texts.length !== count ||
    metadata.length !== count ||
    new Set(ids).size !== count
  ) {
    throw corrupt(file, "its header is not a valid index description");
  }
  const start = paddedToFour(prefix + headerLength);
  const expected = count * dimensions * 4;
  if (data.length !== start + expected) {
    throw corrupt(file, `expected ${start + expected} bytes for ${count} vectors, found ${data.length}`);
  }
  const bytes = data.subarray(start);
  if (crc32(bytes) !== header.vectorsCrc32) throw corrupt(file, "its vectors fail the checksum");
  const vectors = new Float32Array(count * dimensions);
  if (LITTLE_ENDIAN) new Uint8Array(vectors.buffer).set(bytes);
  else for (let i = 0; i < vectors.length; i++) vectors[i] = bytes.readFloatLE(i * 4);
  return { ...header, baseId: typeof header.baseId === "string" ? header.baseId : null, vectors };
}
