// Two JSON shapes written as the route schemas have always had them where TypeBox's builders would write them
// another way (a union as anyOf, a record as patternProperties), changing validation messages and OpenAPI.
import Type, { type Static, type TObjectOptions, type TSchema } from "typebox";

/** A string, a number or a boolean: one `type` list, so that a wrong value reads "must be string,number,boolean". */
export const Scalar = Type.Unsafe<string | number | boolean>({ type: ["string", "number", "boolean"] });

/**
 * An object whose every property, whatever its name, is a `value` (`additionalProperties`).
 *
 * @example
 * Dictionary(Type.Number(), { description: "Milliseconds per step." })
 */
export function Dictionary<Value extends TSchema>(value: Value, options: TObjectOptions = {}) {
  return Type.Unsafe<Record<string, Static<Value>>>({
    type: "object",
    ...options,
    additionalProperties: value,
  });
}
