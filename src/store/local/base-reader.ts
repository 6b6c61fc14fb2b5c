// An open base file (vector-file.ts) that readers share: the chunk texts (chunk-texts.ts) and the vectors kept on
// disk (store-vectors.ts) are read from it by position. It is closed once the store has moved on to a newer base
// and the last reader (a search's read, a save's snapshot) has let go of it, so a base replaced on disk stays
// readable through it.
import type { DataFiles, RandomReader } from "../at-rest/data-files.ts";

export class BaseReader {
  private holders = 1;

  private constructor(
    readonly file: string,
    readonly handle: RandomReader,
  ) {}

  /** The base at `file`, held once (by the store: `release` when it moves on). */
  static async open(file: string, files: DataFiles): Promise<BaseReader> {
    return new BaseReader(file, await files.openReader(file));
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
      await this.handle.read(into, position);
    } finally {
      this.release();
    }
  }

  /** The same at once, blocking the event loop for the read: for what cannot wait (a save's step, a filter). */
  readSync(into: Uint8Array, position: number): void {
    this.handle.readSync(into, position);
  }
}
