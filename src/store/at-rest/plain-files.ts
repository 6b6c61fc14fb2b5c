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

  async read(into: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < into.length; ) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, position + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
  }

  readSync(into: Uint8Array, position: number): void {
    for (let done = 0; done < into.length; ) {
      const bytesRead = readSync(this.handle.fd, into, done, into.length - done, position + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
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
