// TextractLoader through the real AWS SDK against the Textract emulator (test/emulators/textract.ts): sync
// AnalyzeDocument / DetectDocumentText for images and one-page PDFs, async jobs for multi-page PDFs and S3
// documents, job failures, timeouts, aborts, and the SDK's retries of throttling and 500s.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { InvalidParameterException, TextractClient } from "@aws-sdk/client-textract";
import { describe, expect, it } from "vitest";
import { BadRequestError, UnsupportedTypeError } from "../../src/errors.ts";
import {
  TextractJobError,
  TextractLoader,
  type TextractLoaderOptions,
  TextractTimeoutError,
} from "../../src/ingest/textract/textract-loader.ts";
import {
  FIXTURES,
  INTERNAL_SERVER_ERROR,
  loadRecording,
  PROVISIONED_THROUGHPUT_EXCEEDED,
  THROTTLING,
} from "../emulators/textract.ts";
import { useTextractEmulator } from "../helpers/textract.ts";

const fixture = (name: string) => readFile(path.join(FIXTURES, name));

/** Fast polling, so that jobs settle in milliseconds. */
const POLL: TextractLoaderOptions = { pollIntervalMs: 5, maxPollIntervalMs: 20, timeoutMs: 5_000 };

describe("TextractLoader", () => {
  const textract = useTextractEmulator();
  // Built the way production builds it: the endpoint, region and credentials come from the environment.
  const client = () => new TextractClient({});

  /** A `stage` that records what it was given instead of uploading to S3. */
  function stagingSpy() {
    const staged: { bytes: Uint8Array; name: string }[] = [];
    const stage = async (bytes: Uint8Array, name: string) => {
      staged.push({ bytes, name });
      return { Bucket: "counsel-staging", Name: `textract/${name}` };
    };
    return { staged, stage };
  }

  describe("sync", () => {
    it("reads an image with AnalyzeDocument and the requested features", async () => {
      const image = await fixture("paystub.jpg");
      textract.syncResponse = await loadRecording("analyze-document_layout-tables-forms_paystub.json");
      const docs = await new TextractLoader(image, "paystub.jpg", client(), {
        features: ["LAYOUT", "TABLES", "FORMS"],
      }).load();

      expect(textract.requests.map((r) => r.operation)).toEqual(["AnalyzeDocument"]);
      const [request] = textract.requests;
      expect(request.body.FeatureTypes).toEqual(["LAYOUT", "TABLES", "FORMS"]);
      expect(request.bytes?.equals(image)).toBe(true);
      expect(request.headers["x-amz-target"]).toBe("Textract.AnalyzeDocument");
      expect(String(request.headers.authorization)).toMatch(
        /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/textract\//,
      );

      expect(docs).toHaveLength(1);
      expect(docs[0].metadata).toEqual({
        page: 1,
        textract_confidence: expect.any(Number),
        loader: "textract",
      });
      const confidence = docs[0].metadata.textract_confidence as number;
      expect(confidence).toBeGreaterThan(90);
      expect(confidence).toBeLessThan(100);
      expect(Math.round(confidence * 10) / 10).toBe(confidence);
      expect(docs[0].pageContent).toContain("| Regular | 10.00 | 32.00 | 320.00 | 16,640.00 |");
      expect(docs[0].pageContent).toContain("## Earnings Statement");
    });

    it("reads an image with DetectDocumentText when no features are asked for", async () => {
      textract.syncResponse = await loadRecording("detect-document-text_single-page-1.json");
      const docs = await new TextractLoader(await fixture("single-page-1.png"), "scan.png", client()).load();

      expect(textract.requests.map((r) => r.operation)).toEqual(["DetectDocumentText"]);
      expect(textract.requests[0].body).not.toHaveProperty("FeatureTypes");
      expect(docs.map((d) => d.metadata.page)).toEqual([1]);
      expect(docs[0].pageContent).toContain("Name of package: Textractor");
      expect(docs[0].metadata.textract_confidence).toBeGreaterThan(99);
    });

    it("reads a one-page PDF with the sync API, sending its bytes", async () => {
      const pdf = await fixture("sample-invoice.pdf");
      textract.syncResponse = await loadRecording(
        "analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json",
      );
      const docs = await new TextractLoader(pdf, "invoice.pdf", client(), {
        features: ["LAYOUT", "TABLES", "FORMS", "SIGNATURES"],
      }).load();

      expect(textract.requests.map((r) => r.operation)).toEqual(["AnalyzeDocument"]);
      expect(textract.requests[0].body.FeatureTypes).toEqual(["LAYOUT", "TABLES", "FORMS", "SIGNATURES"]);
      expect(textract.requests[0].bytes?.equals(pdf)).toBe(true);
      expect(docs[0].pageContent).toContain("# Invoice");
      expect(docs[0].pageContent).toContain("| Invoice Number | INV-3337 |");
    });

    it("refuses bytes that are not a PDF or an image, without calling Textract", async () => {
      const text = await readFile(path.join(FIXTURES, "../fake-memo.txt"));
      const load = new TextractLoader(text, "memo.txt", client()).load();
      await expect(load).rejects.toBeInstanceOf(UnsupportedTypeError);
      await expect(load).rejects.toThrow(/"memo.txt" is not a PDF, PNG, JPEG or TIFF/);
      expect(textract.requests).toEqual([]);
    });
  });

  describe("async", () => {
    it("reads a two-page PDF through a job, following NextToken to the second result page", async () => {
      const pdf = await fixture("textractor-multipage-doc.pdf");
      const { staged, stage } = stagingSpy();
      textract.job = {
        inProgressPolls: 1,
        outcome: {
          status: "SUCCEEDED",
          recording: await loadRecording(
            "get-document-analysis_tables-forms_textractor-multipage-doc-pdf.json",
          ),
        },
      };
      const docs = await new TextractLoader(pdf, "multipage.pdf", client(), {
        ...POLL,
        features: ["TABLES", "FORMS"],
        stage,
      }).load();

      expect(staged).toHaveLength(1);
      expect(staged[0].name).toBe("multipage.pdf");
      expect(Buffer.from(staged[0].bytes).equals(pdf)).toBe(true);
      const [start] = textract.calls("StartDocumentAnalysis");
      expect(start.body).toEqual({
        DocumentLocation: { S3Object: { Bucket: "counsel-staging", Name: "textract/multipage.pdf" } },
        FeatureTypes: ["TABLES", "FORMS"],
      });
      expect(textract.calls("AnalyzeDocument")).toEqual([]);

      // One IN_PROGRESS poll, the first result page, then the second one by its NextToken.
      const gets = textract.calls("GetDocumentAnalysis").map((r) => r.body);
      expect(gets).toHaveLength(3);
      const jobId = gets[0].JobId;
      expect(gets.map((g) => g.JobId)).toEqual([jobId, jobId, jobId]);
      expect(gets[0].NextToken).toBeUndefined();
      expect(gets[1].NextToken).toBeUndefined();
      expect(gets[2].NextToken).toEqual(expect.any(String));

      expect(docs.map((d) => d.metadata.page)).toEqual([1, 2]);
      expect(docs[0].pageContent).toContain("Page (1)");
      expect(docs[0].pageContent).toContain("| Cell 1 | Cell 2 | Cell 3 | Cell 4 | Cell 5 |");
      expect(docs[0].pageContent).toContain("Selected Checkbox: [x]");
      expect(docs[1].pageContent).toContain("Page (2)");
      expect(docs[1].pageContent).toContain("Table 2");
      for (const doc of docs) expect(doc.metadata.loader).toBe("textract");
    });

    it("detects text with a text-detection job when no features are asked for", async () => {
      const { stage } = stagingSpy();
      textract.job = {
        outcome: {
          status: "SUCCEEDED",
          recording: await loadRecording("get-document-text-detection_textractor-multipage-doc-pdf.json"),
        },
      };
      const docs = await new TextractLoader(
        await fixture("textractor-multipage-doc.pdf"),
        "m.pdf",
        client(),
        {
          ...POLL,
          stage,
        },
      ).load();

      expect(textract.requests.map((r) => r.operation)).toEqual([
        "StartDocumentTextDetection",
        "GetDocumentTextDetection",
        "GetDocumentTextDetection",
      ]);
      expect(textract.requests[0].body).not.toHaveProperty("FeatureTypes");
      expect(docs.map((d) => d.pageContent.includes(`Page (${d.metadata.page})`))).toEqual([true, true]);
    });

    it("reads a document already in S3 where it is", async () => {
      textract.job = {
        outcome: {
          status: "SUCCEEDED",
          recording: await loadRecording("get-document-text-detection_textractor-multipage-doc-pdf.json"),
        },
      };
      const source = { bucket: "archive", key: "scans/2022/doc.pdf", version: "v3" };
      const docs = await new TextractLoader(source, "doc.pdf", client(), POLL).load();

      expect(textract.calls("StartDocumentTextDetection")[0].body).toEqual({
        DocumentLocation: { S3Object: { Bucket: "archive", Name: "scans/2022/doc.pdf", Version: "v3" } },
      });
      expect(docs).toHaveLength(2);
    });

    it("refuses a multi-page PDF when no S3 staging is configured", async () => {
      const load = new TextractLoader(
        await fixture("textractor-multipage-doc.pdf"),
        "m.pdf",
        client(),
      ).load();
      await expect(load).rejects.toBeInstanceOf(BadRequestError);
      await expect(load).rejects.toThrow(
        /"m.pdf" has 2 pages; Textract reads multi-page documents only from S3/,
      );
      expect(textract.requests).toEqual([]);
    });

    it("rejects a FAILED job with Textract's StatusMessage", async () => {
      const { stage } = stagingSpy();
      textract.job = {
        inProgressPolls: 2,
        outcome: { status: "FAILED", recording: await loadRecording("get-document-analysis_failed.json") },
      };
      const error = await new TextractLoader(
        await fixture("textractor-multipage-doc.pdf"),
        "m.pdf",
        client(),
        {
          ...POLL,
          features: ["TABLES"],
          stage,
        },
      )
        .load()
        .catch((e: unknown) => e);

      const jobId = textract.calls("GetDocumentAnalysis")[0].body.JobId;
      expect(error).toBeInstanceOf(TextractJobError);
      expect(error).toMatchObject({ code: "textract_failed", jobId, jobStatus: "FAILED" });
      expect((error as Error).message).toBe(`Textract job ${jobId} for "m.pdf" failed: Dummy Status Message`);
      expect(textract.calls("GetDocumentAnalysis")).toHaveLength(3);
    });

    it("rejects a PARTIAL_SUCCESS job naming the pages that failed", async () => {
      const { stage } = stagingSpy();
      textract.job = {
        outcome: {
          status: "PARTIAL_SUCCESS",
          recording: await loadRecording(
            "get-document-analysis_tables-forms_textractor-multipage-doc-pdf.json",
          ),
          statusMessage: "emulated: one page could not be read",
          warnings: [{ ErrorCode: "UNSUPPORTED_DOCUMENT_EXCEPTION", Pages: [2] }],
        },
      };
      const load = new TextractLoader(await fixture("textractor-multipage-doc.pdf"), "m.pdf", client(), {
        ...POLL,
        features: ["TABLES"],
        stage,
      }).load();

      await expect(load).rejects.toBeInstanceOf(TextractJobError);
      await expect(load).rejects.toThrow(
        /read "m.pdf" only in part \(pages 2 failed\): emulated: one page could not be read/,
      );
    });

    it("times out a job that never finishes, naming the JobId, after polls spaced ever wider", async () => {
      const { stage } = stagingSpy();
      textract.job = { outcome: { status: "never" } };
      const started = Date.now();
      const error = await new TextractLoader(
        await fixture("textractor-multipage-doc.pdf"),
        "m.pdf",
        client(),
        {
          pollIntervalMs: 5,
          maxPollIntervalMs: 40,
          timeoutMs: 500,
          stage,
        },
      )
        .load()
        .catch((e: unknown) => e);

      const polls = textract.calls("GetDocumentTextDetection");
      const jobId = polls[0].body.JobId as string;
      expect(error).toBeInstanceOf(TextractTimeoutError);
      expect((error as Error).message).toBe(
        `Textract job ${jobId} for "m.pdf" did not finish within 500 ms.`,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      // Waits of 10, 20, 40, 40, ... ms between polls: doubling from pollIntervalMs, capped at maxPollIntervalMs.
      const gaps = polls.slice(1).map((p, i) => p.at - polls[i].at);
      expect(gaps.length).toBeGreaterThanOrEqual(5);
      // The last wait is cut short by the deadline.
      for (const [i, gap] of gaps.slice(0, -1).entries())
        expect(gap).toBeGreaterThanOrEqual(Math.min(5 * 2 ** (i + 1), 40) - 1);
      expect(Math.max(...gaps)).toBeLessThan(120);
    });

    it("stops polling as soon as the signal aborts", async () => {
      const { stage } = stagingSpy();
      textract.job = { outcome: { status: "never" } };
      const controller = new AbortController();
      const reason = new Error("the user gave up");
      let abortedAt = 0;
      setTimeout(() => {
        abortedAt = Date.now();
        controller.abort(reason);
      }, 60);
      const load = new TextractLoader(await fixture("textractor-multipage-doc.pdf"), "m.pdf", client(), {
        pollIntervalMs: 10,
        maxPollIntervalMs: 20,
        timeoutMs: 10_000,
        signal: controller.signal,
        stage,
      }).load();

      await expect(load).rejects.toBe(reason);
      expect(Date.now() - abortedAt).toBeLessThan(500);
      expect(textract.calls("GetDocumentTextDetection").length).toBeGreaterThan(0);
      // Polling every 20 ms would send several more polls in this time; a request already under way at the
      // abort may still land just after it.
      await new Promise((r) => setTimeout(r, 200));
      const late = textract.calls("GetDocumentTextDetection").filter((r) => r.at > abortedAt + 50);
      expect(late).toEqual([]);
    });
  });

  describe("service errors", () => {
    it("lets the SDK retry a ThrottlingException, then succeeds", async () => {
      textract.syncResponse = await loadRecording("detect-document-text_single-page-1.json");
      textract.faults.push(THROTTLING);
      const docs = await new TextractLoader(await fixture("single-page-1.png"), "s.png", client()).load();
      expect(textract.calls("DetectDocumentText")).toHaveLength(2);
      expect(docs[0].pageContent).toContain("Textractor Test");
    });

    it("lets the SDK retry a ProvisionedThroughputExceededException while polling a job", async () => {
      const { stage } = stagingSpy();
      textract.job = {
        outcome: {
          status: "SUCCEEDED",
          recording: await loadRecording("get-document-text-detection_textractor-multipage-doc-pdf.json"),
        },
      };
      textract.faults.push({ ...PROVISIONED_THROUGHPUT_EXCEEDED, operation: "GetDocumentTextDetection" });
      const docs = await new TextractLoader(
        await fixture("textractor-multipage-doc.pdf"),
        "m.pdf",
        client(),
        {
          ...POLL,
          stage,
        },
      ).load();
      // The throttled poll, its retry, then the second result page.
      expect(textract.calls("GetDocumentTextDetection")).toHaveLength(3);
      expect(docs).toHaveLength(2);
    });

    it("lets the SDK retry a 500", async () => {
      textract.syncResponse = await loadRecording("analyze-document_layout-tables-forms_paystub.json");
      textract.faults.push(INTERNAL_SERVER_ERROR);
      const docs = await new TextractLoader(await fixture("paystub.jpg"), "p.jpg", client(), {
        features: ["TABLES"],
      }).load();
      expect(textract.calls("AnalyzeDocument")).toHaveLength(2);
      expect(docs).toHaveLength(1);
    });

    it("passes a client error on as the SDK's typed exception, without retrying", async () => {
      textract.syncResponse = await loadRecording("analyze-document_layout-tables-forms_paystub.json");
      textract.faults.push({
        status: 400,
        type: "InvalidParameterException",
        message: "Request has invalid parameters",
      });
      const load = new TextractLoader(await fixture("paystub.jpg"), "p.jpg", client(), {
        features: ["FORMS"],
      }).load();
      await expect(load).rejects.toBeInstanceOf(InvalidParameterException);
      await expect(load).rejects.toThrow("Request has invalid parameters");
      expect(textract.calls("AnalyzeDocument")).toHaveLength(1);
    });

    it("aborts a slow sync request when the signal fires", async () => {
      textract.syncResponse = await loadRecording("detect-document-text_single-page-1.json");
      textract.delayMs = 1_000;
      const controller = new AbortController();
      const reason = new Error("client went away");
      setTimeout(() => controller.abort(reason), 50);
      const started = Date.now();
      const load = new TextractLoader(await fixture("single-page-1.png"), "s.png", client(), {
        signal: controller.signal,
      }).load();
      await expect(load).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(800);
    });
  });
});
