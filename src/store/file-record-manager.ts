// The record manager for LangChain's indexing API in embedded mode: which chunk keys exist, when each was
// last seen and which document (group) it belongs to, and a record per document (its info, when its chunks last
// changed), persisted together to one JSON file in the data folder, and a journal beside it (`<file>.log`) of what
// changed since: a flush appends the entries changed since the last one, a line of JSON, so that an ingestion's
// flushes cost what they add, not the whole file each (29 MiB at 150,000 chunks, after every batch). Once the
// journal outgrows the file, the next flush writes the file anew and empties the journal; likewise once an entry
// was deleted, moved to another document or given other info, so that what it said (a document's title before
// PII redaction, a deleted document's name) leaves the disk at that flush, as the vector store's texts do.
// Written by hand because the community record managers need a database (SQLite, Postgres) and a native
// build; this one is a map with an atomic save.
import { performance } from "node:perf_hooks";
import { type ListKeyOptions, RecordManager } from "@langchain/core/indexing";
import {
  compareSources,
  type DocumentInfo,
  type DocumentRecord,
  type DocumentRecords,
  type DocumentUpdateOptions,
} from "../contracts/documents.ts";
import type { DataFiles } from "./at-rest/data-files.ts";
import { plainFiles } from "./at-rest/plain-files.ts";

export interface FileRecordManagerOptions {
  /** Scopes the records, e.g. by tenant and collection. */
  namespace: string;
  /** File to persist to; in-memory only when absent. */
  path?: string;
  /** How the file and its journal are read and written: plainly by default, or sealed (DATA_KMS_KEY_ID). */
  files?: DataFiles;
}

interface RecordEntry {
  updatedAt: number;
  groupId: string | null;
}

/** A document's record: when its group last gained or lost a key, and what ingestion said of it. */
interface DocumentEntry {
  updatedAt: number;
  info?: DocumentInfo;
}

interface PersistedRecords {
  namespace: string;
  records: Record<string, RecordEntry>;
  /** Absent in files written before the document catalog: DocumentCatalog backfills them. */
  documents?: Record<string, DocumentEntry>;
}

/** A journal line: the entries a flush saw changed, as they then were (null: deleted). */
interface JournalLine {
  records: Record<string, RecordEntry | null>;
  documents: Record<string, DocumentEntry | null>;
}

/** The journal is folded into the file once it is larger than the file and than this. */
const COMPACT_MIN_BYTES = 1 << 20;

export class FileRecordManager extends RecordManager implements DocumentRecords {
  override lc_namespace = ["counsel", "store", "file_record_manager"];

  readonly namespace: string;
  private readonly path?: string;
  private readonly files: DataFiles;
  private records = new Map<string, RecordEntry>();
  /** Each group's keys: its chunk count, and listKeys by group without a scan of every record. */
  private readonly members = new Map<string, Set<string>>();
  /** The groups in source order, kept sorted as groups come and go, for paging through documents. */
  private readonly sorted: string[] = [];
  private readonly documents = new Map<string, DocumentEntry>();
  private lastTime = 0;
  /** Keys and documents changed since the last flush took them. */
  private dirtyRecords = new Set<string>();
  private dirtyDocuments = new Set<string>();
  /**
   * The file's and the journal's sizes as last written, in bytes of content (a sealed file's frames not
   * counted, so that the journal is weighed against the file alike); the file's is 0 until it exists.
   */
  private fileBytes = 0;
  private journalBytes = 0;
  /** Flushes run one at a time. */
  private flushing: Promise<void> = Promise.resolve();
  /** An entry was deleted or replaced by one that says something else: the next flush rewrites the file. */
  private rewrite = false;

  constructor(options: FileRecordManagerOptions) {
    super();
    this.namespace = options.namespace;
    this.path = options.path;
    this.files = options.files ?? plainFiles;
  }

