// The record manager for LangChain's indexing API in embedded mode: which chunk keys exist, when each was
// last seen and which document (group) it belongs to, persisted to one JSON file in the data folder.
// Written by hand because the community record managers need a database (SQLite, Postgres) and a native
// build; this one is a map with an atomic save.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { type ListKeyOptions, RecordManager, type UpdateOptions } from "@langchain/core/indexing";
import { writeFileAtomic } from "./atomic-file.ts";

export interface FileRecordManagerOptions {
  /** Scopes the records, e.g. by tenant and collection. */
  namespace: string;
  /** File to persist to; in-memory only when absent. */
  path?: string;
}

interface RecordEntry {
  updatedAt: number;
  groupId: string | null;
}

interface PersistedRecords {
  namespace: string;
  records: Record<string, RecordEntry>;
}

export class FileRecordManager extends RecordManager {
  override lc_namespace = ["counsel", "store", "file_record_manager"];

  readonly namespace: string;
  private readonly path?: string;
  private records = new Map<string, RecordEntry>();
  private lastTime = 0;

  constructor(options: FileRecordManagerOptions) {
    super();
    this.namespace = options.namespace;
    this.path = options.path;
  }

  /** Loads the persisted records, if any. */
  async createSchema(): Promise<void> {
    if (!this.path) return;
    let raw: string;
    try {
      raw = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    const parsed = JSON.parse(raw) as PersistedRecords;
    if (parsed.namespace !== this.namespace) {
      throw new Error(
        `${this.path} holds records of namespace "${parsed.namespace}", not "${this.namespace}"`,
      );
    }
    this.records = new Map(Object.entries(parsed.records));
    for (const entry of this.records.values()) this.lastTime = Math.max(this.lastTime, entry.updatedAt);
  }

  /**
   * Strictly increasing wall-clock milliseconds (fractional): index() deletes keys updated *before* its start
   * time, so two runs in the same millisecond must still be told apart.
   */
  async getTime(): Promise<number> {
    const now = performance.timeOrigin + performance.now();
    this.lastTime = Math.max(now, this.lastTime + 0.001);
    return this.lastTime;
  }

  async update(keys: string[], options: UpdateOptions = {}): Promise<void> {
    const { groupIds, timeAtLeast } = options;
    if (groupIds && groupIds.length !== keys.length) {
      throw new Error(`update: ${keys.length} keys but ${groupIds.length} group ids`);
    }
    const time = await this.getTime();
    if (timeAtLeast !== undefined && time < timeAtLeast) {
      throw new Error(
        `update: time ${time} is before timeAtLeast ${timeAtLeast}; is the clock going backwards?`,
      );
    }
    keys.forEach((key, i) => {
      const previous = this.records.get(key);
      // index() marks skipped keys as seen without group ids: keep the group they already had.
      const groupId = groupIds ? (groupIds[i] ?? null) : (previous?.groupId ?? null);
      this.records.set(key, { updatedAt: time, groupId });
    });
  }

  async exists(keys: string[]): Promise<boolean[]> {
    return keys.map((key) => this.records.has(key));
  }

  async listKeys(options: ListKeyOptions = {}): Promise<string[]> {
    const { before, after, groupIds, limit } = options;
    const groups = groupIds ? new Set(groupIds) : undefined;
    const out: string[] = [];
    for (const [key, entry] of this.records) {
      if (before !== undefined && entry.updatedAt >= before) continue;
      if (after !== undefined && entry.updatedAt <= after) continue;
      if (groups && !groups.has(entry.groupId)) continue;
      out.push(key);
      if (limit !== undefined && out.length >= limit) break;
    }
    return out;
  }

  async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) this.records.delete(key);
  }

  /** Every document (group) id that has records: the pipeline uses it to find documents that are gone. */
  async listGroupIds(): Promise<string[]> {
    const groups = new Set<string>();
    for (const entry of this.records.values()) if (entry.groupId !== null) groups.add(entry.groupId);
    return [...groups];
  }

  /**
   * Saves the records. Called by the pipeline only after the vector store has saved, so that the records
   * never claim a chunk that the store lost (which would make re-ingestion skip it).
   */
  async flush(): Promise<void> {
    if (!this.path) return;
    const data: PersistedRecords = { namespace: this.namespace, records: Object.fromEntries(this.records) };
    await writeFileAtomic(this.path, JSON.stringify(data));
  }
}
