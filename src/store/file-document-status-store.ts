// The document status store in embedded mode: each document's ingestion under way or failed, in this process,
// persisted to one JSON file beside the record manager's (written whole, atomically, a moment after a change).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type DocumentState, type DocumentStatusStore, supersedes } from "../contracts/document-status.ts";
import { compareSources } from "../contracts/documents.ts";
import type { DataFiles } from "./at-rest/data-files.ts";
import { plainFiles } from "./at-rest/plain-files.ts";

export interface FileDocumentStatusStoreOptions {
  /** File to persist to; in memory only when absent. */
  path?: string;
  /**
   * A change is written this long after it, together with the changes that follow, so that a job's burst of
   * status changes costs one write. Default 500 ms; `flush()` and `close()` write at once.
   */
  flushDelayMs?: number;
  /** Told about a failed background write (it is retried with the next change or flush). */
  onError?: (error: unknown) => void;
  /** How the file is read and written: plainly by default, or sealed (DATA_KMS_KEY_ID). */
  files?: DataFiles;
}

interface PersistedStatuses {
  version: 1;
  entries: DocumentState[];
}

export class FileDocumentStatusStore implements DocumentStatusStore {
  readonly path?: string;
  private readonly flushDelayMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly files: DataFiles;
  private readonly entries = new Map<string, DocumentState>();
  /** The sources in source order; rebuilt lazily after a batch (`setMany`) rather than kept sorted entry by entry. */
  private order: string[] = [];
  private sorted = true;
  private loading?: Promise<void>;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: FileDocumentStatusStoreOptions = {}) {
    this.path = options.path;
    this.flushDelayMs = options.flushDelayMs ?? 500;
    // A background write has no caller to reject; without a listener, say so on stderr rather than nowhere.
    this.onError = options.onError ?? ((error) => process.emitWarning(error as Error));
    this.files = options.files ?? plainFiles;
  }

  /** Loads the persisted entries. Every method waits for it; awaiting it at start-up fails early on a bad file. */
  open(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  async set(state: DocumentState): Promise<void> {
    await this.open();
    if (this.apply(state)) this.changed();
  }

  async setMany(states: DocumentState[]): Promise<void> {
    await this.open();
    let changed = false;
    for (const state of states) changed = this.apply(state, true) || changed;
    if (changed) this.changed();
  }

  async get(source: string): Promise<DocumentState | undefined> {
    await this.open();
    const entry = this.entries.get(source);
    return entry && structuredClone(entry);
  }

  async list(options: { prefix?: string; after?: string; limit: number }): Promise<DocumentState[]> {
    await this.open();
    const { prefix = "", after, limit } = options;
    const order = this.sortedOrder();
    let i = firstAtLeast(order, prefix);
    if (after !== undefined && compareSources(after, prefix) >= 0) {
      i = firstAtLeast(order, after);
      if (order[i] === after) i += 1;
    }
    const out: DocumentState[] = [];
    for (; i < order.length && out.length < limit; i++) {
      if (!order[i].startsWith(prefix)) break;
      out.push(structuredClone(this.entries.get(order[i]) as DocumentState));
    }
    return out;
  }

  async clear(source: string, jobId?: string): Promise<void> {
    await this.open();
    const entry = this.entries.get(source);
    if (!entry || (jobId !== undefined && entry.jobId !== jobId)) return;
    this.entries.delete(source);
    if (this.sorted) this.order.splice(firstAtLeast(this.order, source), 1);
    this.changed();
  }

  /** Writes pending changes now; one write at a time, in order. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // After the write in progress, whether it failed or not (its own caller has its error).
    this.writing = this.writing.then(
      () => this.write(),
      () => this.write(),
    );
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  /** Applies one state by the contract's rule of ownership; true when the entry changed. */
  private apply(state: DocumentState, batch = false): boolean {
    const current = this.entries.get(state.source);
    if (current && !supersedes(state, current)) return false;
    if (!current) {
      if (batch) this.sorted = false;
      else if (this.sorted) this.order.splice(firstAtLeast(this.order, state.source), 0, state.source);
    }
    this.entries.set(state.source, structuredClone(state));
    return true;
  }

  private sortedOrder(): string[] {
    if (!this.sorted) {
      this.order = [...this.entries.keys()].sort(compareSources);
      this.sorted = true;
    }
    return this.order;
  }

  private async load(): Promise<void> {
    if (!this.path) return;
    let raw: string;
    try {
      raw = (await this.files.readFile(this.path)).toString("utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    let data: PersistedStatuses;
    try {
      data = JSON.parse(raw) as PersistedStatuses;
    } catch (error) {
      throw new Error(`${this.path} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (data.version !== 1) throw new Error(`${this.path}: unknown statuses file version ${data.version}`);
    for (const entry of data.entries) this.entries.set(entry.source, entry);
    this.sorted = false;
  }

  private async write(): Promise<void> {
    if (!this.dirty || !this.path) return;
    this.dirty = false;
    // Serialised now, so that changes made while the file is being written wait for the next write.
    const json = JSON.stringify({
      version: 1,
      entries: [...this.entries.values()],
    } satisfies PersistedStatuses);
    try {
      await mkdir(path.dirname(this.path), { recursive: true });
      await this.files.writeFileAtomic(this.path, json);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private changed(): void {
    this.dirty = true;
    if (!this.path || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.onError);
    }, this.flushDelayMs);
    // A pending write must not keep the process alive; close() writes whatever is left.
    this.timer.unref();
  }
}

/** The position of the first source not before `source` in source order (binary search). */
function firstAtLeast(order: string[], source: string): number {
  let low = 0;
  let high = order.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareSources(order[mid], source) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
