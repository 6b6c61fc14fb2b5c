// The chunks' index, saved beside a large store's base file (vector-file.ts): every chunk's id and metadata, and
// where the base holds its record, so that a start reads them in a few large JSON parses instead of parsing a
// million records (each with its text, which such a start then drops): 1.5 s of a million-chunk start.
//
// Like the BM25 file (bm25-file.ts) it is a cache tied to one base: written after a new base from what that base
// holds, ignored when it names another base or is damaged (the records are then read as before).
import { endianness } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { DataFiles } from "../at-rest/data-files.ts";
import { readCheckedFile, writeCheckedFile } from "./checked-file.ts";
import type { IndexedChunks } from "./vector-file.ts";

const MAGIC = Buffer.from("CNSLCHNK", "latin1");
const FORMAT = "counsel-local-chunks";
/** Chunks per JSON piece: each a few MB, parsed (and written) between turns of the event loop. */
const PIECE = 50_000;

export type ChunkIndex = IndexedChunks;

interface Header {
  format: typeof FORMAT;
  version: 1;
  baseId: string;
  count: number;
  endianness: "LE" | "BE";
  /** Bytes of each piece's ids and metadata JSON, in order. */
  pieces: [ids: number, metadata: number][];
}

/** The file beside the base file `file`. */
export function chunkIndexFile(file: string): string {
  return `${file}.chunks`;
}

/** Saves the index of the base `baseId`: its chunks in file order, and where it holds each one's record. */
export async function writeChunkIndex(
  file: string,
  baseId: string,
  chunks: ChunkIndex,
  files?: DataFiles,
): Promise<void> {
  const count = chunks.ids.length;
  const pieces: Buffer[] = [];
  const sizes: [number, number][] = [];
  for (let from = 0; from < count; from += PIECE) {
    const ids = Buffer.from(JSON.stringify(chunks.ids.slice(from, from + PIECE)));
    const metadata = Buffer.from(JSON.stringify(chunks.metadata.slice(from, from + PIECE)));
    pieces.push(ids, metadata);
    sizes.push([ids.length, metadata.length]);
    await nextTurn();
  }
  const header: Header = {
    format: FORMAT,
    version: 1,
    baseId,
    count,
    endianness: endianness(),
    pieces: sizes,
  };
  const at = chunks.records.at.subarray(0, count);
  const lengths = chunks.records.lengths.subarray(0, count);
  const body = [
    Buffer.from(at.buffer, at.byteOffset, at.byteLength),
    Buffer.from(lengths.buffer, lengths.byteOffset, lengths.byteLength),
    ...pieces,
  ];
  await writeCheckedFile(file, MAGIC, header, body, files);
}

/**
 * The index saved at `file` for the base `baseId` of `count` chunks; undefined when there is none for it (no
 * file, another base, another byte order). A damaged one is reported through `onDamaged` and also gives undefined.
 */
export async function readChunkIndex(
  file: string,
  baseId: string,
  count: number,
  onDamaged: (reason: string) => void,
  files?: DataFiles,
): Promise<ChunkIndex | undefined> {
  const read = await readCheckedFile(file, MAGIC, "chunk index", onDamaged, files);
  if (!read) return undefined;
  const { bytes } = read;
  const header = read.header as Header;
  if (header?.format !== FORMAT || header.version !== 1 || !Array.isArray(header.pieces)) {
    onDamaged("its header is not a chunk index's");
    return undefined;
  }
  if (header.baseId !== baseId || header.count !== count || header.endianness !== endianness())
    return undefined;
  let offset = read.bodyStart;
  // Copied out of the file's buffer: the positions live as long as the store, the rest of the file does not.
  const at = new Float64Array(count);
  const lengths = new Uint32Array(count);
  const ids: string[] = [];
  const metadata: Record<string, unknown>[] = [];
  try {
    at.set(
      new Float64Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 8)),
    );
    offset += count * 8;
    lengths.set(
      new Uint32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4)),
    );
    offset += count * 4;
    for (const [idBytes, metadataBytes] of header.pieces) {
      for (const id of JSON.parse(bytes.toString("utf8", offset, offset + idBytes)) as string[]) ids.push(id);
      offset += idBytes;
      const pieceMetadata = JSON.parse(bytes.toString("utf8", offset, offset + metadataBytes));
      for (const meta of pieceMetadata as typeof metadata) metadata.push(meta);
      offset += metadataBytes;
      await nextTurn();
    }
  } catch {
    onDamaged("its pieces are not as its header describes");
    return undefined;
  }
  if (offset !== bytes.length || ids.length !== count || metadata.length !== count) {
    onDamaged("it does not hold the chunks its header says");
    return undefined;
  }
  return { ids, metadata, records: { at, lengths } };
}
