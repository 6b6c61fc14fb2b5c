// The guardrails a chain can name, on their own: Amazon Bedrock's ApplyGuardrail through the real AWS SDK against
// the Bedrock Runtime emulator (its documented request and response shapes, its errors), the offline PII masker,
// and the windows a streamed answer is released in, each checked before any of its text goes out.
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { describe, expect, it } from "vitest";
import { checkedWindows, type Released, windowEnd } from "../../src/chains/guardrails/checked-windows.ts";
import { OfflinePiiGuardrail } from "../../src/chains/guardrails/offline-pii.ts";
import type { Guardrail } from "../../src/contracts/guardrail.ts";
import { CounselError } from "../../src/errors.ts";
import { GuardrailMeter } from "../../src/models/guardrail-meter.ts";
import { BedrockGuardrail } from "../../src/models/guardrails/bedrock.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";

const ID = "gr0counsel01";
const BLOCKED_OUTPUT = "That answer touches a topic this assistant does not discuss.";

describe("an Amazon Bedrock guardrail through ApplyGuardrail", () => {
  const emulator = useBedrockEmulator({
    guardrails: {
      [ID]: {
        versions: ["1"],
        deniedTopics: [{ name: "Lock picking", phrases: ["pick a lock"] }],
        anonymizeEmail: true,
        blockedOutputsMessaging: BLOCKED_OUTPUT,
      },
    },
  });
  const guardrail = (options: Partial<ConstructorParameters<typeof BedrockGuardrail>[0]> = {}) =>
    new BedrockGuardrail({ id: ID, version: "1", ...options });

  it("lets a text through, sending it as the service model's request shape", async () => {
    const verdict = await guardrail().check("How many laptops were delivered?", "input");
    expect(verdict).toEqual({ action: "none" });
    expect(emulator.guardrailCalls.at(-1)).toMatchObject({
      guardrailIdentifier: ID,
      guardrailVersion: "1",
      source: "INPUT",
      text: "How many laptops were delivered?",
      outcome: "NONE",
    });
  });

  it("blocks a denied topic with the guardrail's blocked messaging for that side", async () => {
    expect(await guardrail().check("How do I pick a lock?", "input")).toEqual({
      action: "blocked",
      message: "Sorry, the model cannot answer this question.",
    });
    expect(await guardrail().check("First, pick a lock with a tension wrench.", "output")).toEqual({
      action: "blocked",
      message: BLOCKED_OUTPUT,
    });
  });

  it("masks what the sensitive-information filters anonymize, and passes the rest", async () => {
    const verdict = await guardrail().check("Send comments to Alice at AnySpa@example.com.", "output");
    expect(verdict).toEqual({ action: "masked", text: "Send comments to Alice at {EMAIL}." });
  });

  it("names a guardrail by its ARN as well as by its id", async () => {
    const arn = `arn:aws:bedrock:us-east-1:123456789012:guardrail/${ID}`;
    expect(await guardrail({ id: arn }).check("Hello there.", "input")).toEqual({ action: "none" });
    expect(emulator.guardrailCalls.at(-1)?.guardrailIdentifier).toBe(arn);
  });

  it.each([
    ["a guardrail that does not exist", { id: "gr0missing01" }, 502, /ResourceNotFoundException/],
    ["a version it does not have", { version: "7" }, 502, /ValidationException/],
  ])(
    "fails on %s with a guardrail_error naming it, never letting the text through",
    async (_, options, status, said) => {
      const error = await guardrail(options)
        .check("Hello there.", "input")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CounselError);
      expect(error).toMatchObject({ code: "guardrail_error", status, message: said });
      expect((error as Error).message).toMatch(/Amazon Bedrock guardrail gr0/);
      expect((error as Error).cause).toBeInstanceOf(Error);
    },
  );

  it("retries a throttled check (429) and answers", async () => {
    const calls = emulator.guardrailCalls.length;
    emulator.throttleGuardrailNext = 1;
    expect(await guardrail().check("Hello there.", "input")).toEqual({ action: "none" });
    expect(emulator.guardrailCalls.slice(calls).map((c) => c.outcome)).toEqual([
      "ThrottlingException",
      "NONE",
    ]);
  });

  it("reports throttling that outlasts the retries as guardrail_busy (503)", async () => {
    emulator.throttleGuardrailNext = 1;
    // One attempt, so that the SDK's retries (and their back-off) do not outlast the throttling first.
    const client = new BedrockRuntimeClient({ maxAttempts: 1 });
    const error = await guardrail({ client })
      .check("Hello there.", "input")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "guardrail_busy", status: 503, message: /ThrottlingException/ });
  });

  it("meters each check with its outcome and the text units billed per policy", async () => {
    const meter = new GuardrailMeter();
    const records: unknown[] = [];
    meter.onRecord((record) => records.push(record));
    await guardrail({ meter }).check("How do I pick a lock?", "input");
    await guardrail({ meter }).check("x".repeat(1500), "output");
    expect(records).toEqual([
      {
        guardrail: `${ID}:1`,
        source: "input",
        outcome: "blocked",
        units: { topic: 1, sensitive_information: 1 },
      },
      {
        guardrail: `${ID}:1`,
        source: "output",
        outcome: "none",
        units: { topic: 2, sensitive_information: 2 },
      },
    ]);
  });
});

