// When and how the local vector store reaches disk: the chunks added since the last save are appended to the
// change log (change-log.ts). When chunks were replaced or deleted, the whole store is written as a new base file
// (vector-file.ts) instead and the log starts over, so that what was deleted (a document's text, personal data
// redaction removed) leaves the disk at that save rather than lingering in the log; likewise when the log
// outgrows the base, when the store holds more text in memory than it should (a base lets it read them from the
// file), or no base exists yet. Saves run one at
// a time, a few ms of work between turns of the event loop, while the store keeps changing.
import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { DataFiles } from "../at-rest/data-files.ts";
import type { ChangeLog, ChangeRecord } from "./change-log.ts";
import { type ChunksToWrite, type WrittenBase, writeVectorFile } from "./vector-file.ts";
import type { VectorSnapshot } from "./vector-snapshot.ts";

/** What the store lets its persistence read. */
export interface PersistedState {
  dimensions(): number;
  /**
   * The chunk `id` as it is now: its vector copied into `into` at `offset`, its text and metadata returned;
   * undefined once it is deleted.
   */
  readChunk(
    id: string,
    into: Float32Array,
    offset: number,
  ): { text: string; metadata: Record<string, unknown> } | undefined;
  /** The whole store as it is now, readable while the store keeps changing, until `releaseSnapshot`. */
  snapshot(): { contents: Omit<ChunksToWrite, "baseId">; vectors: VectorSnapshot };
  releaseSnapshot(): void;
  /**
   * Called once a new base is on disk, before its snapshot is released, with where it holds each chunk's record:
   * the store reads texts from there from now on. A failure is reported as a warning: the texts stay where they
   * were read from (a base replaced on disk stays readable through a file handle open on it).
   */
  recordsWritten?(positions: WrittenBase): Promise<void>;
  /**
   * Whether the next save should be a new base for the store's sake: it holds in memory more of what was written
   * since the last base (texts) than it should, which a base lets it read from disk instead.
   */
  baseDue?(): boolean;
  /**
   * Called once a new base is on disk, with the ids changed since its snapshot was taken (null when the store
   * was emptied meanwhile; read it before the first await: it keeps growing until the call returns): to save
   * what is derived from the base beside it (bm25-file.ts). A failure is reported as a warning, not a failed
   * save: what it saves is rebuilt when missing.
   */
  baseWritten?(baseId: string, changedSince: ReadonlySet<string> | null): Promise<void>;
}

export interface PersistenceOptions {
  /** How long after a change a save starts, in ms. */
  saveDelayMs: number;
  /** How long a save computes before it yields to the event loop, in ms (0: after every step). */
  saveStepMs: number;
  /** The log is folded into a new base once it is larger than the base and than this. Default 64 MiB. */
  compactMinBytes?: number;
  /** How the base is written (sealed when DATA_DIR is encrypted); the log was opened with the same. */
  files?: DataFiles;
}

/** The base file as last written. */
export interface BaseFile {
  id: string | null;
  /** 0 when there is none yet. */
  bytes: number;
}

/** Chunks per put record: a record is built (texts, metadata, vectors) in one step of the event loop. */
const CHUNKS_PER_RECORD = 64;
const DEFAULT_COMPACT_MIN_BYTES = 64 * 2 ** 20;

export class StorePersistence {
  /** Ids changed (written or deleted) since the last save took them. */
  private dirty = new Set<string>();
  /** A new base is due: chunks were replaced or deleted, or the last base could not start its log. */
  private rewrite = false;
  private timer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private readonly compactMinBytes: number;
  /** While a new base is written: the ids changed since its snapshot (null once the store was emptied). */
  private changedSinceSnapshot?: Set<string> | null;

  constructor(
    readonly file: string,
    private readonly state: PersistedState,
    private readonly log: ChangeLog,
    private base: BaseFile,
    private readonly options: PersistenceOptions,
  ) {
    this.compactMinBytes = options.compactMinBytes ?? DEFAULT_COMPACT_MIN_BYTES;
  }

  /** The change log's file for the base file `file`. */
  static logFile(file: string): string {
    return `${file}.log`;
  }

  /**
   * Records that these chunks were added, or (`erased`) that they replaced or deleted chunks held before, whose
   * old contents the next save must remove from the disk.
   */
  changed(ids: Iterable<string>, erased: boolean): void {
    if (erased) this.rewrite = true;
    else for (const id of ids) this.dirty.add(id);
    const since = this.changedSinceSnapshot;
    if (since) for (const id of ids) since.add(id);
    this.schedule();
  }

