// What PII redaction does, counted for GET /metrics: requests to a paid engine (Amazon Comprehend bills per 100
// characters, at least 300 per request) and the values redacted per type, so that an operator sees both the
// cost and whether redaction finds anything at all. Totals live in the process, as CacheMeter's do.

export type PiiEngineName = "offline" | "comprehend";

export type PiiRecord =
  | { kind: "request"; engine: PiiEngineName; characters: number }
  | { kind: "redacted"; engine: PiiEngineName; type: string; count: number };

export class PiiMeter {
  private readonly listeners: ((record: PiiRecord) => void)[] = [];

  request(engine: PiiEngineName, characters: number): void {
    this.emit({ kind: "request", engine, characters });
  }

  redacted(engine: PiiEngineName, type: string, count = 1): void {
    this.emit({ kind: "redacted", engine, type, count });
  }

  onRecord(listener: (record: PiiRecord) => void): void {
    this.listeners.push(listener);
  }

  private emit(record: PiiRecord): void {
    for (const listener of this.listeners) listener(record);
  }
}
