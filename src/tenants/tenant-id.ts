// What a tenant id may be. It names a folder under DATA_DIR and a part of Redis keys, so it is kept to safe
// characters; every entry point (API keys, the CLI's --tenant, the registry) checks it here.
import { NAME } from "../contracts/names.ts";

/** Lowercase letters, digits, `-` and `_`, at most 64, starting with a letter or digit. */
export const TENANT_ID = NAME;

/** The tenant of a service without API keys, and of the CLI unless told otherwise. */
export const DEFAULT_TENANT = "default";

/** What a person is told when an id breaks the rule. */
export const TENANT_ID_RULE = "lowercase letters, digits, - and _ (at most 64)";

export function isTenantId(value: string): boolean {
  return TENANT_ID.test(value);
}
