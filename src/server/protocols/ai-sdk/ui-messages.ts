// The AI SDK's conversation (UI messages, sent whole with every request) as an advisor turn's input: the last
// user message's text is the message, the earlier messages' text the history. Nothing is stored.
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import { BadRequestError } from "../../../errors.ts";
import { MAX_MESSAGE_CHARS } from "../../schemas/message.ts";
import type { UIMessageIn } from "./schema.ts";

/**
 * The turn a conversation asks for. Throws BadRequestError (400) for a conversation the advisor cannot take: a
 * system message (its instructions are its chain's), a user message with anything but text (files are
 * ingested, not chatted), a last message that is not the user's, or one without text or too long.
 *
 * History keeps the text of user and assistant messages (tool, source and data parts are the advisor's own
 * output, already summed up in its text); the advisor makes the roles alternate.
 */
export function turnFromUIMessages(messages: UIMessageIn[]): { message: string; history: BaseMessage[] } {
  messages.forEach((m, i) => {
    if (m.role === "system") {
      throw new BadRequestError(
        `messages[${i}] is a system message: the advisor's instructions come from its chain, not the request.`,
      );
    }
    const other = m.role === "user" ? m.parts.find((p) => p.type !== "text") : undefined;
    if (other) {
      throw new BadRequestError(
        `messages[${i}] has a "${other.type.slice(0, 50)}" part: user messages may hold text only ` +
          "(add documents through POST /ingest).",
      );
    }
  });
  const last = messages[messages.length - 1];
  if (last.role !== "user") {
    throw new BadRequestError(`The last message must be the user's; it is the ${last.role}'s.`);
  }
  const message = textOf(last);
  if (!message.trim()) throw new BadRequestError("The last message has no text.");
  if (message.length > MAX_MESSAGE_CHARS) {
    throw new BadRequestError(
      `The last message has ${message.length} characters; at most ${MAX_MESSAGE_CHARS} are read.`,
    );
  }

  // The advisor makes the roles alternate (agent/advisor.ts alternating), for every protocol alike.
  const history = messages
    .slice(0, -1)
    .map((m) => (m.role === "user" ? new HumanMessage(textOf(m)) : new AIMessage(textOf(m))));
  return { message, history };
}

function textOf(message: UIMessageIn): string {
  return message.parts
    .filter((p) => p.type === "text" && typeof p.text === "string")
    .map((p) => p.text)
    .join("\n");
}
