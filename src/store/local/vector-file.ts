// The local vector store's file: MAGIC, a JSON header (ids, texts, metadata, the vectors' checksum), then the
// vectors row-major float32 LE. Written a few ms of work at a time with an atomic replace; read a block of rows at
// a time (a store of a million 1,024-dimension chunks is a 4 GB file: never one buffer) and checked whole.
import { type FileHandle, open } from "node:fs/promises";
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

/** Receives the vectors of slots first..first+count-1, row-major; `rows` is reused after the call returns. */
export type RowsReader = (first: number, count: number, rows: Float32Array, dimensions: number) => void;

/** Rows per block when reading the vectors: 8 MiB at 1,024 dimensions. */
const BLOCK_ROWS = 2048;

/**
 * Reads the file at `file`: undefined when it does not exist yet. Throws a VectorStoreFileError when it is
 * damaged, or was written with another embedding model or dimension than `embedder`'s (0 and null: not known).
 * The vectors go to `onRows` a block of `blockRows` rows at a time; without it they are returned in one array
 * (tests and tools: a large store's vectors may not fit one).
 */
export async function readVectorFile(
  file: string,
  embedder: { dimensions: number; modelId: string | null },
  options: { onRows?: RowsReader; blockRows?: number } = {},
): Promise<LoadedVectorFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const header = await readHeader(handle, file);
    if (embedder.dimensions !== 0 && header.count > 0 && header.dimensions !== embedder.dimensions) {
      throw mismatch(
        file,
        `it holds ${header.dimensions}-dimensional vectors; the embedder makes ${embedder.dimensions}`,
      );
    }
    if (embedder.modelId && header.embeddingModelId && header.embeddingModelId !== embedder.modelId) {
      throw mismatch(
        file,
        `it was written by embedding model ${header.embeddingModelId}, not ${embedder.modelId}`,
      );
    }
    const { count, dimensions } = header;
    const all = options.onRows ? undefined : new Float32Array(count * dimensions);
    const onRows: RowsReader = options.onRows ?? ((first, _n, rows) => all?.set(rows, first * dimensions));
    const blockRows = Math.max(1, Math.min(options.blockRows ?? BLOCK_ROWS, count));
    const block = Buffer.alloc(blockRows * dimensions * 4);
    let crc = 0;
    for (let first = 0; first < count; first += blockRows) {
      const n = Math.min(blockRows, count - first);
      const bytes = block.subarray(0, n * dimensions * 4);
      await readExactly(handle, bytes, header.vectorsStart + first * dimensions * 4);
      crc = crc32(bytes, crc);
      onRows(first, n, rowsOf(bytes), dimensions);
    }
    if (crc !== header.vectorsCrc32) throw corrupt(file, "its vectors fail the checksum");
    const {
      format: _format,
      version: _version,
      vectorsCrc32: _crc,
      vectorsStart: _start,
      ...contents
    } = header;
    return { ...contents, vectors: all ?? new Float32Array(0) };
  } finally {
    await handle.close();
  }
}

/** The header, checked, and where the vectors start; the file's length must be exactly what it describes. */
async function readHeader(
  handle: FileHandle,
  file: string,
): Promise<PersistedHeader & { vectorsStart: number }> {
  const size = (await handle.stat()).size;
  const prefix = MAGIC.length + 4;
  if (size < prefix) throw corrupt(file, `only ${size} bytes, truncated`);
  const head = Buffer.alloc(prefix);
  await readExactly(handle, head, 0);
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(file, "not a Counsel vector store file");
  const headerLength = head.readUInt32LE(MAGIC.length);
  if (prefix + headerLength > size) throw corrupt(file, "truncated inside its header");
  const json = Buffer.alloc(headerLength);
  await readExactly(handle, json, prefix);
  let header: PersistedHeader;
  try {
    header = JSON.parse(json.toString("utf8"));
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
  const vectorsStart = paddedToFour(prefix + headerLength);
  const expected = vectorsStart + count * dimensions * 4;
  if (size !== expected) {
    throw corrupt(file, `expected ${expected} bytes for ${count} vectors, found ${size}`);
  }
  return { ...header, baseId: typeof header.baseId === "string" ? header.baseId : null, vectorsStart };
}

async function readExactly(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Little-endian float32 bytes as floats: a view where the machine is little-endian, a copy elsewhere. */
function rowsOf(bytes: Buffer): Float32Array {
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
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
