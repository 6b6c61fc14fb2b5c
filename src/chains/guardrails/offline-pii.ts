// A guardrail with no service behind it: it masks personal data in answers with the recognisers ingestion
// redacts with (ingest/transform/pii), as `[EMAIL]`, `[PHONE]`, … the way ingestion masks them. For a
// deployment without AWS, or documents indexed before their recipe redacted. It never blocks.
import type { Guardrail, GuardrailSource, GuardrailVerdict } from "../../contracts/guardrail.ts";
import type { PiiType } from "../../ingest/transform/pii/pii-types.ts";
import { type Redactor, redactorFor } from "../../ingest/transform/pii/redact.ts";
import type { GuardrailMeter } from "../../models/guardrail-meter.ts";

export interface OfflinePiiGuardrailOptions {
  types: readonly PiiType[];
  meter?: GuardrailMeter;
}

/**
 * @example
 * const guardrail = new OfflinePiiGuardrail({ types: ["email", "phone"] });
 * await guardrail.check("Write to ana@example.com.", "output"); // { action: "masked", text: "Write to [EMAIL]." }
 */
export class OfflinePiiGuardrail implements Guardrail {
  readonly name = "offline-pii";
  private readonly redactor: Redactor;

  constructor(private readonly options: OfflinePiiGuardrailOptions) {
    this.redactor = redactorFor({ engine: "offline", strategy: "mask", types: options.types });
  }

  async check(text: string, source: GuardrailSource, signal?: AbortSignal): Promise<GuardrailVerdict> {
    const masked = await this.redactor.text(text, signal);
    const verdict: GuardrailVerdict =
      masked === text ? { action: "none" } : { action: "masked", text: masked };
    this.options.meter?.record({ guardrail: this.name, source, outcome: verdict.action, units: {} });
    return verdict;
  }
}
