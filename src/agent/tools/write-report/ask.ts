// The write_report tool's model calls: each runs under the tool's run, with its signal and callbacks, tagged
// so that the advisor's token stream leaves the report's tokens out.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";

export type Step = "plan" | "write" | "repair";

/** One model call of a step of the tool's run; resolves to the reply's text. */
export type Ask = (messages: BaseMessage[], step: Step) => Promise<string>;

/**
 * Model calls under the tool's run: its signal (an abort stops the call) and callbacks (tracing, events).
 * Tagged nostream so that LangGraph's "messages" stream does not show the report's tokens as the agent's
 * answer; streamEvents consumers can skip runs tagged "write_report" for the same reason.
 */
export function askUnder(model: BaseChatModel, config: RunnableConfig | undefined): Ask {
  return async (messages, step) => {
    const message = await model.invoke(messages, {
      signal: config?.signal,
      callbacks: config?.callbacks,
      runName: `write_report:${step}`,
      tags: ["write_report", "nostream"],
    });
    return message.text;
  };
}
