// What ingestion, retrieval and the services need of a store, whichever backend implements it (in-process or
// Redis): LangChain's interfaces plus the few methods Counsel adds.
import type { DocumentInterface } from "@langchain/core/documents";
import type { RecordManagerInterface } from "@langchain/core/indexing";
import type { VectorStore } from "@langchain/core/vectorstores";
import type { DocumentStatusStore } from "./document-status.ts";
import type { DocumentRecords, DocumentUpdateOptions } from "./documents.ts";
import type { LexicalSearch } from "./search.ts";

/**
 * A record manager that also keeps a record per document (group), lists its documents and saves itself
 * (FileRecordManager, RedisRecordManager).
 */
export interface PipelineRecordManager extends RecordManagerInterface, DocumentRecords {
  update(keys: string[], options?: DocumentUpdateOptions): Promise<void>;
  listGroupIds(): Promise<string[]>;
  flush(): Promise<void>;
}

/** A vector store that may buffer writes: flushed before the records, so records never outlive chunks. */
export type PipelineVectorStore = VectorStore & { flush?(): Promise<void> };

/** A document status store that may buffer writes (the file store): flushed with the records. */
export type PipelineStatusStore = DocumentStatusStore & { flush?(): Promise<void> };

/** A tenant's knowledge base: vectors and a lexical index over the same chunks, by the same ids. */
export type CounselVectorStore = PipelineVectorStore &
  LexicalSearch & {
    countChunks(): Promise<number>;
    /** Chunks by id, in the order asked; ids it does not hold are left out. */
    getByIds(ids: string[]): Promise<DocumentInterface[]>;
    /**
     * Vectors still waiting to enter the store's approximate index, and a promise of when none is (the in-process
     * store's graph, built in the background; Redis indexes as it writes and has neither).
     */
    indexStatus?(): { pending: number };
    whenIndexed?(): Promise<void>;
  };

/** One dependency's state for /readyz. */
export interface StoreCheck {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/** Where the services write what an operator should read (pino in the server, stderr in the CLI). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}
