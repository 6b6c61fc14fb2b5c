import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { placeInTurn } from "./tool-call-limit.ts";

const calls = (...ids: string[]) =>
  new AIMessage({
    content: "",
    tool_calls: ids.map((id) => ({ id, name: "search_knowledge_base", args: {} })),
  });
const result = (id: string) => new ToolMessage({ content: "found", tool_call_id: id });

describe("placeInTurn", () => {
  it("counts the calls of this turn only, earlier replies whole and this reply up to the call", () => {
    const messages = [
      new HumanMessage("Before?"),
      calls("old-1", "old-2", "old-3"), // an earlier turn's calls do not count
      result("old-1"),
      new AIMessage("Earlier answer."),
      new HumanMessage("Now?"),
      calls("a"),
      result("a"),
      calls("b", "c", "d"),
    ];
    expect(placeInTurn(messages, "b")).toBe(2);
    expect(placeInTurn(messages, "c")).toBe(3);
    expect(placeInTurn(messages, "d")).toBe(4);
  });

  it("places the first call of a turn first", () => {
    expect(placeInTurn([new HumanMessage("Hi"), calls("x", "y")], "x")).toBe(1);
  });
});
