import { PiiEntityType } from "@aws-sdk/client-comprehend";
import { describe, expect, it } from "vitest";
import { COMPREHEND_MAX_BYTES, COMPREHEND_PII_TYPES } from "../../src/ingest/transform/pii/comprehend.ts";
import { codePointToUtf16, piecesOf } from "../../src/ingest/transform/pii/offsets.ts";
import { PiiMeter, type PiiRecord } from "../../src/ingest/transform/pii/pii-meter.ts";
import { type PiiRedaction, redactorFor } from "../../src/ingest/transform/pii/redact.ts";
import { INTERNAL_SERVER, loadComprehendRecording, THROTTLING } from "../emulators/comprehend.ts";
import { useComprehendEmulator } from "../helpers/comprehend.ts";
import { defaultTenant, useRecipeServices } from "../helpers/services.ts";

const comprehend = (over: Partial<Extract<PiiRedaction, { engine: "comprehend" }>> = {}): PiiRedaction => ({
  engine: "comprehend",
  types: [...COMPREHEND_PII_TYPES],
  strategy: "mask",
  language: "en",
  minScore: 0,
  ...over,
});

describe("the Comprehend engine", () => {
  const emulator = useComprehendEmulator();

  it("masks what DetectPiiEntities finds: names, the card, the date, the accounts, the address, the e-mail", async () => {
    const { request } = await loadComprehendRecording("detect-pii-entities_awscli-example.json");
    const out = await redactorFor(comprehend()).text(request.Text);
    expect(out).toBe(
      "Hello [NAME], I am [NAME]. Your AnyCompany Financial Services, LLC credit card account " +
        "[CREDIT_DEBIT_NUMBER] has a minimum payment of $24.53 that is due by [DATE_TIME]. Based on your " +
        "autopay settings, we will withdraw your payment on the due date from your bank account number " +
        "[BANK_ACCOUNT_NUMBER] with the routing number [BANK_ROUTING]. Customer feedback for Sunshine Spa, " +
        "[ADDRESS], Anywhere. Send comments to [NAME] at [EMAIL].",
    );
    expect(emulator.requests).toEqual([
      { operation: "DetectPiiEntities", body: { Text: request.Text, LanguageCode: "en" } },
    ]);
  });

  it("keeps only the types asked for, and only findings scored at least minScore", async () => {
    const text = "Zhang Wei and Alice paid with 1111-XXXX-1111-XXXX; mail AnySpa@example.com.";
    expect(await redactorFor(comprehend({ types: ["NAME", "EMAIL"] })).text(text)).toBe(
      "[NAME] and [NAME] paid with 1111-XXXX-1111-XXXX; mail [EMAIL].",
    );
    // Recorded scores: Zhang Wei 0.99983, Alice 0.99892, the card 0.99941, the e-mail 0.99942.
    expect(await redactorFor(comprehend({ minScore: 0.9995 })).text(text)).toBe(
      "[NAME] and Alice paid with 1111-XXXX-1111-XXXX; mail AnySpa@example.com.",
    );
  });

  it("places findings right after characters that take two UTF-16 units (Comprehend counts code points)", async () => {
    const text = "🙂🙂 Zhang Wei 𝄞 wrote to AnySpa@example.com 🎉";
    expect(await redactorFor(comprehend()).text(text)).toBe("🙂🙂 [NAME] 𝄞 wrote to [EMAIL] 🎉");
  });

  it("hashes equal values equally across requests", async () => {
    const redactor = redactorFor(comprehend({ strategy: "hash" }), { hashKey: "a-key-of-sixteen-chars" });
    const [a, b] = [await redactor.text("Ask John."), await redactor.text("Ask Alice, then John.")];
    const tag = /\[NAME:[0-9a-f]{8}\]/g;
    expect(a.match(tag)?.[0]).toBe(b.match(tag)?.[1]);
    expect(b.match(tag)?.[0]).not.toBe(b.match(tag)?.[1]);
  });

  it("sends a text over 100 KB in pieces under the limit, cut at paragraph breaks, and masks every piece", async () => {
    // 400 paragraphs of about 580 bytes (accented letters take two), values planted in every tenth.
    const paragraphs = Array.from({ length: 400 }, (_, i) => {
      const filler = `Paragraphe ${i}: le café est très apprécié à l'été. `.repeat(10);
      return i % 10 === 0 ? `${filler}Write to AnySpa@example.com or Zhang Wei.` : filler;
    });
    const text = paragraphs.join("\n\n");
    expect(Buffer.byteLength(text)).toBeGreaterThan(2.2 * COMPREHEND_MAX_BYTES);
    const meter = new PiiMeter();
    const records: PiiRecord[] = [];
    meter.onRecord((record) => records.push(record));

    const out = await redactorFor(comprehend(), { meter }).text(text);

    expect(emulator.requests.length).toBe(3);
    for (const { body } of emulator.requests) {
      expect(Buffer.byteLength(body.Text as string)).toBeLessThanOrEqual(COMPREHEND_MAX_BYTES);
    }
    // Every piece but the last ends at a paragraph break; together they are the text.
    expect(emulator.requests.slice(0, -1).every(({ body }) => body.Text?.endsWith("\n\n"))).toBe(true);
    expect(emulator.requests.map(({ body }) => body.Text).join("")).toBe(text);
    expect(out).not.toContain("AnySpa@example.com");
    expect(out).not.toContain("Zhang Wei");
    expect(out.match(/\[EMAIL\]/g)).toHaveLength(40);
    expect(out.match(/\[NAME\]/g)).toHaveLength(40);
    expect(out.replace(/\[EMAIL\]/g, "AnySpa@example.com").replace(/\[NAME\]/g, "Zhang Wei")).toBe(text);
    // Metered: three requests and their characters; 40 e-mails and 40 names redacted.
    const requests = records.filter((r) => r.kind === "request");
    expect(requests).toHaveLength(3);
    expect(requests.reduce((n, r) => n + (r.kind === "request" ? r.characters : 0), 0)).toBe(text.length);
    expect(records.filter((r) => r.kind === "redacted")).toEqual([
      { kind: "redacted", engine: "comprehend", type: "EMAIL", count: 40 },
      { kind: "redacted", engine: "comprehend", type: "NAME", count: 40 },
    ]);
  });

  it("retries throttling and server errors as the SDK does, and fails after its attempts", async () => {
    emulator.faults.push(THROTTLING, INTERNAL_SERVER);
    expect(await redactorFor(comprehend()).text("Ask John.")).toBe("Ask [NAME].");
    expect(emulator.requests).toHaveLength(3);

    emulator.reset();
    emulator.faults.push(...Array.from({ length: 5 }, () => INTERNAL_SERVER));
    await expect(redactorFor(comprehend()).text("Ask John.")).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining(
        "Amazon Comprehend failed (InternalServerException: An internal server error",
      ),
    });
    expect(emulator.requests).toHaveLength(5);
  });

  it("sends nothing for a blank text", async () => {
    expect(await redactorFor(comprehend()).text(" \n\n ")).toBe(" \n\n ");
    expect(emulator.requests).toHaveLength(0);
  });
});

