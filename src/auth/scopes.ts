// What an API key may do. Apart from api-keys.ts so that `counsel keys --help`, which lists them, loads no parser.

export const SCOPES = ["query", "chat", "ingest", "admin"] as const;

export type Scope = (typeof SCOPES)[number];
