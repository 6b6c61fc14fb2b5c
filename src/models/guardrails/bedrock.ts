// An Amazon Bedrock guardrail, applied on its own with ApplyGuardrail: it checks any text, whichever model wrote
// it (Bedrock, an OpenAI-compatible server, the offline extractive answerer) and before any model runs, which
// Converse's `guardrailConfig` cannot: that one checks the prompt a model is sent (retrieved chunks and all) and
// needs a Bedrock model. Region, credentials and endpoint come from the SDK's chain, as the chat models' do.
import {
  ApplyGuardrailCommand,
  type ApplyGuardrailResponse,
  type BedrockRuntimeClient,
  type GuardrailAssessment,
} from "@aws-sdk/client-bedrock-runtime";
import type { Guardrail, GuardrailSource, GuardrailVerdict } from "../../contracts/guardrail.ts";
import { createBedrockRuntimeClient } from "../bedrock-client.ts";
import { awsServiceFailure } from "../errors.ts";
import type { GuardrailMeter } from "../guardrail-meter.ts";

export interface BedrockGuardrailOptions {
  /** The guardrail's id (as the Bedrock console shows it) or ARN. */
  id: string;
  /** A published version ("1", "2", …) or "DRAFT". */
  version: string;
  /** Shared with the chat models for one connection pool; made on first use otherwise. */
  client?: BedrockRuntimeClient;
  meter?: GuardrailMeter;
}

/** Said when a guardrail intervenes without a message of its own (its blocked messaging is never empty in AWS). */
const BLOCKED = "Sorry, the model cannot answer this question.";

/**
 * @example
 * const guardrail = new BedrockGuardrail({ id: "gr0abc1def2g", version: "1" });
 * const verdict = await guardrail.check(question, "input");
 */
export class BedrockGuardrail implements Guardrail {
  readonly name: string;
  private client?: BedrockRuntimeClient;

  constructor(private readonly options: BedrockGuardrailOptions) {
    this.name = `${options.id}:${options.version}`;
    this.client = options.client;
  }

  async check(text: string, source: GuardrailSource, signal?: AbortSignal): Promise<GuardrailVerdict> {
    if (!text.trim()) return { action: "none" };
    this.client ??= createBedrockRuntimeClient();
    let response: ApplyGuardrailResponse;
    try {
      response = await this.client.send(
        new ApplyGuardrailCommand({
          guardrailIdentifier: this.options.id,
          guardrailVersion: this.options.version,
          source: source === "input" ? "INPUT" : "OUTPUT",
          content: [{ text: { text } }],
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      const failure = awsServiceFailure(error, {
        service: `The Amazon Bedrock guardrail ${this.name}`,
        code: "guardrail",
      });
      if (!failure) throw error;
      failure.cause = error;
      throw failure;
    }
    const verdict = verdictOf(response);
    this.options.meter?.record({
      guardrail: this.name,
      source,
      outcome: verdict.action,
      units: billedUnits(response.usage),
    });
    return verdict;
  }
}

/**
 * GUARDRAIL_INTERVENED covers two things: a policy blocked the text (its `outputs` are the blocked messaging), or
 * sensitive-information filters masked it (its `outputs` are the text with `{EMAIL}`-style tags). Only masking
 * alone leaves the text usable; an intervention by anything else, a policy this code does not know included, blocks.
 */
export function verdictOf(response: ApplyGuardrailResponse): GuardrailVerdict {
  if (response.action !== "GUARDRAIL_INTERVENED") return { action: "none" };
  const text = (response.outputs ?? []).map((output) => output.text ?? "").join("");
  const actions = (response.assessments ?? []).flatMap(policyActions);
  if (text && actions.includes("ANONYMIZED") && !actions.includes("BLOCKED"))
    return { action: "masked", text };
  return { action: "blocked", message: text.trim() || BLOCKED };
}

function policyActions(assessment: GuardrailAssessment): (string | undefined)[] {
  const { topicPolicy, contentPolicy, wordPolicy, sensitiveInformationPolicy, contextualGroundingPolicy } =
    assessment;
  return [
    ...(topicPolicy?.topics ?? []),
    ...(contentPolicy?.filters ?? []),
    ...(wordPolicy?.customWords ?? []),
    ...(wordPolicy?.managedWordLists ?? []),
    ...(sensitiveInformationPolicy?.piiEntities ?? []),
    ...(sensitiveInformationPolicy?.regexes ?? []),
    ...(contextualGroundingPolicy?.filters ?? []),
  ].map((entry) => entry.action);
}

/** `topicPolicyUnits: 1` as `topic: 1`; free units (sensitiveInformationPolicyFreeUnits) and zeros left out. */
function billedUnits(usage: ApplyGuardrailResponse["usage"]): Record<string, number> {
  const units: Record<string, number> = {};
  for (const [key, value] of Object.entries(usage ?? {})) {
    if (!key.endsWith("Units") || key.includes("Free") || typeof value !== "number" || value <= 0) continue;
    const policy = key
      .replace(/Units$/, "")
      .replace("Policy", "")
      .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    units[policy] = value;
  }
  return units;
}