describe("Comprehend's types", () => {
  it("are the SDK's PiiEntityType values but ALL", () => {
    expect([...COMPREHEND_PII_TYPES].sort()).toEqual(
      Object.values(PiiEntityType)
        .filter((t) => t !== "ALL")
        .sort(),
    );
  });
});

describe("piecesOf", () => {
  const bytes = (s: string) => Buffer.byteLength(s);

  it("leaves a text under the limit whole", () => {
    expect(piecesOf("one\n\ntwo", 100)).toEqual([{ start: 0, text: "one\n\ntwo" }]);
  });

  it("cuts at the last paragraph break, else line break, else white space that leaves a piece half full", () => {
    const text = `${"a".repeat(30)}\n\n${"b".repeat(30)}\n${"c".repeat(30)} ${"d".repeat(40)}${"e".repeat(60)}`;
    const pieces = piecesOf(text, 50);
    expect(pieces.map((p) => p.text)).toEqual([
      `${"a".repeat(30)}\n\n`,
      `${"b".repeat(30)}\n`,
      `${"c".repeat(30)} `,
      // No white space in the second half of the window: cut at the limit.
      `${"d".repeat(40)}${"e".repeat(10)}`,
      "e".repeat(50),
    ]);
    expect(pieces.map((p) => p.start)).toEqual([0, 32, 63, 94, 144]);
  });

  it("counts UTF-8 bytes and never cuts a character in two", () => {
    const text = "é".repeat(30) + "🙂".repeat(30); // 60 + 120 bytes, no white space
    const pieces = piecesOf(text, 50);
    expect(pieces.every((p) => bytes(p.text) <= 50)).toBe(true);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    expect(pieces.every((p) => !/[\uD800-\uDBFF]$/.test(p.text))).toBe(true);
  });
});

describe("codePointToUtf16", () => {
  it("maps code-point offsets to string offsets", () => {
    const text = "a🙂b𝄞c";
    const at = codePointToUtf16(text);
    expect([0, 1, 2, 3, 4, 5].map(at)).toEqual([0, 1, 3, 4, 6, 7]);
    expect(codePointToUtf16("plain")(3)).toBe(3);
  });
});

describe("ingesting through the Comprehend engine", () => {
  const emulator = useComprehendEmulator();
  const running = useRecipeServices("redact:\n  pii:\n    engine: comprehend\n");

  const blob = (text: string) => ({
    name: "note.txt",
    source: "note",
    data: Buffer.from(text),
    metadata: { doc_id: "note", author: "Zhang Wei" },
  });

  it("stores the redacted text and metadata, and keeps the indexed version when Comprehend fails", async () => {
    const tenant = await defaultTenant(running.services);
    const first = await tenant.pipeline.ingest([blob("Write to Zhang Wei at AnySpa@example.com.")]);
    expect(first).toMatchObject({ added: 1, failed: [] });
    const stored = await tenant.documents.get("note");
    expect(stored?.chunks.map((c) => c.text)).toEqual(["Write to [NAME] at [EMAIL]."]);
    const [hit] = await tenant.index.similaritySearch("Write to", 1);
    expect(hit.metadata).toMatchObject({ doc_id: "note", author: "[NAME]" });

    // A changed version while Comprehend keeps failing: reported, and the indexed version stays whole.
    emulator.faults.push(...Array.from({ length: 5 }, () => INTERNAL_SERVER));
    const second = await tenant.pipeline.ingest([blob("Now write to Alice at AnySpa@example.com.")]);
    expect(second.added + second.updated).toBe(0);
    expect(second.failed).toEqual([
      expect.objectContaining({
        name: "note.txt",
        status: 503,
        error: expect.stringMatching(
          /^PII redaction through Amazon Comprehend failed \(InternalServerException/,
        ),
      }),
    ]);
    expect((await tenant.documents.get("note"))?.chunks.map((c) => c.text)).toEqual([
      "Write to [NAME] at [EMAIL].",
    ]);
  });
});
