// DATA_DIR's files encrypted at rest (DATA_KMS_KEY_ID): AES-256-GCM under a key derived per file from the data
// key that KMS wraps (data-key.ts). Written by hand: the AWS Encryption SDK seals a message to be read whole, and
// the stores read their base files at random positions (a chunk's text, a row of vectors), so a file is sealed in
// frames of 4 KiB, each opened alone.
//
// Layout: a 32-byte header (MAGIC, kind, 3 zero bytes, uint32 LE frame size, a random 16-byte file id), then
// frames: uint32 LE length, 12-byte random nonce, the ciphertext, the 16-byte tag. Each frame authenticates the
// header, its index, its length and (in a file written whole) whether it is the last, so frames cannot be moved,
// swapped between files or cut off unseen. A file appended to (a change log, a journal) takes a frame per append,
// none last: a torn last frame is what a crash mid-append leaves, and is cut off like a torn record.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { type FileHandle, open, truncate } from "node:fs/promises";
import { CounselError } from "../../errors.ts";
import { type FileContents, type FileWriter, writeFileAtomicWith } from "../atomic-file.ts";
import type { DataFiles, FileAppender, RandomReader, WriteOptions } from "./data-files.ts";
import { readExactly, readExactlySync } from "./plain-files.ts";

export const SEALED_MAGIC = Buffer.from("CNSLSEA1", "latin1");
const HEADER = 32;
/**
 * Bytes of content per frame. A random read (a row of vectors, a chunk's text) opens a whole frame and a search
 * reads a hundred rows, so frames are small; larger ones are no faster to read in order.
 */
export const FRAME = 4 * 1024;
const NONCE = 12;
const TAG = 16;
const OVERHEAD = 4 + NONCE + TAG;
const FULL_FRAME = FRAME + OVERHEAD;
const WHOLE = 1;
const APPENDED = 2;
const INFO = Buffer.from("counsel DATA_DIR file v1");

/** A sealed file that cannot be opened: damaged, not sealed, or sealed under another data key. */
export class SealedFileError extends CounselError {
  constructor(file: string, reason: string) {
    super(
      "store_corrupt",
      503,
      `${file} cannot be read with DATA_DIR's data key: ${reason}. Restore it from a backup, or delete it and ` +
        "ingest the documents again.",
    );
    this.name = "SealedFileError";
  }
}

/** DATA_DIR's files sealed with `dataKey` (32 bytes, from KMS). */
export function sealedFiles(dataKey: Buffer): DataFiles {
  if (dataKey.length !== 32) throw new Error("a data key is 32 bytes (AES-256)");
  const keys = new FileKeys(dataKey);
  return {
    sealed: true,
    async readFile(file) {
      const reader = await SealedReader.open(file, keys);
      try {
        const out = Buffer.alloc(reader.size);
        await reader.read(out, 0);
        return out;
      } finally {
        await reader.close();
      }
    },
    writeFileAtomic: (file, contents, options) => writeSealed(file, contents, keys, options),
    openReader: (file) => SealedReader.open(file, keys),
    openAppender: (file) => SealedAppender.open(file, keys),
    async truncate(file, length) {
      const reader = await SealedReader.open(file, keys);
      let cut: { end: number; frame?: Buffer };
      try {
        cut = await reader.cutAt(length);
      } finally {
        await reader.close();
      }
      if (!cut.frame) {
        await truncate(file, cut.end);
        return;
      }
      const handle = await open(file, "r+");
      try {
        await handle.write(cut.frame, 0, cut.frame.length, cut.end - cut.frame.length);
        await handle.truncate(cut.end);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    },
    sealBytes(bytes) {
      const header = newHeader(WHOLE);
      const key = keys.of(header);
      const frames = [header];
      for (let index = 0, at = 0; ; index++, at += FRAME) {
        const final = at + FRAME >= bytes.length;
        frames.push(
          sealFrame(key, header, index, bytes.subarray(at, Math.min(at + FRAME, bytes.length)), final),
        );
        if (final) break;
      }
      return Buffer.concat(frames);
    },
    openBytes(bytes) {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      const header = checkedHeader(buffer, "a value");
      const layout = wholeLayout(buffer.length, "a value");
      const key = keys.of(header);
      const out = Buffer.alloc(layout.size);
      for (let index = 0; index < layout.count; index++) {
        const start = HEADER + index * FULL_FRAME;
        const frame = buffer.subarray(start, start + OVERHEAD + layout.lengthOf(index));
        openFrame(key, header, index, frame, index === layout.count - 1, "a value").copy(out, index * FRAME);
      }
      return out;
    },
  };
}

/** True when `bytes` (a file's first bytes) begin a sealed file. */
export function isSealed(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 8)).equals(SEALED_MAGIC);
}

