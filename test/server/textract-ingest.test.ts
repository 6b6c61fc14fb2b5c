// Textract in ingestion, end to end through the service: with TEXTRACT_ENABLED an image or a scanned PDF goes to
// the Textract emulator through the real AWS SDK (a PDF with text does not); a multi-page scan is staged in S3
// and read by an async job; without Textract an image is a 415 that says how to enable it; a Textract failure
// is the service's status, not the file's. `counsel extract` shows the Markdown Textract gave.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadRecording } from "../emulators/textract.ts";
import { useS3Emulator } from "../helpers/s3.ts";
import { FIXTURES, ROOT, useService } from "../helpers/services.ts";
import { useTextractEmulator } from "../helpers/textract.ts";

const SCANS = path.join(FIXTURES, "textract");

async function upload(url: string, file: string) {
  const form = new FormData();
  form.append("files", new Blob([await readFile(file)]), path.basename(file));
  return fetch(`${url}/ingest`, { method: "POST", body: form });
}

/** An async job that succeeds, after `polls` answers of IN_PROGRESS, with a recorded two-page analysis. */
async function multiPageJob(polls: number) {
  return {
    inProgressPolls: polls,
    outcome: {
      status: "SUCCEEDED" as const,
      recording: await loadRecording("get-document-analysis_tables-forms_textractor-multipage-doc-pdf.json"),
    },
  };
}

type Source = { source: string; page?: number; metadata: Record<string, unknown> };

describe("ingesting scans with Textract", () => {
  const textract = useTextractEmulator();
  const s3 = useS3Emulator();
  const service = useService({
    TEXTRACT_ENABLED: "true",
    TEXTRACT_S3_BUCKET: "staging",
    S3_FORCE_PATH_STYLE: "true",
  });

  beforeAll(() => s3.createBucket("staging"));
  beforeEach(async () => {
    textract.syncResponse = await loadRecording("analyze-document_layout-tables-forms_paystub.json");
  });

  const ask = async (question: string) => {
    const res = await fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, k: 3 }),
    });
    return (await res.json()) as { answer: string; sources: Source[] };
  };

  it("reads an image with AnalyzeDocument and indexes its Markdown, with Textract's confidence", async () => {
    const res = await upload(service.url, path.join(SCANS, "paystub.jpg"));
    expect(await res.json()).toMatchObject({ added: 1, failed: [] });
    const [call] = textract.calls("AnalyzeDocument");
    expect(call.body.FeatureTypes).toEqual(["LAYOUT", "TABLES", "FORMS"]);
    expect(call.bytes?.equals(await readFile(path.join(SCANS, "paystub.jpg")))).toBe(true);

    const { sources } = await ask("What is the regular rate and the gross pay?");
    const paystub = sources.find((s) => s.source === "upload:paystub.jpg");
    expect(paystub?.metadata).toMatchObject({ loader: "textract", page: 1 });
    expect(paystub?.metadata.textract_confidence).toEqual(expect.any(Number));
  });

  it("sends a scanned PDF to Textract, and a PDF with text to the local parser", async () => {
    const scanned = await upload(service.url, path.join(SCANS, "scanned-paystub.pdf"));
    expect(await scanned.json()).toMatchObject({ added: 1, failed: [] });
    expect(textract.calls("AnalyzeDocument")).toHaveLength(1);

    const text = await upload(service.url, path.join(FIXTURES, "fake-memo.pdf"));
    expect(await text.json()).toMatchObject({ added: 1, failed: [] });
    expect(textract.requests).toHaveLength(1); // still only the scan's call
  });

  it("stages a multi-page scan in S3 and reads it with an async job, following NextToken", async () => {
    textract.job = await multiPageJob(1);
    const res = await upload(service.url, path.join(SCANS, "scanned-two-pages.pdf"));
    expect(await res.json()).toMatchObject({ added: 1, failed: [] });

    const [put] = s3.recorded("PutObject");
    expect(put.key).toMatch(/^counsel\/textract\/[0-9a-f]{64}\.pdf$/);
    expect(
      s3
        .getObject("staging", put.key as string)
        ?.body.equals(await readFile(path.join(SCANS, "scanned-two-pages.pdf"))),
    ).toBe(true);
    const [start] = textract.calls("StartDocumentAnalysis");
    expect(start.body.DocumentLocation).toEqual({ S3Object: { Bucket: "staging", Name: put.key } });
    const gets = textract.calls("GetDocumentAnalysis");
    expect(gets.map((g) => g.body.NextToken === undefined)).toEqual([true, true, false]);
  });

  it("reports a Textract failure as the service's (502), not the file's", async () => {
    textract.faults.push({
      status: 400,
      type: "AccessDeniedException",
      message: "not authorized",
      operation: "AnalyzeDocument",
    });
    const res = await upload(service.url, path.join(SCANS, "single-page-1.png"));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      code: "textract_error",
      failed: [
        { name: "single-page-1.png", status: 502, error: expect.stringMatching(/AccessDeniedException/) },
      ],
    });
  });

  it("prints what Textract read with counsel extract", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, "bin/counsel.mjs"), "extract", path.join(SCANS, "paystub.jpg")],
      { env: { ...process.env, TEXTRACT_ENABLED: "true", LOG_LEVEL: "silent" }, cwd: ROOT },
    );
    expect(stdout).toMatch(/^<!-- paystub\.jpg: jpeg, read by textract; 1 document/);
    expect(stdout).toContain("| Regular | 10.00 | 32.00 | 320.00 | 16,640.00 |");
  }, 120_000); // a new Node process: seconds alone, more when the suite shares the cores
});

describe("images without Textract", () => {
  const service = useService();

  it("answers 415 for an image and 400 for a scanned PDF, each saying how to turn Textract on", async () => {
    const image = await upload(service.url, path.join(SCANS, "paystub.jpg"));
    expect(image.status).toBe(415);
    expect(await image.json()).toMatchObject({
      detail: /a JPEG image: images are read by Amazon Textract.*TEXTRACT_ENABLED/,
    });

    const scan = await upload(service.url, path.join(SCANS, "scanned-paystub.pdf"));
    expect(scan.status).toBe(400);
    expect(await scan.json()).toMatchObject({ detail: /no text.*TEXTRACT_ENABLED=true/ });
  });
});

describe("staging scans for Textract with SSE-KMS", () => {
  const textract = useTextractEmulator();
  const s3 = useS3Emulator();
  const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const service = useService({
    TEXTRACT_ENABLED: "true",
    TEXTRACT_S3_BUCKET: "staging",
    S3_FORCE_PATH_STYLE: "true",
    S3_KMS_KEY_ID: KEY,
  });
  beforeAll(() => s3.createBucket("staging"));

  it("encrypts the staged document with the configured KMS key", async () => {
    textract.job = await multiPageJob(0);
    const res = await upload(service.url, path.join(SCANS, "scanned-two-pages.pdf"));
    expect(await res.json()).toMatchObject({ added: 1, failed: [] });
    const [put] = s3.recorded("PutObject");
    expect(put.headers).toMatchObject({
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": KEY,
    });
    expect(s3.getObject("staging", put.key as string)?.encryption).toEqual({
      algorithm: "aws:kms",
      kmsKeyId: KEY,
    });
  });
});
