// The local vector store's file: a small JSON header, every chunk's id, text and metadata as a record of its own,
// then the vectors as the store keeps them: a row per vector of its step (float32 LE) and its int8 values
// (vector-kernels.ts). Written a few ms of work at a time with an atomic replace; read a block at a time (a store
// of a million 1,024-dimension chunks is a 1 GB file: never one buffer) and checked whole.
//
// Format 3 is written since 2026-12-07. Format 2 held the same but the vectors as float32 rows (four times the
// bytes); format 1 (before that) also held every id, text and metadata in its one JSON header: a string that V8
// cannot make past about 512 MB, so a store of much more text than that could be written but never opened again.
// Both are still read; the store writes format 3 from its next new base on.
import { endianness } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { crc32 } from "node:zlib";
import { CounselError } from "../../errors.ts";
import type { DataFiles, RandomReader } from "../at-rest/data-files.ts";
import { plainFiles } from "../at-rest/plain-files.ts";
import { dequantisedRows, quantisedRowBytes } from "./vector-kernels.ts";
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

/** Where a file holds its chunk records, slot by slot: each record's JSON, its first byte and its length. */
export interface RecordPositions {
  at: Float64Array;
  lengths: Uint32Array;
}

/** A base's chunks as its index beside it holds them (chunk-index-file.ts): all but the texts. */
export interface IndexedChunks {
  ids: string[];
  metadata: Record<string, unknown>[];
  records: RecordPositions;
}

/** A base just written: where its records are, and where its vectors start (a row per slot from there). */
export interface WrittenBase extends RecordPositions {
  vectorsStart: number;
}

/** A base file's chunk records, readable: what a new base copies for the chunks not changed since. */
export interface StoredRecords extends RecordPositions {
  read(into: Buffer, position: number): Promise<void>;
}

/**
 * What a base is written from: each slot's text, or (undefined) none where `stored` holds its record, which is
 * copied as it is (the same id, text and metadata: a chunk changed since would be in memory).
 */
export interface ChunksToWrite extends Omit<VectorFileContents, "texts"> {
  texts: (string | undefined)[];
  stored?: StoredRecords;
}

/** A file read back: its contents and the vectors of slots 0..count-1, row-major. */
export interface LoadedVectorFile extends Omit<VectorFileContents, "texts"> {
  /** Every chunk's text; empty when asked only for `records` (and the file has them). */
  texts: string[];
  /** Where the chunk records are (formats 2 and 3; format 1 holds its chunks in its header). */
  records?: RecordPositions;
  vectors: Float32Array;
  /** The vectors were left in the file, unread (see `leaveVectors`). */
  vectorsLeft: boolean;
  /** Where the vectors start in the file: a row per vector from there. */
  vectorsStart: number;
  /** The checksum the vectors must have (checked at load unless they were left: see verifyUnread). */
  vectorsCrc32: number;
  /**
   * Where the chunk records are and the checksum they must have, when their ids and metadata came from the chunk
   * index instead (`chunkIndex`): unread, and so unchecked, until verifyUnread checks them.
   */
  recordsLeft?: { start: number; bytes: number; crc32: number };
  /** The format it was written in: 1 is converted by the store's next new base. */
  version: 1 | 2 | 3;
}

/** Format 1's header: everything but the vectors. */
interface HeaderV1 extends VectorFileContents {
  format: typeof FORMAT;
  version: 1;
  /** CRC-32 of the vector bytes, so that a flipped or torn byte is caught rather than searched. */
  vectorsCrc32: number;
}

/** Format 2's and 3's header: what the file holds; the chunks follow it. */
interface HeaderV2 extends Omit<VectorFileContents, "ids" | "texts" | "metadata"> {
  format: typeof FORMAT;
  version: 2 | 3;
  vectorsCrc32: number;
}

/** A header read back, checked, with where the chunks and the vectors start and what the chunks' part holds. */
interface ReadHeader extends Omit<VectorFileContents, "ids" | "texts" | "metadata"> {
  version: 1 | 2 | 3;
  vectorsCrc32: number;
  vectorsStart: number;
  /** Format 1: the chunks, from the header. */
  chunks?: Pick<VectorFileContents, "ids" | "texts" | "metadata">;
  /** Formats 2 and 3: where the chunk records start, their bytes and their CRC-32. */
  records?: { start: number; bytes: number; crc32: number };
}