/** Each file's key, derived from the data key and the file's id: nonces need only be unique within a file. */
class FileKeys {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly dataKey: Buffer) {}

  of(header: Buffer): Buffer {
    const id = header.subarray(16, 32);
    const name = id.toString("hex");
    let key = this.cache.get(name);
    if (!key) {
      key = Buffer.from(hkdfSync("sha256", this.dataKey, id, INFO, 32));
      if (this.cache.size >= 256) this.cache.clear();
      this.cache.set(name, key);
    }
    return key;
  }
}

function newHeader(kind: number): Buffer {
  const header = Buffer.alloc(HEADER);
  SEALED_MAGIC.copy(header);
  header[8] = kind;
  header.writeUInt32LE(FRAME, 12);
  randomBytes(16).copy(header, 16);
  return header;
}

function checkedHeader(bytes: Buffer, file: string): Buffer {
  if (bytes.length < HEADER || !isSealed(bytes)) {
    throw new SealedFileError(file, "it is not sealed (written before DATA_DIR was encrypted, or by hand)");
  }
  if (![WHOLE, APPENDED].includes(bytes[8]) || bytes.readUInt32LE(12) !== FRAME) {
    throw new SealedFileError(file, "its header is not one Counsel writes");
  }
  return Buffer.from(bytes.subarray(0, HEADER));
}

function additionalData(header: Buffer, index: number, length: number, final: boolean): Buffer {
  const aad = Buffer.alloc(HEADER + 13);
  header.copy(aad);
  aad.writeBigUInt64LE(BigInt(index), HEADER);
  aad.writeUInt32LE(length, HEADER + 8);
  aad[HEADER + 12] = final ? 1 : 0;
  return aad;
}

function sealFrame(key: Buffer, header: Buffer, index: number, plain: Uint8Array, final: boolean): Buffer {
  const frame = Buffer.alloc(OVERHEAD + plain.length);
  frame.writeUInt32LE(plain.length, 0);
  const nonce = randomBytes(NONCE);
  nonce.copy(frame, 4);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(additionalData(header, index, plain.length, final));
  const written = cipher.update(plain).copy(frame, 4 + NONCE);
  cipher.final();
  cipher.getAuthTag().copy(frame, 4 + NONCE + written);
  return frame;
}

function openFrame(
  key: Buffer,
  header: Buffer,
  index: number,
  frame: Buffer,
  final: boolean,
  file: string,
): Buffer {
  const length = frame.readUInt32LE(0);
  if (frame.length !== OVERHEAD + length) throw new SealedFileError(file, `frame ${index} is torn`);
  const decipher = createDecipheriv("aes-256-gcm", key, frame.subarray(4, 4 + NONCE));
  decipher.setAAD(additionalData(header, index, length, final));
  decipher.setAuthTag(frame.subarray(4 + NONCE + length));
  const plain = decipher.update(frame.subarray(4 + NONCE, 4 + NONCE + length));
  try {
    decipher.final();
  } catch {
    throw new SealedFileError(file, `frame ${index} fails authentication (damaged, or another data key's)`);
  }
  return plain;
}

/** Where a file written whole keeps its frames: every one full but the last (possibly empty). */
interface Layout {
  count: number;
  size: number;
  lengthOf(index: number): number;
}

function wholeLayout(physical: number, file: string): Layout {
  const body = physical - HEADER;
  const full = Math.floor(body / FULL_FRAME);
  const rest = body - full * FULL_FRAME;
  if (rest !== 0 && rest < OVERHEAD) throw new SealedFileError(file, "it is truncated");
  const count = rest === 0 ? full : full + 1;
  if (count === 0) throw new SealedFileError(file, "it is truncated");
  const last = rest === 0 ? FRAME : rest - OVERHEAD;
  return {
    count,
    size: (count - 1) * FRAME + last,
    lengthOf: (index) => (index === count - 1 ? last : FRAME),
  };
}

