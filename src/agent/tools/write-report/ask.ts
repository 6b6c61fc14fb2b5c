// The write_report tool's model calls: each runs under the tool's run, with its signal and callbacks, tagged
// so that the advisor's token stream leaves the report's tokens out.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { z } from "zod/v4";

export type Step = "plan" | "write" | "repair";

/** What a structured call returns: the schema's object, or null when the model answered in prose instead. */
export interface StructuredReply<T> {
  parsed: T | null;
  /** The reply's text, for reading a prose answer. */
  text: string;
}

/** The model calls of the tool's run. */
export interface Ask {
  /** One call; resolves to the reply's text. */
  text(messages: BaseMessage[], step: Step): Promise<string>;
  /**
   * One call through the model's structured output (`withStructuredOutput`: a forced call of a tool named
   * `name` where the model can be forced, as Bedrock's Claude and Nova models can).
   */
  structured<T>(
    schema: z.ZodType<T>,
    name: string,
    messages: BaseMessage[],
    step: Step,
  ): Promise<StructuredReply<T>>;
}

/**
 * Model calls under the tool's run: its signal (an abort stops the call) and callbacks (tracing, events).
 * Tagged nostream so that LangGraph's "messages" stream does not show the report's tokens as the agent's
 * answer; streamEvents consumers can skip runs tagged "write_report" for the same reason.
 */
const isMessage = (value: unknown): value is BaseMessage => BaseMessage.isInstance(value);

export function askUnder(model: BaseChatModel, config: RunnableConfig | undefined): Ask {
  const under = (step: Step): RunnableConfig => ({
    signal: config?.signal,
    callbacks: config?.callbacks,
    runName: `write_report:${step}`,
    tags: ["write_report", "nostream"],
  });
  return {
    async text(messages, step) {
      return (await model.invoke(messages, under(step))).text;
    },
    async structured(schema, name, messages, step) {
      // includeRaw: a model that ignores the tool still gives its text, with parsed: null rather than an
      // error. The tool's arguments are checked here: LangChain's parsers hand them over unchecked.
      const runnable = model.withStructuredOutput(schema, { name, includeRaw: true });
      const result: unknown = await runnable.invoke(messages, under(step));
      // Some models' withStructuredOutput ignore includeRaw and return the object alone (LangChain's own
      // test models among them).
      const { raw, parsed } = isMessage((result as { raw?: unknown } | null)?.raw)
        ? (result as { raw: BaseMessage; parsed: unknown })
        : { raw: undefined, parsed: result };
      const checked = schema.safeParse(parsed);
      return { parsed: checked.success ? checked.data : null, text: raw?.text ?? "" };
    },
  };
}
