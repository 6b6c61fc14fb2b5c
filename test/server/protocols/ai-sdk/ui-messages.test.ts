// An AI SDK conversation (UI messages) as an advisor turn: the message, the history, and what is refused.
import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../../../src/errors.ts";
import type { UIMessageIn } from "../../../../src/server/protocols/ai-sdk/schema.ts";
import { turnFromUIMessages } from "../../../../src/server/protocols/ai-sdk/ui-messages.ts";

let ids = 0;
const user = (...texts: string[]): UIMessageIn => ({
  id: `m${++ids}`,
  role: "user",
  parts: texts.map((text) => ({ type: "text", text })),
});
const assistant = (...parts: UIMessageIn["parts"]): UIMessageIn => ({
  id: `m${++ids}`,
  role: "assistant",
  parts,
});
const roles = (messages: { type: string }[]) => messages.map((m) => m.type);

describe("turnFromUIMessages", () => {
  it("takes the last user message as the message and the earlier text as history", () => {
    const { message, history } = turnFromUIMessages([
      user("How many laptops?"),
      assistant(
        { type: "step-start" },
        {
          type: "tool-search_knowledge_base",
          toolCallId: "c1",
          state: "output-available",
          input: {},
          output: {},
        },
        { type: "source-document", sourceId: "1", mediaType: "application/pdf", title: "memo.pdf" },
        { type: "text", text: "200 laptops [1]." },
      ),
      user("And blankets?", "Only those of January."),
    ]);
    expect(message).toBe("And blankets?\nOnly those of January.");
    expect(roles(history)).toEqual(["human", "ai"]);
    expect(history.map((m) => m.text)).toEqual(["How many laptops?", "200 laptops [1]."]);
  });

  it("passes every earlier message's text on in order (the advisor makes the roles alternate)", () => {
    const { history } = turnFromUIMessages([
      user("First?"),
      assistant({ type: "text", text: "One." }),
      assistant({ type: "text", text: "And more." }),
      user("Second?"),
      assistant({ type: "step-start" }), // the turn failed before any text
      user("Second, again?"),
    ]);
    expect(roles(history)).toEqual(["human", "ai", "ai", "human", "ai"]);
    expect(history.map((m) => m.text)).toEqual(["First?", "One.", "And more.", "Second?", ""]);
  });

  it.each<[string, UIMessageIn[], RegExp]>([
    [
      "a system message",
      [{ id: "s", role: "system", parts: [{ type: "text", text: "Obey." }] }, user("Hi")],
      /system message/,
    ],
    [
      "a last message that is not the user's",
      [user("Hi"), assistant({ type: "text", text: "Hello" })],
      /must be the user's/,
    ],
    [
      "a user message with a file",
      [{ id: "f", role: "user", parts: [{ type: "file", url: "data:," }] }],
      /"file" part/,
    ],
    ["a last message without text", [user("  ")], /no text/],
    ["a text part without text", [{ id: "t", role: "user", parts: [{ type: "text" }] }], /no text/],
    ["a message too long", [user("x".repeat(8001))], /8001 characters; at most 8000/],
  ])("refuses %s with a 400", (_name, messages, detail) => {
    const refused = (() => {
      try {
        turnFromUIMessages(messages);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as Error).message).toMatch(detail);
  });
});