// Format 2: MAGIC_V2; uint32 LE header length; uint32 LE CRC-32 of the header; uint64 LE bytes of the chunk
// records and uint32 LE their CRC-32 (patched in once they are written); 4 zero bytes; the UTF-8 JSON header;
// zero padding to a multiple of 4; the chunk records, each a uint32 LE length and the UTF-8 JSON
// [id, text, metadata]; zero padding to a multiple of 4; count x dimensions float32 LE.
// Format 3: as format 2 with MAGIC_V3, and the vectors as count rows of a float32 LE step and dimensions int8.
// Format 1: MAGIC_V1, uint32 LE header length, the UTF-8 JSON header with every chunk, zero padding to a multiple
// of 4, the vectors.
const MAGIC_V1 = Buffer.from("CNSLVEC1", "latin1");
const MAGIC_V2 = Buffer.from("CNSLVEC2", "latin1");
const MAGIC_V3 = Buffer.from("CNSLVEC3", "latin1");
const PREFIX_V1 = MAGIC_V1.length + 4;
const PREFIX_V2 = MAGIC_V2.length + 24;
const FORMAT = "counsel-local-vectors";
/** Bytes of chunk records read at a time. */
const RECORD_BLOCK = 1 << 20;
const LITTLE_ENDIAN = endianness() === "LE";

/** Receives the vectors of slots first..first+count-1, row-major; `rows` is reused after the call returns. */
export type RowsReader = (first: number, count: number, rows: Float32Array, dimensions: number) => void;

/** Receives slots first..first+count-1 as quantised rows (format 3's); `rows` is reused after the call returns. */
export type QuantisedRowsReader = (
  first: number,
  count: number,
  rows: Uint8Array,
  dimensions: number,
) => void;

/** Rows per block when reading the vectors: 8 MiB at 1,024 dimensions. */
const BLOCK_ROWS = 2048;

/**
 * Reads the file at `file`: undefined when it does not exist yet. Throws a VectorStoreFileError when it is
 * damaged, or was written with another embedding model or dimension than `embedder`'s (0 and null: not known).
 * The vectors go to `onRows` a block of `blockRows` rows at a time (or, from a format-3 file, to `onQuantisedRows`
 * as they are stored, when given); without either they are returned in one array (tests and tools: a large
 * store's vectors may not fit one).
 */
