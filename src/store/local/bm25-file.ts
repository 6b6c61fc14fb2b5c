// The local store's BM25 index, saved beside its base file (vector-file.ts) so that opening a store reads the
// index back instead of analysing every chunk's text again: for 50,000 chunks that was 6.7 of the 7.2 s a start
// took, and it grows with the store. The file is a cache: when it is missing, damaged, of another base, or made
// by another analysis, the store rebuilds the index from the texts as before (and the next new base saves it).
//
// It is written once a new base is on disk, from the index as it is then, which may already hold changes made
// while the base was written: those chunks' ids are listed (`stale`), and after the base and its log are read
// back, their entries are set again from the store's own texts.
//
// File layout: MAGIC, uint32 LE header length, uint32 LE CRC-32 of all that follows, the JSON header (what the
// image holds in strings and counters, the arrays' names, types and lengths), zero padding to a multiple of 8,
// then each array in the machine's byte order, padded to a multiple of 8.
import { endianness } from "node:os";
import type { DataFiles } from "../at-rest/data-files.ts";
import type { Bm25Image, TfArray } from "../bm25-index.ts";
import { paddedToEight, padding, readCheckedFile, writeCheckedFile } from "./checked-file.ts";

const MAGIC = Buffer.from("CNSLBM25", "latin1");
const FORMAT = "counsel-local-bm25";

/** What ties a saved index to the store it indexes. */
export interface Bm25FileIdentity {
  /** The base file it was saved with. */
  baseId: string;
  /** Bm25Index.analysisFingerprint() of the index that saved it. */
  analysis: string;
}

export interface SavedBm25 {
  image: Bm25Image;
  /** Chunks whose entries may differ from the base: set again from the store once it is read. */
  stale: string[];
}

type ArrayName = keyof Bm25Image["arrays"];
type AnyArray = Bm25Image["arrays"][ArrayName];

const ARRAY_TYPES = {
  Int8Array,
  Uint8Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float64Array,
} as const;
type ArrayType = keyof typeof ARRAY_TYPES;

interface Header extends Bm25FileIdentity {
  format: typeof FORMAT;
  version: 1;
  endianness: "LE" | "BE";
  stale: string[];
  strings: Bm25Image["strings"];
  arrays: { name: ArrayName; type: ArrayType; length: number }[];
}

/** The file beside the base file `file`. */
export function bm25File(file: string): string {
  return `${file}.bm25`;
}

export async function writeBm25File(
  file: string,
  identity: Bm25FileIdentity,
  stale: Iterable<string>,
  image: Bm25Image,
  files?: DataFiles,
): Promise<void> {
  const arrays = Object.entries(image.arrays) as [ArrayName, AnyArray][];
  const header: Header = {
    format: FORMAT,
    version: 1,
    ...identity,
    endianness: endianness(),
    stale: [...stale],
    strings: image.strings,
    arrays: arrays.map(([name, array]) => ({ name, type: typeName(array), length: array.length })),
  };
  const body: Buffer[] = [];
  for (const [, array] of arrays) body.push(bytesOf(array), padding(array.byteLength));
  await writeCheckedFile(file, MAGIC, header, body, files);
}

/**
 * The index saved at `file` for `identity`; undefined when there is none for it (no file, another base or
 * analysis, another byte order). A damaged file is reported through `onDamaged` and also gives undefined.
 */
export async function readBm25File(
  file: string,
  identity: Bm25FileIdentity,
  onDamaged: (reason: string) => void,
  files?: DataFiles,
): Promise<SavedBm25 | undefined> {
  const read = await readCheckedFile(file, MAGIC, "BM25 file", onDamaged, files);
  if (!read) return undefined;
  const { bytes } = read;
  const header = read.header as Header;
  if (header?.format !== FORMAT || header.version !== 1 || !Array.isArray(header.arrays)) {
    onDamaged("its header is not a BM25 index description");
    return undefined;
  }
  if (
    header.baseId !== identity.baseId ||
    header.analysis !== identity.analysis ||
    header.endianness !== endianness()
  ) {
    return undefined;
  }
  let at = read.bodyStart;
  const arrays: Partial<Record<ArrayName, AnyArray>> = {};
  for (const { name, type, length } of header.arrays) {
    const Type = ARRAY_TYPES[type];
    const byteLength = length * (Type?.BYTES_PER_ELEMENT ?? 0);
    if (!Type || !Number.isInteger(length) || length < 0 || at + byteLength > bytes.length) {
      onDamaged("truncated, or its arrays are not as its header describes");
      return undefined;
    }
    // A view of the file's bytes where they are aligned for the type (they are: a large read gets a buffer of
    // its own, and every array starts at a multiple of 8), a copy otherwise.
    const offset = bytes.byteOffset + at;
    arrays[name] =
      offset % Type.BYTES_PER_ELEMENT === 0
        ? new Type(bytes.buffer as ArrayBuffer, offset, length)
        : new Type(Uint8Array.from(bytes.subarray(at, at + byteLength)).buffer);
    at = paddedToEight(at + byteLength);
  }
  if (at !== bytes.length) {
    onDamaged("its length is not what its header describes");
    return undefined;
  }
  return { image: { strings: header.strings, arrays: arrays as Bm25Image["arrays"] }, stale: header.stale };
}

function typeName(array: AnyArray | TfArray): ArrayType {
  return array.constructor.name as ArrayType;
}

function bytesOf(array: AnyArray): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
