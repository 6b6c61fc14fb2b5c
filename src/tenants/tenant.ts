// What one tenant's requests reach: its own knowledge base, ingestion, runs, sessions and reports, nobody
// else's. The tenant registry opens one per tenant; the HTTP layer, the CLI and the services read this type, and
// chains and the advisor each take the narrow part they use (QaTenant, AdvisorTenant), which it satisfies.
import type { BaseCache } from "@langchain/core/caches";
import type { DocumentStatusStore } from "../contracts/document-status.ts";
import type { DocumentCatalog } from "../contracts/documents.ts";
import type { CounselVectorStore } from "../contracts/stores.ts";
import type { IngestPipeline, IngestReport, RunOptions } from "../ingest/pipeline.ts";
import type { ChatHistoryFactory, SessionSummary } from "../store/chat-history.ts";
import type { ReportStore } from "../store/report-store.ts";
import type { RunStore } from "../store/run-store.ts";

export interface SessionMessage {
  role: "user" | "assistant";
  content: string;
  /** An answer the user stopped before it was complete: `content` is what had been said. */
  stopped?: true;
}

export interface Tenant {
  id: string;
  /** The tenant's chunks: what qa chains and the advisor search. */
  index: CounselVectorStore;
  /** Which documents the knowledge base holds, each with its status and its chunks. */
  documents: DocumentCatalog;
  /** Where each document's ingestion under way or failed stands (jobs write it; the catalog reads it). */
  statuses: DocumentStatusStore;
  pipeline: IngestPipeline;
  /** Runs of qa chains, their feedback and per-variant stats. */
  runs: RunStore;
  /** Reports the advisor wrote. */
  reports: ReportStore;
  /** The advisor's conversations, one history per session. */
  history: ChatHistoryFactory;
  /** Answers of chains with `cache.llm`, by prompt. */
  llmCache: BaseCache;
  sessions: {
    get(sessionId: string): Promise<SessionMessage[]>;
    delete(sessionId: string): Promise<void>;
    /** The `limit` most recently updated conversations, newest first. */
    list(limit: number): Promise<SessionSummary[]>;
  };
  ingestS3(url: string, options?: RunOptions & { cleanup?: boolean }): Promise<IngestReport>;
  ingestUrls(urls: string[], options?: RunOptions): Promise<IngestReport>;
  /** Saves what is pending; called by the registry when the tenant is evicted or the service stops. */
  close(): Promise<void>;
}
