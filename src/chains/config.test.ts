// Chain config files: the repository's own chains/, and broken files whose errors must say where and what.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChainConfigError, loadChainConfigs, parseChainConfig } from "./config.ts";

const CHAINS = path.resolve(import.meta.dirname, "../../chains");

const VALID = `
name: qa
type: qa
prompt: qa
model:
  provider: extractive
retrieval:
  k: 5
  search: hybrid
`;

/** The error's lines for a qa.yaml with `text`. */
function problems(text: string, file = "chains/qa.yaml"): string[] {
  try {
    parseChainConfig(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ChainConfigError);
    return (error as ChainConfigError).message.split("\n");
  }
  throw new Error("expected the config to be rejected");
}

describe("loadChainConfigs", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-chains-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads the repository's default qa chain with the extractive answerer", async () => {
    const chains = await loadChainConfigs(CHAINS);
    expect(chains.get("qa")).toMatchObject({
      name: "qa",
      type: "qa",
      prompt: "qa",
      model: { provider: "extractive" },
      retrieval: { k: 5, search: "hybrid" },
    });
  });

  it("keys configs by name and fills retrieval defaults", async () => {
    await writeFile(
      path.join(dir, "brief.yaml"),
      "name: brief\ntype: qa\nprompt: qa\nmodel: { provider: extractive }\n",
    );
    await writeFile(path.join(dir, "notes.txt"), "not a chain");
    const chains = await loadChainConfigs(dir);
    expect([...chains.keys()]).toEqual(["brief"]);
    expect(chains.get("brief")?.retrieval).toEqual({ k: 5, search: "hybrid", decompose: false });
  });

  it("names the file, the field, what was expected and what it got", async () => {
    await writeFile(path.join(dir, "qa.yaml"), VALID.replace("k: 5", "k: 500"));
    const error = await loadChainConfigs(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainConfigError);
    expect((error as Error).message).toBe(
      `${path.join(dir, "qa.yaml")}: retrieval.k: expected a number between 1 and 50, got 500`,
    );
  });

  it("names a missing chains folder", async () => {
    await expect(loadChainConfigs(path.join(dir, "missing"))).rejects.toThrow(
      /missing: cannot read the chains folder/,
    );
  });
});

