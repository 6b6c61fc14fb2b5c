// How the stores under DATA_DIR read and write their files: plainly (plain-files.ts), or sealed with a data key
// (sealed-files.ts, when DATA_KMS_KEY_ID is set). One seam, handed to every store, so that no store knows which.
import type { FileContents } from "../atomic-file.ts";

/** A file read by position: the base files' chunk texts and vectors, a change log replayed in order. */
export interface RandomReader {
  /** Bytes of content: what its writer wrote (a sealed file's frames are not counted). */
  readonly size: number;
  /** Fills `into` from `position`; throws past the end. */
  read(into: Uint8Array, position: number): Promise<void>;
  /** The same, blocking the event loop for the read: for what cannot wait (a save's step, a filter). */
  readSync(into: Uint8Array, position: number): void;
  close(): Promise<void>;
}

/** Appends to a file (a change log, a journal); each `append` is kept whole or, after a crash, not at all. */
export interface FileAppender {
  append(bytes: Uint8Array): Promise<void>;
  /** Makes what was appended durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /** The file will be appended to (openAppender): a sealed file is laid out for it. */
  appendable?: boolean;
  mode?: number;
}

/**
 * @example
 * const files = plainFiles; // or await openSealedFiles(...)
 * await files.writeFileAtomic(path.join(dir, "statuses.json"), JSON.stringify(statuses));
 * const text = (await files.readFile(path.join(dir, "statuses.json"))).toString("utf8");
 */
export interface DataFiles {
  /** True when files are encrypted at rest. */
  readonly sealed: boolean;
  /** A file's content whole; rejects with ENOENT (as node:fs does) when there is none. */
  readFile(file: string): Promise<Buffer>;
  /** Replaces `file` atomically (atomic-file.ts) with `contents`. */
  writeFileAtomic(file: string, contents: FileContents, options?: WriteOptions): Promise<void>;
  /** Opens `file` to read by position; rejects with ENOENT when there is none. */
  openReader(file: string): Promise<RandomReader>;
  /** Opens `file` (written with `appendable`, or missing: then created empty) to append to. */
  openAppender(file: string): Promise<FileAppender>;
  /** Cuts `file` back to its first `length` bytes of content: where an append ended. */
  truncate(file: string, length: number): Promise<void>;
  /** Bytes as a file would hold them (for a store that keeps values in files of its own: the ledger). */
  sealBytes(bytes: Uint8Array): Buffer;
  /** What sealBytes sealed. */
  openBytes(bytes: Uint8Array): Buffer;
}
