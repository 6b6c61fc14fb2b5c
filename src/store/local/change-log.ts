// The local vector store's change log: the chunks put and deleted since the store file (the base, vector-file.ts)
// was last written, appended at each save. Rewriting the whole store at every save made a long ingestion
// quadratic (each batch of chunks rewrote every chunk before it) and churned as much memory as the store holds;
// an append costs what changed. When the log outgrows the base, the store writes a new base and starts a new log.
//
// File layout: MAGIC, uint32 LE header length, a JSON header naming the base it continues ({baseId}), then
// records: uint32 LE payload length, uint32 LE CRC-32 of the payload, the payload (uint32 LE JSON length, the JSON
// {op, ids, texts, metadata}, zero padding to a multiple of 4, then a put's vectors row-major float32 LE).
//
// Crash safety: each save appends whole records and fsyncs; a crash can leave only a torn last record, which the
// next open cuts off (those changes were never acknowledged by a completed flush). A new base is written before
// its log is replaced, and a log whose baseId is not the base's belongs to the base before it (whose changes the
// new base already holds): it is ignored and replaced.
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import type { DataFiles, RandomReader } from "../at-rest/data-files.ts";
import { plainFiles } from "../at-rest/plain-files.ts";

/** Chunks written (inserted or replaced), with their vectors row-major. */
export interface PutRecord {
  op: "put";
  ids: string[];
  texts: string[];
  metadata: Record<string, unknown>[];
  /** ids.length x dimensions, row-major. */
  vectors: Float32Array;
  dimensions: number;
}

export interface DeleteRecord {
  op: "delete";
  ids: string[];
}

export type ChangeRecord = PutRecord | DeleteRecord;

const MAGIC = Buffer.from("CNSLLOG1", "latin1");
const FORMAT = "counsel-local-vector-log";
const LITTLE_ENDIAN = endianness() === "LE";
const RECORD_PREFIX = 8;
/** No record is this large (a save writes a few hundred chunks a record): a larger length is damage. */
const MAX_RECORD_BYTES = 1 << 30;

interface LogHeader {
  format: typeof FORMAT;
  version: 1;
  /** The base this log continues; null before the store has ever written one. */
  baseId: string | null;
}

/** What opening a log found. */
export interface OpenedLog {
  log: ChangeLog;
  /** Records replayed. */
  records: number;
  /** Bytes of a torn last record cut off (a crash during an append), 0 normally. */
  tornBytes: number;
  /** True when the log belonged to an earlier base and was set aside. */
  stale: boolean;
}

export class ChangeLog {
  private constructor(
    readonly file: string,
    private baseId: string | null,
    /** Length of the log's good records; a failed append is cut back to it. */
    private length: number,
    private readonly files: DataFiles,
  ) {}

  /** Bytes the log holds (0 when it has no file yet). */
  get bytes(): number {
    return this.length;
  }

  /** A log with nothing to replay: its first append replaces whatever `file` holds. */
  static fresh(file: string, baseId: string | null = null, files: DataFiles = plainFiles): ChangeLog {
    return new ChangeLog(file, baseId, 0, files);
  }

  /**
   * Opens the log at `file` for the base `baseId` and hands each of its records to `apply`, in order. A missing
   * log, or one that belongs to another base, is an empty log (the latter is replaced at the next append).
   */
  static async open(
    file: string,
    baseId: string | null,
    apply: (record: ChangeRecord) => void,
    files: DataFiles = plainFiles,
  ): Promise<OpenedLog> {
    let handle: RandomReader;
    try {
      handle = await files.openReader(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        return { log: new ChangeLog(file, baseId, 0, files), records: 0, tornBytes: 0, stale: false };
      }
      throw error;
    }
    let replayed = 0;
    let good = 0;
    let size = 0;
    try {
      size = handle.size;
      const header = await readHeader(handle, size);
      if (!header || header.header.baseId !== baseId) {
        // Not ours (an earlier base's, or a header torn before its first record): start over at the next append.
        const log = new ChangeLog(file, baseId, 0, files);
        return { log, records: 0, tornBytes: 0, stale: header !== undefined };
      }
      good = header.end;
      for (;;) {
        const record = await readRecord(handle, good, size);
        if (!record) break;
        apply(record.record);
        replayed += 1;
        good = record.end;
      }
    } finally {
      await handle.close();
    }
    // Whatever follows the last good record is an append a crash tore: cut it off so that appends go after the
    // good ones.
    if (good < size) await files.truncate(file, good);
    return {
      log: new ChangeLog(file, baseId, good, files),
      records: replayed,
      tornBytes: size - good,
      stale: false,
    };
  }

  /**
   * Appends `records` and makes them durable. If anything fails the log is cut back to what it held before,
   * so that a later append never lands behind a torn record.
   */
  async append(records: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>): Promise<void> {
    if (this.length === 0) await this.reset(this.baseId);
    const before = this.length;
    const handle = await this.files.openAppender(this.file);
    try {
      for await (const record of records) {
        const bytes = encodeRecord(record);
        // One append per record: a crash tears at most the last one.
        await handle.append(bytes);
        this.length += bytes.length;
      }
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      this.length = before;
      await this.files.truncate(this.file, before).catch(() => undefined);
      throw error;
    }
    await handle.close();
  }

