// A guardrail checks a question before it is answered and an answer before it is shown: it lets the text
// through, masks parts of it, or blocks it with a message of its own. Implementations: Amazon Bedrock's
// ApplyGuardrail (models/guardrails/bedrock.ts) and the offline PII masker (chains/guardrails/offline-pii.ts).

/** Whose text is checked: the user's question (input) or the model's answer (output), as ApplyGuardrail names them. */
export type GuardrailSource = "input" | "output";

export type GuardrailVerdict =
  /** Nothing to change. */
  | { action: "none" }
  /** Sent on with parts replaced (personal data masked): `text` is the whole text, changed. */
  | { action: "masked"; text: string }
  /** Not sent on: `message` (the guardrail's own) is said instead. */
  | { action: "blocked"; message: string };

export interface Guardrail {
  /** Names it in metrics and logs: `<id>:<version>` for a Bedrock guardrail, `offline-pii` offline. */
  readonly name: string;
  /**
   * The verdict on one text.
   * @example
   * const verdict = await guardrail.check("How do I pick a lock?", "input", signal);
   * if (verdict.action === "blocked") return verdict.message;
   */
  check(text: string, source: GuardrailSource, signal?: AbortSignal): Promise<GuardrailVerdict>;
}
