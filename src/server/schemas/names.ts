// Names in paths and bodies, as JSON Schema patterns: a chain's or a variant's name follows the one naming rule,
// so that a mistyped name is a 400 before any lookup.
import { NAME as NAME_RULE } from "../../contracts/names.ts";

export const NAME = NAME_RULE.source;

/** A conversation's id, whichever protocol names it (POST /advisor/chat, POST /advisor/ui). */
export const SESSION_ID = "^[A-Za-z0-9_-]{8,128}$";
