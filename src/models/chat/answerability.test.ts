import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import { terms } from "../../text/analysis.ts";
import { ANSWERABILITY_MODEL, answerFeatures, FEATURES } from "./answerability.ts";
import { ExtractiveAnswerer } from "./extractive.ts";

const CHUNK =
  "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in " +
  "France. They were descended from Norse raiders led by Rollo.";
const evidence = (question: string, sentence: string) => ({
  question,
  questionTerms: terms(question),
  sentence,
  relevance: 0.8,
  chunk: CHUNK,
  runnerUp: 0.3,
  sourceTexts: [CHUNK, "Rivers flow to the sea."],
});
const feature = (name: (typeof FEATURES)[number], question: string, sentence = CHUNK) =>
  answerFeatures(evidence(question, sentence))[FEATURES.indexOf(name)];

describe("answerFeatures", () => {
  it("notices a name or a number the chunk never mentions", () => {
    expect(feature("nameMissing", "When did the Normans come to Normandy?")).toBe(0);
    expect(feature("nameMissing", "When did the Vikings come to Normandy?")).toBe(1);
    expect(feature("numberMissing", "What happened in the 10th century?")).toBe(0);
    expect(feature("numberMissing", "What happened in the 12th century?")).toBe(1);
  });

  it("notices a word swapped for its opposite, and how much of the question the chunk and sentence lack", () => {
    expect(feature("antonymInstead", "Who led the raiders?", "The raiders were led by Rollo.")).toBe(0);
    // "last" asked where the passage says "first"… in no sentence: the chunk has neither.
    expect(feature("antonymInstead", "Who was the last duke?", "The first duke was Rollo.")).toBe(1);
    expect(feature("missingFromChunk", "Who led the Norse raiders?")).toBe(0);
    expect(feature("missingFromChunk", "Who led the Saxon pirates?")).toBeCloseTo(2 / 3, 10);
    // "Rollo" is the question's rarest term (in one of the two chunks) and missing from the sentence.
    expect(feature("heaviestMissing", "Was Rollo a raider?", "They were raiders.")).toBeGreaterThan(0);
    expect(feature("heaviestMissing", "Was Rollo a raider?", "Rollo was a raider.")).toBe(0);
  });

  it("notices a negation on one side only", () => {
    expect(feature("negationMismatch", "Who led the Norse raiders?")).toBe(0);
    expect(feature("negationMismatch", "Who never led the Norse raiders?")).toBe(1);
  });

  it("looks for the kind of answer the question asks for, not already in the question", () => {
    // "10th and 11th centuries" is neither a year nor a month: not what "when" looks for.
    expect(feature("answerTypeFound", "When did the Normans name Normandy?")).toBe(0);
    expect(feature("answerTypeFound", "When did they name it?", "They named it in the 10th century.")).toBe(
      0,
    );
    expect(feature("answerTypeFound", "When did they name it?", "They named it in 911.")).toBe(1);
    expect(feature("answerTypeFound", "Who led the raiders?", "The raiders were led by Rollo.")).toBe(1);
    expect(feature("answerTypeFound", "Who led the Norse?", "The Norse were led by raiders.")).toBe(0);
    expect(feature("answerTypeFound", "How many centuries?", "Two centuries passed.")).toBe(0);
    expect(feature("answerTypeFound", "Why did they raid?", "No reason is given.")).toBe(1);
  });
});

describe("the calibrated answerer", () => {
  const sources = [{ document: new Document({ pageContent: CHUNK }), score: 1 }];
  const question = "Who led the Norse raiders?";

  it("answers when the model's confidence reaches minConfidence, and abstains below it", () => {
    const answered = new ExtractiveAnswerer({ abstention: "calibrated", minConfidence: 0 }).answer({
      question,
      sources,
    });
    expect(answered.abstained).toBe(false);
    expect(answered.answer).toContain("Rollo");
    const confidence = answered.confidence as number;
    expect(confidence).toBeGreaterThan(0);
    expect(confidence).toBeLessThan(1);
    const strict = new ExtractiveAnswerer({
      abstention: "calibrated",
      minConfidence: Math.min(1, confidence + 0.01),
    });
    expect(strict.answer({ question, sources })).toMatchObject({ abstained: true, confidence });
  });

  it("decides on the evidence it reports, with the shipped model's threshold by default", () => {
    const answerer = new ExtractiveAnswerer({ abstention: "calibrated" });
    expect(answerer.minConfidence).toBe(ANSWERABILITY_MODEL.threshold);
    expect(ANSWERABILITY_MODEL.fittedOn).toMatch(/^squad2, split calibration/);
    const found = answerer.evidence({ question, sources });
    expect(found).toMatchObject({ sentence: expect.stringContaining("Rollo"), chunk: CHUNK });
    expect(answerer.evidence({ question: "Pizza toppings?", sources })).toBeUndefined();
  });
});