describe("the offline PII guardrail", () => {
  it("masks personal data as ingestion masks it, and leaves other text alone", async () => {
    const guardrail = new OfflinePiiGuardrail({ types: ["email", "phone"] });
    expect(await guardrail.check("Send comments to Alice at AnySpa@example.com.", "output")).toEqual({
      action: "masked",
      text: "Send comments to Alice at [EMAIL].",
    });
    expect(await guardrail.check("Call +44 20 7946 0958 today.", "output")).toEqual({
      action: "masked",
      text: "Call [PHONE] today.",
    });
    expect(await guardrail.check("200 laptops were delivered.", "output")).toEqual({ action: "none" });
  });

  it("masks only the types it is given", async () => {
    const guardrail = new OfflinePiiGuardrail({ types: ["phone"] });
    expect(await guardrail.check("Mail AnySpa@example.com.", "output")).toEqual({ action: "none" });
  });
});

describe("windowEnd", () => {
  it.each([
    ["no sentence end yet", "The capital of France is Paris", 10, 0],
    ["a sentence end before a space, past the window", "The capital of France is Paris. Paris is", 10, 31],
    ["not before windowChars", "Yes. The capital of France is Paris. Paris", 10, 36],
    ["a citation kept with its sentence", "200 laptops were delivered. [1] Also", 10, 31],
    ["a line's end", "- laptops\n- water", 5, 10],
    ["a full stop that may not end the sentence", "It grew 3.5 times", 5, 0],
    ["every sentence with windowChars 0", "Yes. No.", 0, 4],
    ["never with an infinite window", "One. Two. Three.", Number.POSITIVE_INFINITY, 0],
  ])("ends %s", (_, text, windowChars, end) => {
    expect(windowEnd(text, windowChars)).toBe(end);
  });

  it("ends a window with no sentence end at a space past twice its size", () => {
    const text = `${"word ".repeat(100)}`;
    const end = windowEnd(text, 200);
    expect(end).toBeGreaterThan(200);
    expect(text[end - 1]).toBe(" ");
  });
});

/** Text pieces at a model's pace: `delayMs` apart; `produced` gets the time of each. */
async function* paced(pieces: string[], delayMs: number, produced: number[] = []) {
  for (const text of pieces) {
    await new Promise((r) => setTimeout(r, delayMs));
    produced.push(performance.now());
    yield { text };
  }
}

const SENTENCES = ["The memo lists 200 laptops.", " It also lists water.", " And blankets, too."];
const tokens = SENTENCES.flatMap((s) => s.split(/(?= )/));

async function collect<T>(released: AsyncIterable<Released<T>>) {
  const out: { value: Released<T>; at: number }[] = [];
  for await (const value of released) out.push({ value, at: performance.now() });
  return out;
}

