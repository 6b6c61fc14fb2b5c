// What every ingestion source (filesystem, upload, later S3 and URLs) yields: raw bytes plus who they are.
// Loaders never trust `name` or `mediaType` for the type: the content is sniffed first (loaders/sniff.ts).

export interface SourceBlob {
  /** Display name, e.g. the file name; stamped on every chunk. Its extension is a hint for the type. */
  name: string;
  /** Stable identity: an absolute path, "upload:<name>", later "s3://…" or a URL. The default doc_id. */
  source: string;
  data: Buffer;
  /** The media type the sender declared: untrusted, used only as a hint after the content and extension. */
  mediaType?: string;
  /** Caller metadata copied onto every chunk (JSON scalars only); `doc_id` here overrides `source`. */
  metadata?: Record<string, unknown>;
}