export async function readVectorFile(
  file: string,
  embedder: { dimensions: number; modelId: string | null },
  options: {
    onRows?: RowsReader;
    onQuantisedRows?: QuantisedRowsReader;
    blockRows?: number;
    /** False: the texts are not kept (the store reads them from the file when asked), only where they are. */
    texts?: boolean;
    /**
     * True for a store of `count` chunks that reads its vectors from the file when needed: a format-3 file's
     * vectors are then neither read nor checked against their checksum (a million are 1 GB).
     */
    leaveVectors?: (count: number) => boolean;
    /**
     * The ids, metadata and record positions of the base `baseId` of `count` chunks, saved beside it
     * (chunk-index-file.ts), when there is such an index: the records are then neither read nor checked (a
     * million of them take 1.5 s to parse). Only asked when the texts are not kept.
     */
    chunkIndex?: (baseId: string, count: number) => Promise<IndexedChunks | undefined>;
    /** How the file is read: sealed when DATA_DIR is encrypted. */
    files?: DataFiles;
  } = {},
): Promise<LoadedVectorFile | undefined> {
  let handle: RandomReader;
  try {
    handle = await (options.files ?? plainFiles).openReader(file);
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
    const rowBytes = vectorRowBytes(header.version, dimensions);
    const block = Buffer.alloc(blockRows * rowBytes);
    // Format 3's rows as floats, for a reader that takes floats.
    const floats =
      header.version === 3 && !options.onQuantisedRows ? new Float32Array(blockRows * dimensions) : undefined;
    const vectorsLeft = header.version === 3 && count > 0 && options.leaveVectors?.(count) === true;
    let crc = vectorsLeft ? header.vectorsCrc32 : 0;
    for (let first = 0; first < count && !vectorsLeft; first += blockRows) {
      const n = Math.min(blockRows, count - first);
      const bytes = block.subarray(0, n * rowBytes);
      await handle.read(bytes, header.vectorsStart + first * rowBytes);
      crc = crc32(bytes, crc);
      if (header.version !== 3) onRows(first, n, rowsOf(bytes), dimensions);
      else if (options.onQuantisedRows) options.onQuantisedRows(first, n, bytes, dimensions);
      else if (floats) {
        dequantisedRows(bytes, n, dimensions, floats);
        onRows(first, n, floats.subarray(0, n * dimensions), dimensions);
      }
    }
    if (crc !== header.vectorsCrc32) throw corrupt(file, "its vectors fail the checksum");
    // After the vectors, though the file holds them first: each page of vectors the reader allocates counts as
    // external memory, which makes V8 collect every few tens of MB of it, and each such collection walks the whole
    // heap. Before the chunks are in it that is a few ms; after, 0.3 s each: 20 of the 44 s a million chunks took.
    const keepTexts = options.texts ?? true;
    const indexed =
      !keepTexts && header.records && header.baseId && options.chunkIndex
        ? await options.chunkIndex(header.baseId, count)
        : undefined;
    const chunks =
      header.chunks ??
      (indexed ? { ...indexed, texts: [] } : await readRecords(handle, file, header, keepTexts));
    return {
      baseId: header.baseId,
      embeddingModelId: header.embeddingModelId,
      dimensions,
      count,
      ...chunks,
      vectors: all ?? new Float32Array(0),
      vectorsLeft,
      vectorsStart: header.vectorsStart,
      vectorsCrc32: header.vectorsCrc32,
      ...(indexed && header.records ? { recordsLeft: header.records } : {}),
      version: header.version,
    };
  } finally {
    await handle.close();
  }
}

/** The header, checked; the file's length must be exactly what it describes. */
async function readHeader(handle: RandomReader, file: string): Promise<ReadHeader> {
  const size = handle.size;
  if (size < PREFIX_V1) throw corrupt(file, `only ${size} bytes, truncated`);
  const magic = Buffer.alloc(MAGIC_V2.length);
  await handle.read(magic, 0);
  if (magic.equals(MAGIC_V3)) return readHeaderV2(handle, file, size, 3);
  if (magic.equals(MAGIC_V2)) return readHeaderV2(handle, file, size, 2);
  if (magic.equals(MAGIC_V1)) return readHeaderV1(handle, file, size);
  throw corrupt(file, "not a Counsel vector store file");
}

/** Format 2's header, or format 3's (the same, but for its vectors). */
async function readHeaderV2(
  handle: RandomReader,
  file: string,
  size: number,
  version: 2 | 3,
): Promise<ReadHeader> {
  if (size < PREFIX_V2) throw corrupt(file, "truncated inside its header");
  const prefix = Buffer.alloc(PREFIX_V2);
  await handle.read(prefix, 0);
  const headerLength = prefix.readUInt32LE(8);
  const recordsBytes = Number(prefix.readBigUInt64LE(16));
  if (PREFIX_V2 + headerLength > size) throw corrupt(file, "truncated inside its header");
  const json = Buffer.alloc(headerLength);
  await handle.read(json, PREFIX_V2);
  if (crc32(json) !== prefix.readUInt32LE(12)) throw corrupt(file, "its header fails the checksum");
  const header = parseJson(json, file) as HeaderV2;
  const { dimensions, count } = header ?? {};
  if (
    header?.format !== FORMAT ||
    header.version !== version ||
    !Number.isInteger(dimensions) ||
    dimensions < 0 ||
    !Number.isInteger(count) ||
    count < 0
  ) {
    throw corrupt(file, "its header is not a valid index description");
  }
  const recordsStart = paddedToFour(PREFIX_V2 + headerLength);
  return {
    ...sizedHeader(file, size, header, paddedToFour(recordsStart + recordsBytes)),
    version,
    records: { start: recordsStart, bytes: recordsBytes, crc32: prefix.readUInt32LE(24) },
  };
}

