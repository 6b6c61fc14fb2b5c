// Experiment variants: what each runs, and who meets which. Weights are honoured within statistical tolerance,
// a key always meets the same variant, and a variant asked for by name is served or refused by name.
import { describe, expect, it } from "vitest";
import { parseChainConfig } from "../../src/chains/config.ts";
import {
  chooseVariant,
  resolveVariant,
  UnknownVariantError,
  variantWeights,
} from "../../src/chains/variants.ts";

const chain = (variants: string) =>
  parseChainConfig(
    `name: qa\ntype: qa\nprompt: qa\nmodel: { provider: extractive }\nretrieval: { k: 5 }\nvariants:\n${variants}`,
    "chains/qa.yaml",
  );

const THREE = chain(
  [
    "  a: { weight: 1 }",
    "  b: { weight: 2, retrieval: { k: 8, weights: { lexical: 0.5, vector: 0.5 } } }",
    "  c: { weight: 1, prompt: qa-short, model: { minRelevance: 0.5 }, cache: { llm: true } }",
  ].join("\n"),
);

describe("variants", () => {
  it("resolve to the chain with the variant's fields on top, section by section", () => {
    expect(resolveVariant(THREE, "a")).toMatchObject({ prompt: "qa", retrieval: { k: 5, search: "hybrid" } });
    expect(resolveVariant(THREE, "b").retrieval).toEqual({
      k: 8,
      search: "hybrid",
      weights: { lexical: 0.5, vector: 0.5 },
      decompose: false,
    });
    expect(resolveVariant(THREE, "c")).toMatchObject({
      prompt: "qa-short",
      model: { provider: "extractive", minRelevance: 0.5 },
      retrieval: { k: 5 },
      cache: { llm: true },
    });
    expect(resolveVariant(THREE, "a").cache).toEqual({ llm: false });
    expect(resolveVariant(THREE, "default")).toBe(THREE);
  });

  it("share the traffic by weight, within statistical tolerance", () => {
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i++) counts[chooseVariant(THREE, { key: `user-${i}` })] += 1;
    // Expected shares 1/4, 2/4, 1/4. A binomial share's standard deviation at n = 20,000 is at most
    // sqrt(0.25 * 0.75 / 20000) = 0.0031 (0.0035 for p = 0.5); 4 sigma is 0.014.
    expect(counts.a / n).toBeCloseTo(0.25, 1);
    expect(Math.abs(counts.a / n - 0.25)).toBeLessThan(0.014);
    expect(Math.abs(counts.b / n - 0.5)).toBeLessThan(0.014);
    expect(Math.abs(counts.c / n - 0.25)).toBeLessThan(0.014);
    // Without a key the choice is random, and still by weight.
    const random: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < n; i++) random[chooseVariant(THREE)] += 1;
    expect(Math.abs(random.b / n - 0.5)).toBeLessThan(0.014);
  });

  it("give a key the same variant every time, and another chain's choice does not depend on this one's", () => {
    const first = chooseVariant(THREE, { key: "session-42" });
    for (let i = 0; i < 50; i++) expect(chooseVariant(THREE, { key: "session-42" })).toBe(first);
    const other = { ...THREE, name: "qa-other" };
    const differs = Array.from({ length: 200 }, (_, i) => `k${i}`).some(
      (key) => chooseVariant(THREE, { key }) !== chooseVariant(other, { key }),
    );
    expect(differs).toBe(true);
  });

  it("never send traffic to a variant of weight 0, which can still be asked for by name", () => {
    const zero = chain("  on: { weight: 1 }\n  off: { weight: 0 }");
    for (let i = 0; i < 2000; i++) expect(chooseVariant(zero, { key: String(i) })).toBe("on");
    expect(chooseVariant(zero, { explicit: "off" })).toBe("off");
    expect(chooseVariant(zero, { explicit: "default" })).toBe("default");
  });

  it("refuse a variant the chain does not have, naming the ones it has", () => {
    expect(() => chooseVariant(THREE, { explicit: "d" })).toThrow(UnknownVariantError);
    expect(() => chooseVariant(THREE, { explicit: "d" })).toThrow(/no variant "d".*a, b, c/);
  });

  it("make a chain without variants its own only arm", () => {
    const plain = parseChainConfig("name: qa\ntype: qa\nprompt: qa\n", "chains/qa.yaml");
    expect(variantWeights(plain)).toEqual([["default", 1]]);
    expect(chooseVariant(plain, { key: "x" })).toBe("default");
  });
});
