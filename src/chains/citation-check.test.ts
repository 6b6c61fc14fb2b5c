import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import { type CitationCheck, CitationVerifier, checkedStream, countChecks } from "./citation-check.ts";

const source = (text: string) => ({ document: new Document({ pageContent: text }), score: 1 });
const NORMANS =
  "The Normans were the people who gave their name to Normandy,\na region in France. They were descended from Norse raiders.";
const ROLLO =
  "Under their leader Rollo, the Norse agreed to swear fealty to King Charles III of West Francia.";
const verifier = (minSupport = 0.5) => new CitationVerifier([source(NORMANS), source(ROLLO)], minSupport);

/** The answer streamed `size` characters at a time through the check: what comes out, and the checks. */
async function stream(answer: string, size: number, v = verifier()) {
  const pieces = answer.match(new RegExp(`[^]{1,${size}}`, "g")) ?? [];
  const checks: CitationCheck[] = [];
  let out = "";
  const seen: string[] = [];
  for await (const piece of checkedStream(pieces, v, (c) => checks.push(...c))) {
    out += piece;
    seen.push(piece);
  }
  return { out, checks, pieces: seen };
}

describe("CitationVerifier", () => {
  it("verifies a sentence its source supports and quotes the span, as offsets into the chunk", () => {
    const checked = verifier().check("The Normans gave their name to Normandy, in France [1].");
    expect(checked.text).toBe("The Normans gave their name to Normandy, in France [1].");
    expect(checked.checks).toEqual([
      {
        sentence: "The Normans gave their name to Normandy, in France.",
        cited: 1,
        outcome: "verified",
        source: 1,
        support: 1,
        quote: { text: NORMANS.slice(0, NORMANS.indexOf("France.") + 7), start: 0, end: 80 },
      },
    ]);
    // A wrapped line inside the sentence is part of the quote: it is a slice of the chunk.
    expect(checked.checks[0].quote?.text).toContain("\n");
  });

  it("re-points a citation to the source that supports the sentence, and removes one that none supports", () => {
    const v = verifier();
    expect(v.check("Rollo swore fealty to Charles III [1].").text).toBe(
      "Rollo swore fealty to Charles III [2].",
    );
    expect(v.check("The Normans built pyramids on the Moon [2].").text).toBe(
      "The Normans built pyramids on the Moon.",
    );
    // A number that points at no source goes too; the source the sentence already cites is not cited twice.
    expect(v.check("Rollo swore fealty to Charles III [2][7].").text).toBe(
      "Rollo swore fealty to Charles III [2].",
    );
    expect(v.check("Rollo swore fealty to Charles III [1, 2].").text).toBe(
      "Rollo swore fealty to Charles III [2].",
    );
  });

  it("weighs rare terms above common ones, and moves with minSupport", () => {
    // "Normans" is in both sources' context; "pyramids" and "Moon" are in none: under half the weight.
    const claim = "The Normans built pyramids on the Moon";
    const strict = verifier(0.5).checkClaim(claim, [1]).checks[0];
    expect(strict.outcome).toBe("removed");
    expect(strict.support).toBeGreaterThan(0);
    expect(strict.support).toBeLessThan(0.5);
    expect(verifier(strict.support).checkClaim(claim, [1]).checks[0].outcome).toBe("verified");
  });

  it("leaves a citation it cannot check (no content words) and counts it unchecked", () => {
    const checked = verifier().check("So it is [1].");
    expect(checked.text).toBe("So it is [1].");
    expect(countChecks(checked.checks)).toEqual({
      citations: 1,
      verified: 0,
      repointed: 0,
      removed: 0,
      unchecked: 1,
    });
  });
});

describe("checkedStream", () => {
  const answer =
    "The Normans gave their name to Normandy [2]. Rollo swore fealty to Charles III. [2] The Normans ate pizza [1].";
  const expected =
    "The Normans gave their name to Normandy [1]. Rollo swore fealty to Charles III. [2] The Normans ate pizza.";

  it("rewrites the marks whatever the pieces' boundaries, a mark after a full stop citing the sentence before", async () => {
    for (const size of [1, 2, 3, 7, 200]) {
      const { out, checks } = await stream(answer, size);
      expect(out).toBe(expected);
      expect(checks.map((c) => [c.cited, c.outcome, c.source])).toEqual([
        [2, "repointed", 1],
        [2, "verified", 2],
        [1, "removed", null],
      ]);
    }
  });

  it("lets text out as it comes, holding only a mark being read and the blanks before it", async () => {
    const { pieces } = await stream("The Normans came from Normandy [1] and France.", 1);
    expect(pieces.slice(0, 5)).toEqual(["T", "h", "e", " N", "o"]);
    expect(pieces).toContain(" [1]");
  });

  it("passes brackets that are not marks as text", async () => {
    const { out, checks } = await stream("An array [a] and [12345] and [ are text.", 2);
    expect(out).toBe("An array [a] and [12345] and [ are text.");
    expect(checks).toEqual([]);
  });
});
