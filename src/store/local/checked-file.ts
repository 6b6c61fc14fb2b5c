// The layout the files saved beside a base share (its BM25 index, its chunk index): MAGIC, uint32 LE header
// length, uint32 LE CRC-32 of all that follows, the JSON header, zero padding to a multiple of 8, then the body
// each file lays out its own way. Written atomically; read back whole and checked before anything is parsed.
import { crc32 } from "node:zlib";
import type { DataFiles } from "../at-rest/data-files.ts";
import { plainFiles } from "../at-rest/plain-files.ts";
import { SealedFileError } from "../at-rest/sealed-files.ts";

/** MAGIC (8 bytes), the header's length, the checksum. */
const PREFIX = 16;

/** Writes `header` and `body` to `file` behind `magic` (8 bytes), replacing it atomically. */
export async function writeCheckedFile(
  file: string,
  magic: Buffer,
  header: unknown,
  body: Buffer[],
  files: DataFiles = plainFiles,
): Promise<void> {
  const json = Buffer.from(JSON.stringify(header));
  const pieces = [json, padding(PREFIX + json.length), ...body];
  let crc = 0;
  for (const piece of pieces) crc = crc32(piece, crc);
  const prefix = Buffer.alloc(PREFIX);
  magic.copy(prefix);
  prefix.writeUInt32LE(json.length, magic.length);
  prefix.writeUInt32LE(crc, magic.length + 4);
  await files.writeFileAtomic(file, [prefix, ...pieces]);
}

/** A file read back and checked: its parsed header, its bytes, and where its body starts in them. */
export interface CheckedFile {
  header: unknown;
  bytes: Buffer;
  bodyStart: number;
}

/**
 * The file at `file` written by writeCheckedFile with `magic`; undefined when there is none. A damaged one (not
 * a Counsel `kind`, a failed checksum, a header that is not JSON) goes to `onDamaged` and also gives undefined.
 */
export async function readCheckedFile(
  file: string,
  magic: Buffer,
  kind: string,
  onDamaged: (reason: string) => void,
  files: DataFiles = plainFiles,
): Promise<CheckedFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await files.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // What a sealed file that does not open holds is as lost as a damaged one's: rebuilt the same way.
    if (error instanceof SealedFileError) {
      onDamaged(error.message);
      return undefined;
    }
    throw error;
  }
  if (bytes.length < PREFIX || !bytes.subarray(0, magic.length).equals(magic)) {
    onDamaged(`not a Counsel ${kind}`);
    return undefined;
  }
  if (crc32(bytes.subarray(PREFIX)) !== bytes.readUInt32LE(magic.length + 4)) {
    onDamaged("it fails its checksum");
    return undefined;
  }
  const headerLength = bytes.readUInt32LE(magic.length);
  try {
    const header = JSON.parse(bytes.toString("utf8", PREFIX, PREFIX + headerLength));
    return { header, bytes, bodyStart: paddedToEight(PREFIX + headerLength) };
  } catch {
    onDamaged("its header is not valid JSON");
    return undefined;
  }
}

/** Zeros from `length` to the next multiple of 8. */
export function padding(length: number): Buffer {
  return Buffer.alloc(paddedToEight(length) - length);
}

export function paddedToEight(length: number): number {
  return length + ((8 - (length % 8)) % 8);
}
