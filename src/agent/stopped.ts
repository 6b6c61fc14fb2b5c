// A turn the client stopped (the stop button, a closed tab) is kept as far as it went: the user's message and
// the partial answer, marked `stopped` in its response_metadata, so that a session read back shows it as such.

import { AIMessage, type BaseMessage } from "@langchain/core/messages";

/** The partial answer of a stopped turn, as stored. */
export function stoppedAnswer(text: string): AIMessage {
  return new AIMessage({ content: text, response_metadata: { stopped: true } });
}

export function isStopped(message: BaseMessage): boolean {
  return AIMessage.isInstance(message) && message.response_metadata?.stopped === true;
}

/**
 * A message as a model is sent it: a stopped answer says it was cut off, so that the model neither takes it
 * for a finished answer nor meets an empty one (which some models' APIs refuse); any other as it is.
 */
export function asSent(message: BaseMessage): BaseMessage {
  if (!isStopped(message)) return message;
  return new AIMessage(
    [message.text.trim(), "[The user stopped this answer here.]"].filter(Boolean).join("\n\n"),
  );
}
