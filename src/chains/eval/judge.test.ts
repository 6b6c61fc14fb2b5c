import { describe, expect, it } from "vitest";
import { parseGrades } from "./judge.ts";

describe("parseGrades", () => {
  it("reads the first JSON object of the reply, clamping grades to 0..1", () => {
    expect(parseGrades('Here: {"faithfulness": 0.75, "correctness": 1.4} done', true)).toEqual({
      faithfulness: 0.75,
      correctness: 1,
    });
  });

  it("gives null for what is missing, not a number, or not JSON, and no correctness without references", () => {
    expect(parseGrades('{"faithfulness": "high", "correctness": null}', true)).toEqual({
      faithfulness: null,
      correctness: null,
    });
    expect(parseGrades("I cannot grade this.", true)).toEqual({ faithfulness: null, correctness: null });
    expect(parseGrades('{"faithfulness": 1, "correctness": 1}', false)).toEqual({
      faithfulness: 1,
      correctness: null,
    });
  });
});