  /** Replaces the log by an empty one continuing `baseId` (after a new base is written). */
  async reset(baseId: string | null): Promise<void> {
    const header = encodeHeader({ format: FORMAT, version: 1, baseId });
    await this.files.writeFileAtomic(this.file, header, { appendable: true });
    this.baseId = baseId;
    this.length = header.length;
  }
}

function encodeHeader(header: LogHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(MAGIC.length + 4 + json.length);
  MAGIC.copy(out);
  out.writeUInt32LE(json.length, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  return out;
}

async function readHeader(
  handle: RandomReader,
  size: number,
): Promise<{ header: LogHeader; end: number } | undefined> {
  const prefix = MAGIC.length + 4;
  if (size < prefix) return undefined;
  const head = await readAt(handle, 0, prefix);
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const length = head.readUInt32LE(MAGIC.length);
  if (prefix + length > size) return undefined;
  try {
    const header = JSON.parse((await readAt(handle, prefix, length)).toString("utf8")) as LogHeader;
    if (header?.format !== FORMAT || header.version !== 1) return undefined;
    return { header, end: prefix + length };
  } catch {
    return undefined;
  }
}

/** The record at `offset`, or undefined where the good records end (end of file, or a torn or damaged record). */
async function readRecord(
  handle: RandomReader,
  offset: number,
  size: number,
): Promise<{ record: ChangeRecord; end: number } | undefined> {
  if (offset + RECORD_PREFIX > size) return undefined;
  const prefix = await readAt(handle, offset, RECORD_PREFIX);
  const length = prefix.readUInt32LE(0);
  // A zero length is what a crash leaves when the file system extended the file with zeros.
  if (length < 4 || length > MAX_RECORD_BYTES || offset + RECORD_PREFIX + length > size) return undefined;
  const payload = await readAt(handle, offset + RECORD_PREFIX, length);
  if (crc32(payload) !== prefix.readUInt32LE(4)) return undefined;
  const record = decodePayload(payload);
  return record && { record, end: offset + RECORD_PREFIX + length };
}

/** Up to `length` bytes from `position`: fewer at the end of the file. */
async function readAt(handle: RandomReader, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, Math.min(length, handle.size - position)));
  await handle.read(buffer, position);
  return buffer;
}

export function encodeRecord(record: ChangeRecord): Buffer {
  const meta =
    record.op === "put"
      ? { op: "put", ids: record.ids, texts: record.texts, metadata: record.metadata }
      : { op: "delete", ids: record.ids };
  const json = Buffer.from(JSON.stringify(meta));
  const jsonEnd = 4 + json.length;
  const vectorsAt = jsonEnd + ((4 - (jsonEnd % 4)) % 4);
  const vectorBytes = record.op === "put" ? record.vectors.byteLength : 0;
  const out = Buffer.alloc(RECORD_PREFIX + vectorsAt + vectorBytes);
  const payload = out.subarray(RECORD_PREFIX);
  payload.writeUInt32LE(json.length, 0);
  json.copy(payload, 4);
  if (record.op === "put") writeFloats(record.vectors, payload, vectorsAt);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  return out;
}

function decodePayload(payload: Buffer): ChangeRecord | undefined {
  const jsonLength = payload.readUInt32LE(0);
  if (4 + jsonLength > payload.length) return undefined;
  let meta: { op?: unknown; ids?: unknown; texts?: unknown; metadata?: unknown };
  try {
    meta = JSON.parse(payload.toString("utf8", 4, 4 + jsonLength));
  } catch {
    return undefined;
  }
  if (!Array.isArray(meta?.ids)) return undefined;
  const ids = meta.ids as string[];
  if (meta.op === "delete") return { op: "delete", ids };
  if (meta.op !== "put" || !Array.isArray(meta.texts) || !Array.isArray(meta.metadata)) return undefined;
  const jsonEnd = 4 + jsonLength;
  const vectorsAt = jsonEnd + ((4 - (jsonEnd % 4)) % 4);
  const floats = (payload.length - vectorsAt) / 4;
  if (ids.length === 0 || meta.texts.length !== ids.length || meta.metadata.length !== ids.length)
    return undefined;
  if (!Number.isInteger(floats) || floats % ids.length !== 0) return undefined;
  return {
    op: "put",
    ids,
    texts: meta.texts as string[],
    metadata: meta.metadata as Record<string, unknown>[],
    vectors: readFloats(payload, vectorsAt, floats),
    dimensions: floats / ids.length,
  };
}

function writeFloats(values: Float32Array, out: Buffer, offset: number): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], offset + i * 4);
}

function readFloats(bytes: Buffer, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  else for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(offset + i * 4);
  return out;
}