describe("parseChainConfig", () => {
  it("accepts a valid file", () => {
    expect(parseChainConfig(VALID, "chains/qa.yaml").model).toEqual({ provider: "extractive" });
  });

  it("shows the file relative to the working directory", () => {
    expect(problems(VALID.replace("k: 5", "k: 0"), path.join(process.cwd(), "chains/qa.yaml"))).toEqual([
      "chains/qa.yaml: retrieval.k: expected a number between 1 and 50, got 0",
    ]);
  });

  it("lists every problem, one line each", () => {
    const text = VALID.replace("type: qa", "type: chat")
      .replace("search: hybrid", "search: fuzzy")
      .replace("k: 5", "k: 2.5");
    expect(problems(text)).toEqual([
      'chains/qa.yaml: type: expected one of "qa", "advisor", got "chat"',
      "chains/qa.yaml: retrieval.k: expected a whole number between 1 and 50, got 2.5",
      'chains/qa.yaml: retrieval.search: expected one of "hybrid", "similarity", "lexical", "mmr", got "fuzzy"',
    ]);
  });

  it("reports missing fields, wrong types and misspelt fields", () => {
    expect(problems("name: qa\ntype: qa\nprompt: qa\nmodel: 3\n")).toEqual([
      "chains/qa.yaml: model: expected a mapping, got 3",
    ]);
    expect(problems(VALID.replace("k: 5", 'k: "5"'))).toEqual([
      'chains/qa.yaml: retrieval.k: expected a number between 1 and 50, got "5"',
    ]);
    expect(
      problems(VALID.replace("  provider: extractive", "  provider: extractive\n  temprature: 0")),
    ).toEqual(["chains/qa.yaml: model.temprature: unknown field (check its spelling)"]);
    expect(problems(`${VALID}modle: {}\n`)).toEqual([
      "chains/qa.yaml: modle: unknown field (check its spelling)",
    ]);
  });

  it.each(["bedrock", "openai"])("requires a model id for %s", (provider) => {
    expect(problems(VALID.replace("provider: extractive", `provider: ${provider}`))).toEqual([
      `chains/qa.yaml: model.id: required when model.provider is ${provider} (set it here, or MODEL_ID for every chain)`,
    ]);
  });

  it("fills what a chain leaves out of model from MODEL_PROVIDER and MODEL_ID; the chain's own fields win", () => {
    const bedrock = { provider: "bedrock" as const, id: "us.amazon.nova-micro-v1:0" };
    const bare = "name: qa\ntype: qa\nprompt: qa\n";
    expect(parseChainConfig(bare, "chains/qa.yaml").model).toEqual({ provider: "extractive" });
    expect(parseChainConfig(bare, "chains/qa.yaml", bedrock).model).toEqual(bedrock);
    expect(parseChainConfig(`${bare}model: { temperature: 0.2 }\n`, "chains/qa.yaml", bedrock).model).toEqual(
      {
        ...bedrock,
        temperature: 0.2,
      },
    );
    // A chain that names its provider keeps it.
    expect(parseChainConfig(VALID, "chains/qa.yaml", bedrock).model).toMatchObject({
      provider: "extractive",
    });
    expect(parseChainConfig(VALID, "chains/qa.yaml", bedrock).model).not.toHaveProperty("id");
    expect(() => parseChainConfig(bare, "chains/qa.yaml", { provider: "bedrock" })).toThrow(/MODEL_ID/);
  });

  it("requires the name to be the file name", () => {
    expect(problems(VALID.replace("name: qa", "name: other"))).toEqual([
      'chains/qa.yaml: name: expected "qa" (the file name, so each chain is found by its file), got "other"',
    ]);
  });

  it("validates a metadata filter", () => {
    expect(
      parseChainConfig(`${VALID}  filter: { tenant: acme, year: 2023 }\n`, "qa.yaml").retrieval.filter,
    ).toEqual({
      tenant: "acme",
      year: 2023,
    });
    expect(problems(`${VALID}  filter: { tenant: [a, b] }\n`)).toEqual([
      'chains/qa.yaml: retrieval.filter.tenant: expected a string, number or boolean, got ["a","b"]',
    ]);
  });

  it("verifies citations unless told not to, and checks minSupport's range, also in a variant", () => {
    expect(parseChainConfig(VALID, "qa.yaml").citations).toEqual({ verify: true, minSupport: 0.5 });
    const off = parseChainConfig(`${VALID}citations: { verify: false }\n`, "qa.yaml");
    expect(off.citations).toEqual({ verify: false, minSupport: 0.5 });
    expect(problems(`${VALID}citations: { minSupport: 2 }\n`)).toEqual([
      "chains/qa.yaml: citations.minSupport: expected a number between 0 and 1, got 2",
    ]);
    expect(problems(`${VALID}variants:\n  strict: { weight: 1, citations: { minSupport: -1 } }\n`)).toEqual([
      "chains/qa.yaml: variants.strict.citations.minSupport: expected a number between 0 and 1, got -1",
    ]);
  });

  it("takes the extractive answerer's abstention rule and its confidence", () => {
    const text = VALID.replace(
      "provider: extractive",
      "provider: extractive\n  abstention: calibrated\n  minConfidence: 0.6",
    );
    expect(parseChainConfig(text, "qa.yaml").model).toMatchObject({
      abstention: "calibrated",
      minConfidence: 0.6,
    });
    expect(
      problems(VALID.replace("provider: extractive", "provider: extractive\n  abstention: maybe"))[0],
    ).toMatch(/^chains\/qa.yaml: model.abstention: .*relevance.*calibrated/);
  });

  it("takes an offline reranker with its candidates, and checks their range", () => {
    const text = `${VALID}  rerank: { provider: offline }\n`;
    expect(parseChainConfig(text, "qa.yaml").retrieval.rerank).toEqual({
      provider: "offline",
      candidates: 20,
    });
    expect(problems(`${VALID}  rerank: { provider: offline, candidates: 500 }\n`)).toEqual([
      "chains/qa.yaml: retrieval.rerank.candidates: expected a number between 1 and 100, got 500",
    ]);
    expect(problems(`${VALID}  rerank: { provider: cohere }\n`)[0]).toMatch(/retrieval.rerank.provider/);
    const bedrock = `${VALID}  rerank: { provider: bedrock, model: cohere.rerank-v3-5:0 }\n`;
    expect(parseChainConfig(bedrock, "qa.yaml").retrieval.rerank).toMatchObject({
      model: "cohere.rerank-v3-5:0",
    });
    expect(problems(`${VALID}  rerank: { provider: offline, model: amazon.rerank-v1:0 }\n`)).toEqual([
      "chains/qa.yaml: retrieval.rerank.model: only with provider: bedrock",
    ]);
    expect(problems(`${VALID}  rerank: { provider: bedrock, weight: 0.5 }\n`)[0]).toMatch(
      /retrieval.rerank.weight: only with provider: offline/,
    );
  });

  it("reports a YAML syntax error with its line", () => {
    const [line] = problems("name: qa\nmodel: [unclosed\n");
    expect(line).toMatch(/^chains\/qa\.yaml: line \d+, column \d+: /);
    expect(problems("- just\n- a list\n")).toEqual([
      "chains/qa.yaml: expected a mapping of fields (name, type, prompt, model, retrieval)",
    ]);
  });

  it("takes MMR options for search mmr", () => {
    const mmr = VALID.replace("search: hybrid", "search: mmr\n  mmr: { fetchK: 40, lambda: 0.7 }");
    expect(parseChainConfig(mmr, "qa.yaml").retrieval).toEqual({
      k: 5,
      search: "mmr",
      mmr: { fetchK: 40, lambda: 0.7 },
      decompose: false,
    });
    expect(problems(mmr.replace("lambda: 0.7", "lambda: 2"))).toEqual([
      "chains/qa.yaml: retrieval.mmr.lambda: expected a number between 0 and 1, got 2",
    ]);
  });

  it("refuses options of a search mode the chain does not run", () => {
    expect(problems(`${VALID}  mmr: { lambda: 0.7 }\n`)).toEqual([
      "chains/qa.yaml: retrieval.mmr: only for search: mmr (this one is hybrid)",
    ]);
    expect(
      problems(
        `${VALID.replace("search: hybrid", "search: similarity")}  weights: { lexical: 1, vector: 0 }\n`,
      ),
    ).toEqual(["chains/qa.yaml: retrieval.weights: only for search: hybrid (this one is similarity)"]);
  });

  it("refuses in an advisor chain what the advisor does not use", () => {
    const advisor = VALID.replace("name: qa", "name: advisor").replace("type: qa", "type: advisor");
    expect(
      problems(
        `${advisor}  scoreThreshold: 0.2\ncache: { llm: true }\nvariants:\n  a: { weight: 1 }\n`,
        "chains/advisor.yaml",
      ),
    ).toEqual([
      "chains/advisor.yaml: variants: only for type qa (the advisor runs no experiments)",
      "chains/advisor.yaml: cache.llm: only for type qa (the advisor uses no LLM cache)",
      "chains/advisor.yaml: retrieval.scoreThreshold: only for type qa (the advisor's search keeps every chunk it retrieves)",
    ]);
  });

  describe("guardrail", () => {
    const guarded = (guardrail: string) => `${VALID}guardrail: ${guardrail}\n`;

    it("takes an Amazon Bedrock guardrail by id or ARN and version, checking both sides by default", () => {
      expect(parseChainConfig(guarded("{ id: gr0abc1def2g, version: 1 }"), "qa.yaml").guardrail).toEqual({
        kind: "bedrock",
        id: "gr0abc1def2g",
        version: "1",
        checks: ["input", "output"],
        windowChars: 300,
      });
      const arn = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr0abc1def2g";
      expect(
        parseChainConfig(
          guarded(`{ id: "${arn}", version: DRAFT, checks: [input], windowChars: 1000 }`),
          "qa.yaml",
        ).guardrail,
      ).toEqual({ kind: "bedrock", id: arn, version: "DRAFT", checks: ["input"], windowChars: 1000 });
    });

    it("takes offline: pii, masking answers sentence by sentence, every type unless told", () => {
      expect(parseChainConfig(guarded("{ offline: pii }"), "qa.yaml").guardrail).toMatchObject({
        kind: "offline-pii",
        types: expect.arrayContaining(["email", "phone", "credit_card", "iban"]),
        checks: ["output"],
        windowChars: 0,
      });
      expect(
        parseChainConfig(guarded("{ offline: pii, types: [email] }"), "qa.yaml").guardrail,
      ).toMatchObject({
        types: ["email"],
      });
    });

    it.each([
      [
        "{ id: gr0abc1def2g }",
        "guardrail.version: required with id: the guardrail's version number, or DRAFT",
      ],
      [
        "{ id: My Guardrail, version: 1 }",
        'guardrail.id: expected a guardrail id (lower-case letters and digits, as the Bedrock console shows it) or its ARN, got "My Guardrail"',
      ],
      [
        "{ id: gr0abc1def2g, version: v1 }",
        'guardrail.version: expected a version number (1, 2, …) or DRAFT, got "v1"',
      ],
      [
        "{ id: gr0abc1def2g, version: 0 }",
        'guardrail.version: expected a version number (1, 2, …) or DRAFT, got "0"',
      ],
      [
        "{ version: 1 }",
        "guardrail.id: required: an Amazon Bedrock guardrail's id (with version), or offline: pii",
      ],
      ["{ offline: pii, version: 1 }", "guardrail.version: only with id (an Amazon Bedrock guardrail)"],
      [
        "{ id: gr0abc1def2g, version: 1, offline: pii }",
        "guardrail.offline: either id (an Amazon Bedrock guardrail) or offline, not both",
      ],
      [
        "{ offline: pii, checks: [input] }",
        "guardrail.checks: offline: pii masks answers only (checks: [output])",
      ],
      [
        "{ id: gr0abc1def2g, version: 1, types: [email] }",
        "guardrail.types: only with offline: pii (an Amazon Bedrock guardrail's policies are its own)",
      ],
      ["{ offline: regex }", 'guardrail.offline: expected one of "pii", got "regex"'],
      [
        "{ id: gr0abc1def2g, version: 1, checks: [questions] }",
        'guardrail.checks.0: expected one of "input", "output", got "questions"',
      ],
      [
        "{ id: gr0abc1def2g, version: 1, windowChars: -1 }",
        "guardrail.windowChars: expected a number between 0 and 10000, got -1",
      ],
      [
        "{ id: gr0abc1def2g, version: 1, window: 300 }",
        "guardrail.window: unknown field (check its spelling)",
      ],
    ])("refuses guardrail: %s, naming the field", (guardrail, problem) => {
      expect(problems(guarded(guardrail))).toEqual([`chains/qa.yaml: ${problem}`]);
    });

    it("is the chain's, not a variant's", () => {
      expect(problems(`${VALID}variants:\n  a:\n    weight: 1\n    guardrail: { offline: pii }\n`)).toEqual([
        "chains/qa.yaml: variants.a.guardrail: unknown field (check its spelling)",
      ]);
    });
  });

  describe("variants", () => {
    const withVariants = (variants: string) => `${VALID}variants:\n${variants}`;

    it("accepts partial overrides with weights", () => {
      const config = parseChainConfig(
        withVariants(
          "  strict:\n    weight: 1\n    model: { minRelevance: 0.5 }\n  wide:\n    weight: 2\n    retrieval: { k: 10 }\n",
        ),
        "qa.yaml",
      );
      expect(config.variants).toEqual({
        strict: { weight: 1, model: { minRelevance: 0.5 } },
        wide: { weight: 2, retrieval: { k: 10 } },
      });
    });

    it("rejects a bad weight, a bad override and an all-zero split", () => {
      expect(problems(withVariants("  strict:\n    weight: -1\n"))).toEqual([
        "chains/qa.yaml: variants.strict.weight: expected a weight of 0 or more, got -1",
      ]);
      expect(problems(withVariants("  wide:\n    weight: 1\n    retrieval: { k: 99 }\n"))).toEqual([
        "chains/qa.yaml: variants.wide.retrieval.k: expected a number between 1 and 50, got 99",
      ]);
      expect(problems(withVariants("  a:\n    weight: 0\n  b:\n    weight: 0\n"))).toEqual([
        "chains/qa.yaml: variants: expected at least one variant with a weight above 0",
      ]);
    });

    it("refuses a variant's options for a search mode it does not run, not those it inherits", () => {
      expect(
        problems(withVariants("  diverse:\n    weight: 1\n    retrieval: { mmr: { lambda: 0.3 } }\n")),
      ).toEqual([
        "chains/qa.yaml: variants.diverse.retrieval.mmr: only for search: mmr (this one is hybrid)",
      ]);
      const weighted = VALID.replace(
        "search: hybrid",
        "search: hybrid\n  weights: { lexical: 0.5, vector: 0.5 }",
      );
      const config = parseChainConfig(
        `${weighted}variants:\n  diverse:\n    weight: 1\n    retrieval: { search: mmr, mmr: { lambda: 0.3 } }\n`,
        "qa.yaml",
      );
      expect(config.variants?.diverse.retrieval).toEqual({ search: "mmr", mmr: { lambda: 0.3 } });
    });

    it("checks a variant that switches to bedrock has a model id", () => {
      expect(problems(withVariants("  llm:\n    weight: 1\n    model: { provider: bedrock }\n"))).toEqual([
        "chains/qa.yaml: variants.llm.model.id: required when model.provider is bedrock (set it here, or MODEL_ID for every chain)",
      ]);
    });
  });
});
