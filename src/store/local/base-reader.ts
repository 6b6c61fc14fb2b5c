// An open base file (vector-file.ts) that readers share: the chunk texts (chunk-texts.ts) and the vectors kept on
// disk (store-vectors.ts) are read from it by position. It is closed once the store has moved on to a newer base
// and the last reader (a search's read, a save's snapshot) has let go of it, so a base replaced on disk stays
// readable through it.
import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { readExactly } from "./vector-file.ts";

export class BaseReader {
  private holders = 1;

  private constructor(
    readonly file: string,
    readonly handle: FileHandle,
  ) {}

  /** The base at `file`, held once (by the store: `release` when it moves on). */
  static async open(file: string): Promise<BaseReader> {
    return new BaseReader(file, await open(file, "r"));
  }

  retain(): void {
    this.holders += 1;
  }

  release(): void {
    this.holders -= 1;
    if (this.holders === 0) void this.handle.close().catch(() => undefined);
  }

  async read(into: Uint8Array, position: number): Promise<void> {
    this.retain();
    try {
      await readExactly(this.handle, into, position);
    } finally {
      this.release();
    }
  }

  /** The same at once, blocking the event loop for the read: for what cannot wait (a save's step, a filter). */
  readSync(into: Uint8Array, position: number): void {
    for (let done = 0; done < into.length; ) {
      const bytesRead = readSync(this.handle.fd, into, done, into.length - done, position + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
  }
}
