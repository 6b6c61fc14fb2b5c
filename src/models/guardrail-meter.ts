// Guardrail checks, counted: each ApplyGuardrail call (or offline check) with what it decided, and the text units
// Amazon Bedrock bills for it, by policy. Streaming answers are checked a window at a time, so the calls per
// answer, and their bill, are what operators need to watch (GET /metrics). Totals live in the process; each
// record is also handed to listeners, as UsageMeter does for model tokens.
import type { GuardrailSource, GuardrailVerdict } from "../contracts/guardrail.ts";

export interface GuardrailRecord {
  /** `<id>:<version>`, or `offline-pii`. */
  guardrail: string;
  source: GuardrailSource;
  outcome: GuardrailVerdict["action"];
  /** Text units billed, by policy (topic, content, word, sensitive_information, …); none offline. */
  units: Record<string, number>;
}

export class GuardrailMeter {
  private readonly counts = new Map<string, number>();
  private readonly listeners: ((record: GuardrailRecord) => void)[] = [];

  record(record: GuardrailRecord): void {
    const key = `${record.guardrail} ${record.source} ${record.outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    for (const listener of this.listeners) listener(record);
  }

  onRecord(listener: (record: GuardrailRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Checks since start by "<guardrail> <source> <outcome>", for tests and debugging. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