  /** Loads the persisted records, if any. */
  async createSchema(): Promise<void> {
    if (!this.path) return;
    let raw: Buffer;
    try {
      raw = await this.files.readFile(this.path);
    } catch (error) {
      // No file yet: the first flush writes it, and empties a journal left beside none (the file deleted to
      // start over), which continues a file that is gone and is not read.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    this.fileBytes = raw.length;
    const parsed = JSON.parse(raw.toString("utf8")) as PersistedRecords;
    if (parsed.namespace !== this.namespace) {
      throw new Error(
        `${this.path} holds records of namespace "${parsed.namespace}", not "${this.namespace}"`,
      );
    }
    this.records = new Map(Object.entries(parsed.records));
    this.members.clear();
    this.sorted.length = 0;
    this.documents.clear();
    for (const [key, entry] of this.records) {
      this.lastTime = Math.max(this.lastTime, entry.updatedAt);
      if (entry.groupId !== null) this.join(entry.groupId, key);
    }
    for (const [source, entry] of Object.entries(parsed.documents ?? {})) {
      if (this.members.has(source)) this.documents.set(source, entry);
    }
    await this.replayJournal();
  }

  /** Applies the journal's lines in order; a torn last line (a crash mid-append) is cut off. */
  private async replayJournal(): Promise<void> {
    const file = journalFile(this.path as string);
    let raw: Buffer;
    try {
      raw = await this.files.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    let at = 0;
    for (let end = raw.indexOf(10); end !== -1; end = raw.indexOf(10, at)) {
      let line: JournalLine;
      try {
        line = JSON.parse(raw.toString("utf8", at, end)) as JournalLine;
      } catch {
        break;
      }
      for (const [key, entry] of Object.entries(line.records)) this.replaceRecord(key, entry);
      for (const [source, entry] of Object.entries(line.documents)) {
        if (entry === null || !this.members.has(source)) this.documents.delete(source);
        else this.documents.set(source, entry);
      }
      at = end + 1;
    }
    if (at < raw.length) {
      process.emitWarning(
        `${file}: cut off ${raw.length - at} bytes of a flush that a crash interrupted; the flushes before it are kept.`,
        { code: "COUNSEL_RECORDS_TORN_LOG" },
      );
      // Where the last whole line ends, an append ended: a sealed journal can be cut there too.
      await this.files.truncate(file, at);
    }
    this.journalBytes = at;
  }

  /** Sets (or, with null, deletes) a key's record as the journal says it was, its group kept in step. */
  private replaceRecord(key: string, entry: RecordEntry | null): void {
    const old = this.records.get(key)?.groupId ?? null;
    const groupId = entry?.groupId ?? null;
    if (old !== groupId || entry === null) {
      if (old !== null) this.leave(old, key, new Set());
      if (groupId !== null) this.join(groupId, key);
    }
    if (entry === null) this.records.delete(key);
    else {
      this.records.set(key, entry);
      this.lastTime = Math.max(this.lastTime, entry.updatedAt);
    }
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

  async update(keys: string[], options: DocumentUpdateOptions = {}): Promise<void> {
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
    const changed = new Set<string>();
    keys.forEach((key, i) => {
      const old = this.records.get(key)?.groupId ?? null;
      // index() marks skipped keys as seen without group ids: keep the group they already had.
      const groupId = groupIds ? (groupIds[i] ?? null) : old;
      if (groupId !== old) {
        if (old !== null) {
          this.leave(old, key, changed);
          this.rewrite = true;
        }
        if (groupId !== null) this.join(groupId, key, changed);
      }
      this.records.set(key, { updatedAt: time, groupId });
      this.dirtyRecords.add(key);
    });
    this.settle(changed, time);
    for (const [source, info] of Object.entries(options.documents ?? {})) {
      if (!this.members.has(source)) continue;
      const before = this.documents.get(source);
      const updatedAt = before?.updatedAt ?? this.lastSeen(source);
      if (before?.info && JSON.stringify(before.info) !== JSON.stringify(info)) this.rewrite = true;
      this.documents.set(source, { updatedAt, info });
      this.dirtyDocuments.add(source);
    }
  }

  async exists(keys: string[]): Promise<boolean[]> {
    return keys.map((key) => this.records.has(key));
  }

  async listKeys(options: ListKeyOptions = {}): Promise<string[]> {
    const { before, after, groupIds, limit } = options;
    const candidates = groupIds ? this.keysOf(groupIds) : this.records.keys();
    const out: string[] = [];
    for (const key of candidates) {
      const entry = this.records.get(key) as RecordEntry;
      if (before !== undefined && entry.updatedAt >= before) continue;
      if (after !== undefined && entry.updatedAt <= after) continue;
      out.push(key);
      if (limit !== undefined && out.length >= limit) break;
    }
    return out;
  }

  async deleteKeys(keys: string[]): Promise<void> {
    const changed = new Set<string>();
    for (const key of keys) {
      const groupId = this.records.get(key)?.groupId;
      if (groupId !== undefined && groupId !== null) this.leave(groupId, key, changed);
      if (this.records.delete(key)) this.rewrite = true;
      this.dirtyRecords.add(key);
    }
    if (changed.size > 0) this.settle(changed, await this.getTime());
  }

  /** Every document (group) id that has records: the pipeline uses it to find documents that are gone. */
  async listGroupIds(): Promise<string[]> {
    return [...this.members.keys()];
  }

  async listDocuments(options: {
    prefix?: string;
    after?: string;
    limit: number;
  }): Promise<DocumentRecord[]> {
    const { prefix = "", after, limit } = options;
    let i = this.firstAtLeast(prefix);
    if (after !== undefined && compareSources(after, prefix) >= 0) {
      i = this.firstAtLeast(after);
      if (this.sorted[i] === after) i += 1;
    }
    const out: DocumentRecord[] = [];
    for (; i < this.sorted.length && out.length < limit; i++) {
      const source = this.sorted[i];
      if (!source.startsWith(prefix)) break;
      out.push(this.recordOf(source));
    }
    return out;
  }

  async getDocument(source: string): Promise<{ record: DocumentRecord; keys: string[] } | undefined> {
    const keys = this.members.get(source);
    return keys ? { record: this.recordOf(source), keys: [...keys] } : undefined;
  }

  async documentsWithoutInfo(): Promise<string[]> {
    return this.sorted.filter((source) => this.documents.get(source)?.info === undefined);
  }

  async backfillInfo(source: string, info: DocumentInfo): Promise<void> {
    const entry = this.documents.get(source);
    if (!this.members.has(source) || entry?.info !== undefined) return;
    this.documents.set(source, { updatedAt: entry?.updatedAt ?? this.lastSeen(source), info });
    this.dirtyDocuments.add(source);
  }

  /**
   * Saves the records. Called by the pipeline only after the vector store has saved, so that the records
   * never claim a chunk that the store lost (which would make re-ingestion skip it).
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.save());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async save(): Promise<void> {
    const file = this.path;
    if (!file) return;
    const records = this.dirtyRecords;
    const documents = this.dirtyDocuments;
    const rewrite = this.rewrite;
    if (records.size === 0 && documents.size === 0 && this.fileBytes > 0 && !rewrite) return;
    this.dirtyRecords = new Set();
    this.dirtyDocuments = new Set();
    this.rewrite = false;
    try {
      if (
        rewrite ||
        this.fileBytes === 0 ||
        this.journalBytes > Math.max(COMPACT_MIN_BYTES, this.fileBytes)
      ) {
        // The entries as they are now (changes made while the file is written wait for the next flush; an entry
        // is replaced, never changed in place), written as JSON a slice at a time: the file's text, a record per
        // chunk, is never held whole, nor the object JSON.stringify would need. Then the journal starts over (a
        // crash before that replays it over the new file: its lines only repeat what the file holds).
        const written = { bytes: 0 };
        await this.files.writeFileAtomic(
          file,
          counted(recordsJson(this.namespace, [...this.records], [...this.documents]), written),
        );
        this.fileBytes = written.bytes;
        await this.files.writeFileAtomic(journalFile(file), "", { appendable: true });
        this.journalBytes = 0;
        return;
      }
      const line: JournalLine = { records: {}, documents: {} };
      for (const key of records) line.records[key] = this.records.get(key) ?? null;
      for (const source of documents) line.documents[source] = this.documents.get(source) ?? null;
      const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
      // A journal not there yet (beside a file written before journals existed) is created by openAppender.
      const journal = await this.files.openAppender(journalFile(file));
      try {
        await journal.append(bytes);
        await journal.sync();
      } finally {
        await journal.close();
      }
      this.journalBytes += bytes.length;
    } catch (error) {
      // Due again at the next flush.
      for (const key of records) this.dirtyRecords.add(key);
      for (const source of documents) this.dirtyDocuments.add(source);
      this.rewrite ||= rewrite;
      throw error;
    }
  }

  private *keysOf(groupIds: (string | null)[]): Generator<string> {
    for (const groupId of new Set(groupIds)) {
      if (groupId !== null) yield* this.members.get(groupId) ?? [];
    }
  }

  private join(groupId: string, key: string, changed?: Set<string>): void {
    let keys = this.members.get(groupId);
    if (!keys) {
      keys = new Set();
      this.members.set(groupId, keys);
      this.sorted.splice(this.firstAtLeast(groupId), 0, groupId);
    }
    keys.add(key);
    changed?.add(groupId);
  }

  private leave(groupId: string, key: string, changed: Set<string>): void {
    const keys = this.members.get(groupId);
    if (!keys?.delete(key)) return;
    changed.add(groupId);
    if (keys.size > 0) return;
    this.members.delete(groupId);
    this.sorted.splice(this.firstAtLeast(groupId), 1);
  }

  /** Groups whose keys changed: a record's time moves on, and a group without keys loses its record. */
  private settle(changed: Set<string>, time: number): void {
    for (const groupId of changed) {
      this.dirtyDocuments.add(groupId);
      if (!this.members.has(groupId)) this.documents.delete(groupId);
      else this.documents.set(groupId, { ...this.documents.get(groupId), updatedAt: time });
    }
  }

  private recordOf(source: string): DocumentRecord {
    const entry = this.documents.get(source);
    return {
      source,
      chunks: this.members.get(source)?.size ?? 0,
      updatedAt: entry?.updatedAt ?? this.lastSeen(source),
      ...(entry?.info ? { info: entry.info } : {}),
    };
  }

  /** The last time any key of a group was indexed. */
  private lastSeen(groupId: string): number {
    let last = 0;
    for (const key of this.members.get(groupId) ?? []) {
      last = Math.max(last, this.records.get(key)?.updatedAt ?? 0);
    }
    return last;
  }

  /** The position of the first group not before `source` in source order (binary search). */
  private firstAtLeast(source: string): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareSources(this.sorted[mid], source) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** The journal of the records file `file`. */
function journalFile(file: string): string {
  return `${file}.log`;
}

/** The pieces as they come, their bytes added up in `into` (a sealed file's size on disk is not its content's). */
function* counted(pieces: Iterable<Buffer>, into: { bytes: number }): Generator<Buffer> {
  for (const piece of pieces) {
    into.bytes += piece.length;
    yield piece;
  }
}

/** JSON.stringify of the PersistedRecords the entries make, as UTF-8 pieces of about 64 KB. */
function* recordsJson(
  namespace: string,
  records: [string, RecordEntry][],
  documents: [string, DocumentEntry][],
): Generator<Buffer> {
  yield Buffer.from(`{"namespace":${JSON.stringify(namespace)},"records":{`);
  yield* entriesJson(records);
  yield Buffer.from('},"documents":{');
  yield* entriesJson(documents);
  yield Buffer.from("}}");
}

function* entriesJson(entries: [string, unknown][]): Generator<Buffer> {
  let piece = "";
  for (let i = 0; i < entries.length; i++) {
    piece += `${i > 0 ? "," : ""}${JSON.stringify(entries[i][0])}:${JSON.stringify(entries[i][1])}`;
    if (piece.length >= 65_536) {
      yield Buffer.from(piece);
      piece = "";
    }
  }
  if (piece) yield Buffer.from(piece);
}