  /** Makes the next save a new base (and so saves what is derived from it beside it: see baseWritten). */
  requestBase(): void {
    this.rewrite = true;
    this.schedule();
  }

  /** Records that every chunk was deleted. */
  clearedAll(): void {
    if (this.changedSinceSnapshot) this.changedSinceSnapshot = null;
    this.dirty.clear();
    this.rewrite = true;
    this.schedule();
  }

  /**
   * Saves now if anything changed since the last save. Concurrent calls queue behind each other, and each
   * resolves once a save covering every change made before it was called is on disk.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = this.saving.then(() => this.save());
    this.saving = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.timer) return;
    // Not reset by later changes, so that a long ingestion still saves every saveDelayMs.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failed background save leaves its changes due: the next flush() retries them and reports the error.
      this.flush().catch(() => undefined);
    }, this.options.saveDelayMs);
    this.timer.unref();
  }

  private async save(): Promise<void> {
    if (this.dirty.size === 0 && !this.rewrite) return;
    const newBase =
      this.rewrite ||
      this.base.bytes === 0 ||
      this.log.bytes > Math.max(this.compactMinBytes, this.base.bytes) ||
      (this.state.baseDue?.() ?? false);
    // The ids taken here are saved as they are when their record is built; a change after that (a replacement or
    // a delete) makes the next save a new base.
    const taken = this.dirty;
    const rewrite = this.rewrite;
    this.dirty = new Set();
    this.rewrite = false;
    try {
      if (newBase) await this.writeBase();
      else await this.log.append(this.records(taken));
    } catch (error) {
      for (const id of taken) this.dirty.add(id);
      this.rewrite ||= rewrite || newBase;
      throw error;
    }
  }

  /** The whole store as a new base, then a new empty log that continues it. */
  private async writeBase(): Promise<void> {
    const id = randomUUID();
    const { contents, vectors } = this.state.snapshot();
    this.changedSinceSnapshot = new Set();
    try {
      try {
        const positions = await writeVectorFile(
          this.file,
          { ...contents, baseId: id },
          vectors,
          this.options.saveStepMs,
          this.options.files,
        );
        await this.state.recordsWritten?.(positions).catch((error: Error) => {
          process.emitWarning(
            `${this.file}: its texts are still read from the base before it (${error.message}).`,
            {
              code: "COUNSEL_STORE_TEXTS_NOT_MOVED",
            },
          );
        });
      } finally {
        this.state.releaseSnapshot();
      }
      this.base = { id, bytes: (await stat(this.file)).size };
      // Until the new log exists, the old one (whose baseId no longer matches) is ignored by a reload: nothing is
      // lost, but nothing may be appended to it either. If this fails, save() makes the next save a new base.
      await this.log.reset(id);
      await this.state.baseWritten?.(id, this.changedSinceSnapshot)?.catch((error: Error) => {
        process.emitWarning(
          `${this.file}: the indexes derived from it were not saved beside it (${error.message}).`,
          {
            code: "COUNSEL_STORE_INDEX_NOT_SAVED",
          },
        );
      });
    } finally {
      this.changedSinceSnapshot = undefined;
    }
  }

  /** Put and delete records for `ids` as the store holds them now, built a few dozen chunks per step. */
  private async *records(ids: Set<string>): AsyncGenerator<ChangeRecord> {
    const dims = this.state.dimensions();
    let since = performance.now();
    let put = newPut(dims);
    const deleted: string[] = [];
    for (const id of ids) {
      const chunk = this.state.readChunk(id, put.vectors, put.ids.length * dims);
      if (!chunk) {
        deleted.push(id);
        continue;
      }
      put.ids.push(id);
      put.texts.push(chunk.text);
      put.metadata.push(chunk.metadata);
      if (put.ids.length === CHUNKS_PER_RECORD) {
        yield put;
        put = newPut(dims);
      }
      if (performance.now() - since >= this.options.saveStepMs) {
        await nextTurn();
        since = performance.now();
      }
    }
    if (put.ids.length > 0) yield { ...put, vectors: put.vectors.subarray(0, put.ids.length * dims) };
    if (deleted.length > 0) yield { op: "delete", ids: deleted };
  }
}

function newPut(dims: number) {
  return {
    op: "put" as const,
    ids: [] as string[],
    texts: [] as string[],
    metadata: [] as Record<string, unknown>[],
    vectors: new Float32Array(CHUNKS_PER_RECORD * dims),
    dimensions: dims,
  };
}
