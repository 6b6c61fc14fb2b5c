// A cap on tool calls per turn, as a wrapToolCall middleware. langchain's toolCallLimitMiddleware does the same
// with two graph nodes (after each model call, after the agent) and two state channels, and LangGraph's
// bookkeeping for those steps costs about a fifth of a turn's CPU (createAgent with the search tool and the Bedrock
// emulator, turns interleaved: 22.8-24.5 ms per turn with it, 17.8-20.1 ms with this, 18.5-18.7 ms with no cap),
// CPU that concurrent turns queue behind. Wrapping the tool calls adds no step: a call's place in the turn is read
// from the messages, so nothing has to be counted or reset.
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { createMiddleware } from "langchain";

/** Said to the model in place of a refused call's result, so that it answers with what it has. */
export const LIMIT_REACHED =
  "Tool call limit for this turn reached: this call was not run. Answer with what you have found.";

/**
 * The 1-based place of a tool call among the tool calls of the current turn (the messages since the last human
 * message), counting the calls of one model reply in their order there.
 */
export function placeInTurn(messages: BaseMessage[], toolCallId: string | undefined): number {
  let place = 0;
  for (let i = messages.length - 1; i >= 0 && !HumanMessage.isInstance(messages[i]); i -= 1) {
    const message = messages[i];
    if (!AIMessage.isInstance(message)) continue;
    const calls = message.tool_calls ?? [];
    const at = calls.findIndex((call) => call.id === toolCallId);
    // The reply holding this call counts up to it; earlier replies of the turn count whole.
    place += at >= 0 ? at + 1 : calls.length;
  }
  return place;
}

export function toolCallLimit(runLimit: number) {
  return createMiddleware({
    name: "ToolCallLimit",
    wrapToolCall: (request, handler) => {
      if (placeInTurn(request.state.messages, request.toolCall.id) <= runLimit) return handler(request);
      return new ToolMessage({
        content: LIMIT_REACHED,
        tool_call_id: request.toolCall.id ?? "",
        name: request.toolCall.name,
        status: "error",
      });
    },
  });
}