async function readHeaderV1(handle: RandomReader, file: string, size: number): Promise<ReadHeader> {
  const head = Buffer.alloc(PREFIX_V1);
  await handle.read(head, 0);
  const headerLength = head.readUInt32LE(MAGIC_V1.length);
  if (PREFIX_V1 + headerLength > size) throw corrupt(file, "truncated inside its header");
  const json = Buffer.alloc(headerLength);
  await handle.read(json, PREFIX_V1);
  const header = parseJson(json, file) as HeaderV1;
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
  return {
    ...sizedHeader(file, size, header, paddedToFour(PREFIX_V1 + headerLength)),
    version: 1,
    chunks: { ids, texts, metadata },
  };
}

/**
 * What both formats' headers say of the file, once its size is exactly what they describe: their vectors from
 * `vectorsStart` to the end.
 */
function sizedHeader(
  file: string,
  size: number,
  header: HeaderV1 | HeaderV2,
  vectorsStart: number,
): Omit<ReadHeader, "version"> {
  const { count, dimensions } = header;
  const expected = vectorsStart + count * vectorRowBytes(header.version, dimensions);
  if (size !== expected) {
    throw corrupt(file, `expected ${expected} bytes for ${count} vectors, found ${size}`);
  }
  return {
    baseId: typeof header.baseId === "string" ? header.baseId : null,
    embeddingModelId: header.embeddingModelId ?? null,
    dimensions,
    count,
    vectorsCrc32: header.vectorsCrc32,
    vectorsStart,
  };
}

function parseJson(json: Buffer, file: string): unknown {
  try {
    return JSON.parse(json.toString("utf8"));
  } catch {
    throw corrupt(file, "its header is not valid JSON");
  }
}

/**
 * Format 2's chunk records, read a block at a time and checked (count, lengths, CRC, unique ids), with where each
 * is; their texts kept unless `keepTexts` is false.
 */
async function readRecords(
  handle: RandomReader,
  file: string,
  header: ReadHeader,
  keepTexts: boolean,
): Promise<Pick<LoadedVectorFile, "ids" | "texts" | "metadata" | "records">> {
  const { start, bytes, crc32: expected } = header.records as NonNullable<ReadHeader["records"]>;
  const ids: string[] = [];
  const texts: string[] = [];
  const metadata: Record<string, unknown>[] = [];
  const records: RecordPositions = {
    at: new Float64Array(header.count),
    lengths: new Uint32Array(header.count),
  };
  let crc = 0;
  // Unparsed bytes carried from one block to the next: a record may span blocks.
  let pending = Buffer.alloc(0);
  for (let at = 0; at < bytes; ) {
    const block = Buffer.alloc(Math.min(RECORD_BLOCK, bytes - at));
    // Where `buffer` starts in the file.
    const bufferStart = start + at - pending.length;
    await handle.read(block, start + at);
    at += block.length;
    crc = crc32(block, crc);
    let buffer = pending.length > 0 ? Buffer.concat([pending, block]) : block;
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32LE(offset);
      if (buffer.length - offset - 4 < length) break;
      const record = parseRecord(buffer.subarray(offset + 4, offset + 4 + length));
      if (!record) throw corrupt(file, `chunk record ${ids.length} is not [id, text, metadata]`);
      if (ids.length >= header.count) throw corrupt(file, `it holds more than ${header.count} chunk records`);
      records.at[ids.length] = bufferStart + offset + 4;
      records.lengths[ids.length] = length;
      ids.push(record[0]);
      if (keepTexts) texts.push(record[1]);
      metadata.push(record[2]);
      offset += 4 + length;
    }
    // A record larger than a block is read whole before it is parsed.
    buffer = buffer.subarray(offset);
    pending = Buffer.from(buffer);
  }
  if (crc !== expected) throw corrupt(file, "its chunks fail the checksum");
  if (pending.length > 0 || ids.length !== header.count || new Set(ids).size !== header.count) {
    throw corrupt(file, `its chunk records do not hold ${header.count} distinct chunks`);
  }
  return { ids, texts, metadata, records };
}