describe("checked windows", () => {
  const emulator = useBedrockEmulator({
    guardrailDelayMs: 20,
    guardrails: { [ID]: { versions: ["1"], deniedTopics: [{ name: "Blankets", phrases: ["blankets"] }] } },
  });
  const guardrail: Guardrail = new BedrockGuardrail({ id: ID, version: "1" });

  it("checks each window once, before releasing it, while the next one gathers", async () => {
    const calls = emulator.guardrailCalls.length;
    const produced: number[] = [];
    const out = await collect(
      checkedWindows(paced(tokens.slice(0, 9), 20, produced), { guardrail, windowChars: 10 }),
    );
    const checked = emulator.guardrailCalls.slice(calls);
    expect(out.map((o) => o.value)).toEqual([
      { text: "The memo lists 200 laptops.", masked: false },
      { text: " It also lists water.", masked: false },
    ]);
    expect(checked.map((c) => c.text)).toEqual(["The memo lists 200 laptops.", " It also lists water."]);
    // Each window went out after its check answered; the first while the model was still writing the second.
    expect(out[0].at).toBeGreaterThanOrEqual(checked[0].at);
    expect(out[1].at).toBeGreaterThanOrEqual(checked[1].at);
    expect(out[0].at).toBeLessThan(produced.at(-1) as number);
  });

  it("ends with the guardrail's message at the window it blocks, releasing nothing of it", async () => {
    const out = await collect(checkedWindows(paced(tokens, 5), { guardrail, windowChars: 10 }));
    expect(out.map((o) => o.value)).toEqual([
      { text: "The memo lists 200 laptops.", masked: false },
      { text: " It also lists water.", masked: false },
      { blocked: "Sorry, the model cannot answer this question." },
    ]);
  });

  it("past three checks under way, checks the windows that closed meanwhile together", async () => {
    const calls = emulator.guardrailCalls.length;
    const fast = ["One.", " Two.", " Three.", " Four.", " Five.", " Six.", " Seven."];
    const out = await collect(checkedWindows(paced(fast, 0), { guardrail, windowChars: 0 }));
    expect(out.map((o) => ("text" in o.value ? o.value.text : "")).join("")).toBe(fast.join(""));
    // Seven sentences, each a window of its own, in fewer calls: three alone, the rest as they piled up.
    const checked = emulator.guardrailCalls.slice(calls).map((c) => c.text);
    expect(checked.length).toBeLessThan(fast.length);
    expect(checked.slice(0, 3)).toEqual(["One.", " Two.", " Three."]);
  });

  it("releases other events in their place, closing the window before them", async () => {
    async function* pieces() {
      yield* paced(["Searching the memo."], 0);
      yield { other: "tool_start" };
      yield* paced([" 200 laptops."], 0);
    }
    const out = await collect(checkedWindows(pieces(), { guardrail, windowChars: 300 }));
    expect(out.map((o) => o.value)).toEqual([
      { text: "Searching the memo.", masked: false },
      { other: "tool_start" },
      { text: " 200 laptops.", masked: false },
    ]);
  });

  it("stops reading the pieces once a window is blocked", async () => {
    let read = 0;
    const after = Array.from({ length: 20 }, (_, i) => ` Sentence ${i}.`);
    async function* counted() {
      for await (const piece of paced([...tokens, ...after], 5)) {
        read += 1;
        yield piece;
      }
    }
    const out = await collect(checkedWindows(counted(), { guardrail, windowChars: 10 }));
    expect(out.at(-1)?.value).toEqual({ blocked: "Sorry, the model cannot answer this question." });
    expect(read).toBeLessThan(tokens.length + after.length);
  });
});

describe("checked windows, when a check is slower than the model writes a window", () => {
  const CHECK_MS = 150;
  useBedrockEmulator({ guardrailDelayMs: CHECK_MS, guardrails: { [ID]: { versions: ["1"] } } });
  const guardrail = new BedrockGuardrail({ id: ID, version: "1" });

  it("checks each window as it closes, so that the checks do not add up", async () => {
    const sentences = ["First one here.", " Second one here.", " Third one here.", " Fourth one here."];
    const produced: number[] = [];
    const out = await collect(
      checkedWindows(
        paced(
          sentences.flatMap((s) => s.split(/(?= )/)),
          10,
          produced,
        ),
        {
          guardrail,
          windowChars: 0,
        },
      ),
    );
    expect(out.map((o) => o.value)).toEqual(sentences.map((text) => ({ text, masked: false })));
    // The last window is out one check after the model's last piece, not four checks after the first window.
    const lastPiece = produced.at(-1) as number;
    expect((out.at(-1)?.at as number) - lastPiece).toBeLessThan(2 * CHECK_MS);
  });
});
