// DATA_DIR's files as they are on disk, unencrypted: what every store used before sealing existed, and still
// uses when DATA_KMS_KEY_ID is unset.
import { readSync } from "node:fs";
import { type FileHandle, open, readFile, truncate } from "node:fs/promises";
import { writeFileAtomic } from "../atomic-file.ts";
import type { DataFiles, FileAppender, RandomReader } from "./data-files.ts";

export const plainFiles: DataFiles = {
  sealed: false,
  readFile: (file) => readFile(file),
  writeFileAtomic: (file, contents, options) => writeFileAtomic(file, contents, options?.mode),
  async openReader(file) {
    const handle = await open(file, "r");
    return new PlainReader(handle, (await handle.stat()).size);
  },
  async openAppender(file) {
    return new PlainAppender(await open(file, "a"));
  },
  truncate: (file, length) => truncate(file, length),
  sealBytes: (bytes) => Buffer.from(bytes),
  openBytes: (bytes) => Buffer.from(bytes),
};

class PlainReader implements RandomReader {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  read(into: Uint8Array, position: number): Promise<void> {
    return readExactly(this.handle, into, position);
  }

  readSync(into: Uint8Array, position: number): void {
    readExactlySync(this.handle, into, position);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class PlainAppender implements FileAppender {
  constructor(private readonly handle: FileHandle) {}

  async append(bytes: Uint8Array): Promise<void> {
    // One write per append: appends from the same process never interleave inside one.
    await this.handle.write(bytes);
  }

  sync(): Promise<void> {
    return this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Fills `into` from `position` of the file, or throws at its end (a read may return fewer bytes than asked). */
export async function readExactly(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** The same at once, blocking the event loop for the read. */
export function readExactlySync(handle: FileHandle, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const bytesRead = readSync(handle.fd, into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}
