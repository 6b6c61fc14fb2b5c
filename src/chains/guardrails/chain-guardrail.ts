// The guardrail a chain config names, made once for all its variants and tenants, for qa chains and the advisor
// alike. A configured guardrail is never silently left out: without a factory to make it, the chain fails.
import type { Guardrail } from "../../contracts/guardrail.ts";
import type { ChainConfig, GuardrailSettings } from "../config.ts";

export type GuardrailFactory = (settings: GuardrailSettings) => Promise<Guardrail>;

export async function chainGuardrail(
  config: ChainConfig,
  guardrailFor: GuardrailFactory | undefined,
): Promise<Guardrail | undefined> {
  if (!config.guardrail) return undefined;
  if (!guardrailFor)
    throw new Error(
      `Chain "${config.name}" has a guardrail, and no guardrail factory (guardrailFor) was given.`,
    );
  return guardrailFor(config.guardrail);
}