class SealedReader implements RandomReader {
  private constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly header: Buffer,
    private readonly key: Buffer,
    /** Each frame's position in the file; one more entry: where the good frames end. */
    private readonly at: number[] | undefined,
    /** Each frame's first byte of content; one more entry: the size. */
    private readonly starts: number[] | undefined,
    private readonly layout: Layout,
  ) {}

  get size(): number {
    return this.layout.size;
  }

  static async open(file: string, keys: FileKeys): Promise<SealedReader> {
    const handle = await open(file, "r");
    try {
      const physical = (await handle.stat()).size;
      const head = Buffer.alloc(Math.min(HEADER, physical));
      await readExactly(handle, head, 0);
      const header = checkedHeader(head, file);
      const key = keys.of(header);
      if (header[8] === WHOLE) {
        return new SealedReader(file, handle, header, key, undefined, undefined, wholeLayout(physical, file));
      }
      const { at, starts } = await scanFrames(handle, physical);
      const reader = new SealedReader(file, handle, header, key, at, starts, {
        count: at.length - 1,
        size: starts[starts.length - 1],
        lengthOf: (index) => starts[index + 1] - starts[index],
      });
      // A last frame that fails authentication is an append a crash tore: not read.
      const last = at.length - 2;
      if (last >= 0 && !(await reader.frameOpens(last))) {
        at.pop();
        starts.pop();
        reader.layout.count -= 1;
        reader.layout.size = starts[starts.length - 1];
      }
      return reader;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * How to cut the file to its first `length` bytes: where it then ends, and the frame to write before that end
   * when `length` falls inside one (a log sealed from a plain one holds records across frames). That frame is
   * sealed again, shorter, over the old: a crash while it is written loses it, as a torn append would.
   */
  async cutAt(length: number): Promise<{ end: number; frame?: Buffer }> {
    if (!this.at || !this.starts) throw new Error(`${this.file} is not appended to: it cannot be cut`);
    if (length < 0 || length > this.size) throw new Error(`${this.file} holds fewer than ${length} bytes`);
    const whole = this.starts.indexOf(length);
    if (whole >= 0) return { end: this.at[whole] };
    const index = this.frameAt(length);
    const plain = Buffer.alloc(this.layout.lengthOf(index));
    await this.read(plain, this.starts[index]);
    const frame = sealFrame(
      this.key,
      this.header,
      index,
      plain.subarray(0, length - this.starts[index]),
      false,
    );
    return { end: this.at[index] + frame.length, frame };
  }

  /** Where the good frames end in the file (an appender writes from there). */
  get physicalEnd(): number {
    return this.at ? this.at[this.at.length - 1] : HEADER;
  }

  get frames(): number {
    return this.layout.count;
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    await this.copy(into, position, (bytes, at) => readExactly(this.handle, bytes, at));
  }

  readSync(into: Uint8Array, position: number): void {
    void this.copy(into, position, (bytes, at) => {
      readExactlySync(this.handle, bytes, at);
      return undefined;
    });
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private frameAt(position: number): number {
    if (!this.starts) return Math.floor(position / FRAME);
    let low = 0;
    let high = this.layout.count - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid] <= position) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  private positionOf(index: number): number {
    return this.at ? this.at[index] : HEADER + index * FULL_FRAME;
  }

  private startOf(index: number): number {
    return this.starts ? this.starts[index] : index * FRAME;
  }

  /**
   * Copies content from `position` into `into`, opening the frames it spans: read in one go, through `read`
   * (which returns a promise, or undefined when it read at once: then so does this).
   */
  private copy(
    into: Uint8Array,
    position: number,
    read: (bytes: Buffer, at: number) => Promise<void> | undefined,
  ): Promise<void> {
    if (into.length === 0) return Promise.resolve();
    if (position < 0 || position + into.length > this.size) {
      throw new Error(`unexpected end of file at byte ${Math.max(this.size, position)}`);
    }
    const first = this.frameAt(position);
    const last = this.frameAt(position + into.length - 1);
    // Each frame opened for the read and let go: frames kept for the next read (a cache) outlived the young
    // generation, and their buffers made V8 collect the whole heap every few hundred ms under searches.
    const from = this.positionOf(first);
    const raw = Buffer.allocUnsafe(this.positionOf(last) + OVERHEAD + this.layout.lengthOf(last) - from);
    const place = () => {
      const out = Buffer.from(into.buffer, into.byteOffset, into.length);
      for (let index = first; index <= last; index++) {
        const offset = this.positionOf(index) - from;
        const plain = this.open(index, raw.subarray(offset, offset + OVERHEAD + this.layout.lengthOf(index)));
        const start = this.startOf(index);
        const begin = Math.max(position, start);
        const end = Math.min(position + into.length, start + plain.length);
        out.set(plain.subarray(begin - start, end - start), begin - position);
      }
    };
    const pending = read(raw, from);
    if (!pending) {
      place();
      return Promise.resolve();
    }
    return pending.then(place);
  }

  private open(index: number, frame: Buffer): Buffer {
    const final = !this.at && index === this.layout.count - 1;
    return openFrame(this.key, this.header, index, frame, final, this.file);
  }

  /** True when frame `index` opens. */
  async frameOpens(index: number): Promise<boolean> {
    const raw = Buffer.alloc(OVERHEAD + this.layout.lengthOf(index));
    await readExactly(this.handle, raw, this.positionOf(index));
    try {
      this.open(index, raw);
      return true;
    } catch {
      return false;
    }
  }
}

/** The frames of a file appended to: where each is and where its content starts, up to a torn tail. */
async function scanFrames(handle: FileHandle, physical: number): Promise<{ at: number[]; starts: number[] }> {
  const at: number[] = [];
  const starts: number[] = [];
  const prefix = Buffer.alloc(4);
  let position = HEADER;
  let content = 0;
  while (position + OVERHEAD <= physical) {
    await readExactly(handle, prefix, position);
    const length = prefix.readUInt32LE(0);
    // Appends never write an empty frame: a zero length is what a file system extended with zeros leaves.
    if (length === 0 || length > FRAME || position + OVERHEAD + length > physical) break;
    at.push(position);
    starts.push(content);
    position += OVERHEAD + length;
    content += length;
  }
  at.push(position);
  starts.push(content);
  return { at, starts };
}

/**
 * Seals what is written to it into frames: a file written whole keeps its first frame open until the end, so
 * that its writer may go back to patch its header (vector-file.ts patches lengths it learns last).
 */
class SealingWriter implements FileWriter {
  private readonly buffer = Buffer.alloc(FRAME);
  private filled = 0;
  private index = 0;
  private first: Buffer | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly header: Buffer,
    private readonly key: Buffer,
  ) {}

  private get whole(): boolean {
    return this.header[8] === WHOLE;
  }

  async write(bytes: Uint8Array, position?: number): Promise<void> {
    if (position !== undefined) {
      const target = this.index === 0 ? this.buffer.subarray(0, this.filled) : this.first;
      if (!this.whole || !target || position + bytes.length > target.length) {
        throw new Error(`a sealed file can only be patched within its first ${FRAME} bytes`);
      }
      target.set(bytes, position);
      return;
    }
    for (let at = 0; at < bytes.length; ) {
      if (this.filled === FRAME) await this.flush(false);
      const n = Math.min(FRAME - this.filled, bytes.length - at);
      this.buffer.set(bytes.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
    }
  }

  async finish(): Promise<void> {
    await this.handle.write(this.header, 0, HEADER, 0);
    if (this.whole || this.filled > 0) await this.flush(this.whole);
    if (this.first) await this.put(0, this.first, false);
  }

  private async flush(final: boolean): Promise<void> {
    const plain = this.buffer.subarray(0, this.filled);
    if (this.index === 0 && this.whole && !final) this.first = Buffer.from(plain);
    else await this.put(this.index, plain, final);
    this.index += 1;
    this.filled = 0;
  }

  private async put(index: number, plain: Buffer, final: boolean): Promise<void> {
    const frame = sealFrame(this.key, this.header, index, plain, final);
    await this.handle.write(frame, 0, frame.length, HEADER + index * FULL_FRAME);
  }
}

async function writeSealed(
  file: string,
  contents: FileContents,
  keys: FileKeys,
  options?: WriteOptions,
): Promise<void> {
  const header = newHeader(options?.appendable ? APPENDED : WHOLE);
  await writeFileAtomicWith(
    file,
    async (handle) => {
      const writer = new SealingWriter(handle, header, keys.of(header));
      if (typeof contents === "function") await contents(writer);
      else if (typeof contents === "string") await writer.write(Buffer.from(contents));
      else if (contents instanceof Uint8Array) await writer.write(contents);
      else for await (const piece of contents) await writer.write(piece);
      await writer.finish();
    },
    options?.mode,
  );
}

class SealedAppender implements FileAppender {
  private constructor(
    private readonly handle: FileHandle,
    private readonly header: Buffer,
    private readonly key: Buffer,
    private index: number,
    /** Where the next frame goes. */
    private end: number,
  ) {}

  /** Opens `file` to append to, cutting off a torn last frame first; a missing file is created empty. */
  static async open(file: string, keys: FileKeys): Promise<SealedAppender> {
    let reader: SealedReader;
    try {
      reader = await SealedReader.open(file, keys);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await writeSealed(file, Buffer.alloc(0), keys, { appendable: true });
      reader = await SealedReader.open(file, keys);
    }
    const end = reader.physicalEnd;
    const frames = reader.frames;
    await reader.close();
    const handle = await open(file, "r+");
    try {
      const header = Buffer.alloc(HEADER);
      await readExactly(handle, header, 0);
      if (header[8] !== APPENDED) throw new Error(`${file} was written whole: it cannot be appended to`);
      if ((await handle.stat()).size > end) await handle.truncate(end);
      return new SealedAppender(handle, header, keys.of(header), frames, end);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async append(bytes: Uint8Array): Promise<void> {
    const frames: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += FRAME) {
      frames.push(sealFrame(this.key, this.header, this.index, bytes.subarray(at, at + FRAME), false));
      this.index += 1;
    }
    // One write per append, at the end: a crash leaves whole frames and at most one torn.
    const out = Buffer.concat(frames);
    await this.handle.write(out, 0, out.length, this.end);
    this.end += out.length;
  }

  sync(): Promise<void> {
    return this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