/** A chunk record's JSON parsed: [id, text, metadata], or undefined when it is not one. */
export function parseRecord(bytes: Buffer): [string, string, Record<string, unknown>] | undefined {
  try {
    const record = JSON.parse(bytes.toString("utf8"));
    if (
      Array.isArray(record) &&
      record.length === 3 &&
      typeof record[0] === "string" &&
      typeof record[1] === "string" &&
      typeof record[2] === "object" &&
      record[2] !== null
    ) {
      return record as [string, string, Record<string, unknown>];
    }
  } catch {
    // Reported by the caller.
  }
  return undefined;
}

/**
 * Checks what a load left unread in a format-3 file against its checksums: the vectors (`leaveVectors`), and the
 * chunk records when their index was read instead (`chunkIndex`). Read a block at a time, with a turn of the
 * event loop after each, so that a large store answers while it is checked. Resolves false if `stopped()` said to
 * stop first; throws store_corrupt when they fail.
 */
export async function verifyUnread(
  file: string,
  loaded: Pick<
    LoadedVectorFile,
    "count" | "dimensions" | "vectorsStart" | "vectorsCrc32" | "vectorsLeft" | "recordsLeft"
  >,
  read: (into: Uint8Array, position: number) => Promise<void>,
  stopped: () => boolean,
): Promise<boolean> {
  const rowBytes = quantisedRowBytes(loaded.dimensions);
  const ranges: { start: number; bytes: number; crc32: number; what: string }[] = [];
  if (loaded.recordsLeft) ranges.push({ ...loaded.recordsLeft, what: "chunks" });
  if (loaded.vectorsLeft) {
    const bytes = loaded.count * rowBytes;
    ranges.push({ start: loaded.vectorsStart, bytes, crc32: loaded.vectorsCrc32, what: "vectors" });
  }
  const block = new Uint8Array(BLOCK_ROWS * rowBytes);
  for (const range of ranges) {
    let crc = 0;
    for (let done = 0; done < range.bytes; done += block.length) {
      if (stopped()) return false;
      const bytes = block.subarray(0, Math.min(block.length, range.bytes - done));
      await read(bytes, range.start + done);
      crc = crc32(bytes, crc);
      await nextTurn();
    }
    if (crc !== range.crc32) throw corrupt(file, `its ${range.what} fail the checksum`);
  }
  return true;
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
// chunk records (every chunk's text and metadata: as large as the store's text) are never held whole, their
// length and checksum patched into the prefix once they are written.

/**
 * Writes `contents` and `vectors` to `file` (replaced atomically), yielding to the event loop whenever a step
 * has computed for `stepMs` (0: after every step). Returns where the file holds each chunk's record.
 */
export async function writeVectorFile(
  file: string,
  contents: ChunksToWrite,
  vectors: VectorSnapshot,
  stepMs: number,
  files: DataFiles = plainFiles,
): Promise<WrittenBase> {
  const pause = pacer(stepMs);
  const header: HeaderV2 = {
    format: FORMAT,
    version: 3,
    baseId: contents.baseId,
    embeddingModelId: contents.embeddingModelId,
    dimensions: contents.dimensions,
    count: contents.count,
    vectorsCrc32: await vectorsCrc32(vectors, pause),
  };
  const json = Buffer.from(JSON.stringify(header));
  const positions: RecordPositions = {
    at: new Float64Array(contents.count),
    lengths: new Uint32Array(contents.count),
  };
  const recordsStart = paddedToFour(PREFIX_V2 + json.length);
  let vectorsStart = 0;
  await files.writeFileAtomic(file, async (out) => {
    const prefix = Buffer.alloc(PREFIX_V2);
    MAGIC_V3.copy(prefix);
    prefix.writeUInt32LE(json.length, 8);
    prefix.writeUInt32LE(crc32(json), 12);
    await out.write(prefix);
    await out.write(json);
    await out.write(zeros(paddedToFour(PREFIX_V2 + json.length) - PREFIX_V2 - json.length));
    let bytes = 0;
    let crc = 0;
    for await (const piece of chunkRecords(contents, pause, undefined, positions)) {
      await out.write(piece);
      bytes += piece.length;
      crc = crc32(piece, crc);
    }
    await out.write(zeros(paddedToFour(bytes) - bytes));
    vectorsStart = recordsStart + paddedToFour(bytes);
    for (const rows of vectorRows(vectors)) await out.write(rows);
    prefix.writeBigUInt64LE(BigInt(bytes), 16);
    prefix.writeUInt32LE(crc, 24);
    await out.write(prefix, 0);
  });
  for (let slot = 0; slot < contents.count; slot++) positions.at[slot] += recordsStart;
  return { ...positions, vectorsStart };
}

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

/** The CRC-32 of the vectors as the file holds them (quantised rows). */
async function vectorsCrc32(vectors: VectorSnapshot, pause: Pause): Promise<number> {
  let crc = 0;
  for (const rows of vectorRows(vectors)) {
    crc = crc32(rows, crc);
    await pause();
  }
  return crc;
}

/** The vectors as quantised rows, a few slots at a time, in one buffer reused: take each before the next. */
function* vectorRows(vectors: VectorSnapshot): Generator<Buffer> {
  const { count, dims } = vectors;
  const step = slotsPerStep(dims);
  const rowBytes = quantisedRowBytes(dims);
  const rows = Buffer.alloc(step * rowBytes);
  for (let first = 0; first < count; first += step) {
    const n = Math.min(step, count - first);
    vectors.readQuantisedRows(first, n, rows);
    yield rows.subarray(0, n * rowBytes);
  }
}

/** Bytes of one vector in a file of format `version`: float32 values, or (format 3) a step and int8 values. */
function vectorRowBytes(version: 1 | 2 | 3, dimensions: number): number {
  return version === 3 ? quantisedRowBytes(dimensions) : dimensions * 4;
}

/**
 * The chunk records of `contents` (a uint32 LE length, then the UTF-8 JSON [id, text, metadata]), `perStep` chunks
 * to a piece, with a pause after each; a record `contents.stored` holds is copied from there, runs of them that lie
 * one after another in one read. Where each record's JSON lands, from the first record's first byte, goes into
 * `positions` when given. Exported for tests.
 */
export async function* chunkRecords(
  contents: Pick<ChunksToWrite, "count" | "ids" | "texts" | "metadata" | "stored">,
  pause: Pause,
  perStep = 256,
  positions?: RecordPositions,
): AsyncGenerator<Buffer> {
  const { stored } = contents;
  let written = 0;
  for (let from = 0; from < contents.count; ) {
    const to = Math.min(from + perStep, contents.count);
    const pieces: Buffer[] = [];
    for (let slot = from; slot < to; ) {
      const text = contents.texts[slot];
      if (text !== undefined) {
        const json = Buffer.from(JSON.stringify([contents.ids[slot], text, contents.metadata[slot]]));
        const length = Buffer.alloc(4);
        length.writeUInt32LE(json.length);
        pieces.push(length, json);
        if (positions) {
          positions.at[slot] = written + 4;
          positions.lengths[slot] = json.length;
        }
        written += 4 + json.length;
        slot += 1;
        continue;
      }
      if (!stored) throw new Error(`chunk ${contents.ids[slot]} has no text to write`);
      // A run of stored records that lie one after another: one read, length prefixes and all.
      const first = stored.at[slot] - 4;
      let end = slot + 1;
      let bytes = 4 + stored.lengths[slot];
      while (
        end < to &&
        contents.texts[end] === undefined &&
        stored.at[end] === first + bytes + 4 &&
        bytes < RECORD_BLOCK
      ) {
        bytes += 4 + stored.lengths[end];
        end += 1;
      }
      const run = Buffer.alloc(bytes);
      await stored.read(run, first);
      pieces.push(run);
      for (let copied = slot; copied < end; copied++) {
        if (positions) {
          positions.at[copied] = written + (stored.at[copied] - first);
          positions.lengths[copied] = stored.lengths[copied];
        }
      }
      written += bytes;
      slot = end;
    }
    yield Buffer.concat(pieces);
    await pause();
    from = to;
  }
}

function zeros(length: number): Buffer {
  return Buffer.alloc(length);
}

function paddedToFour(length: number): number {
  return length + ((4 - (length % 4)) % 4);
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
