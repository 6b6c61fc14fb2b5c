// Reports the advisor writes, kept so that GET /reports/:id can serve them after the turn that wrote them: in
// Redis (shared by every process, optionally expiring) when a client is given, else in this process's memory,
// bounded so that a long-running process cannot grow without limit.
import { randomUUID } from "node:crypto";
import { LruMap } from "./lru-map.ts";
import type { RedisClient } from "./redis-client.ts";

export interface ReportSource {
  /** The number the report cites it by, [n]. */
  n: number;
  /** The chunk's store id. */
  id: string;
  source: string;
  page?: number;
  snippet: string;
}

export interface Report {
  id: string;
  title: string;
  topic: string;
  audience: string;
  /** The whole report, its `## Sources` section included. */
  markdown: string;
  /** The sources the report cites, by number. */
  sources: ReportSource[];
  /** ISO 8601. */
  createdAt: string;
}

export interface ReportStore {
  save(report: Report): Promise<void>;
  /** undefined for an unknown, expired or malformed id. */
  get(id: string): Promise<Report | undefined>;
}

export interface ReportStoreOptions {
  /** Keep reports in Redis on this client; in this process's memory when absent. */
  client?: RedisClient;
  /** A report's Redis key is `<prefix>:<id>`; the prefix carries the tenant: `counsel:{default}:report`. */
  prefix: string;
  /** Forget a report this long after it was written; when absent, kept until evicted (memory) or forever. */
  ttlSeconds?: number;
  /** Reports kept in memory at most, least recently used out first. Default 500. Ignored with Redis. */
  maxReports?: number;
}

export const DEFAULT_MAX_REPORTS = 500;

// Only what randomUUID makes (v4, lower case): the id is the only secret guarding a report, and an id that
// reaches Redis can never be anything but one literal key.
const REPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A new random, unguessable report id (122 random bits). */
export function newReportId(): string {
  return randomUUID();
}

export function isReportId(id: unknown): id is string {
  return typeof id === "string" && REPORT_ID.test(id);
}

export function createReportStore(options: ReportStoreOptions): ReportStore {
  const { client, prefix, ttlSeconds } = options;
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  return client
    ? new RedisReportStore({ client, prefix, ttlSeconds })
    : new MemoryReportStore({ maxReports: options.maxReports, ttlSeconds });
}

export class MemoryReportStore implements ReportStore {
  private readonly reports: LruMap<string, Report>;

  constructor(options: { maxReports?: number; ttlSeconds?: number } = {}) {
    this.reports = new LruMap({
      maxSize: options.maxReports ?? DEFAULT_MAX_REPORTS,
      ...(options.ttlSeconds ? { maxAgeMs: options.ttlSeconds * 1000 } : {}),
    });
  }

  async save(report: Report): Promise<void> {
    assertReportId(report.id);
    // Copies in and out, as Redis would: a caller changing its object later must not change what is stored.
    this.reports.set(report.id, structuredClone(report));
  }

  async get(id: string): Promise<Report | undefined> {
    if (!isReportId(id)) return undefined;
    const report = this.reports.get(id);
    return report && structuredClone(report);
  }
}

export class RedisReportStore implements ReportStore {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds?: number;

  constructor(options: { client: RedisClient; prefix: string; ttlSeconds?: number }) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
  }

  async save(report: Report): Promise<void> {
    assertReportId(report.id);
    const value = JSON.stringify(report);
    // SET with EX in one command, so that a report never lives without its expiry.
    if (this.ttlSeconds) await this.client.set(this.key(report.id), value, { EX: this.ttlSeconds });
    else await this.client.set(this.key(report.id), value);
  }

  async get(id: string): Promise<Report | undefined> {
    if (!isReportId(id)) return undefined;
    const value = await this.client.get(this.key(id));
    return value === null ? undefined : (JSON.parse(value) as Report);
  }

  private key(id: string): string {
    return `${this.prefix}:${id}`;
  }
}

// Saving under an id that get() would refuse would lose the report; that is the caller's bug, not the user's.
function assertReportId(id: string): void {
  if (!isReportId(id)) throw new Error(`Not a report id (use newReportId()): ${JSON.stringify(id)}`);
}
