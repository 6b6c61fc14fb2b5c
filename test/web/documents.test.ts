// The console's Documents view in a real browser (Debian's Chromium, driven by playwright-core) against the real
// service with API keys on: two files uploaded at once through the file input, each listed with its chunk count;
// a document's chunks opened; a refused file shows the service's reason while the other goes in, and is listed as
// failed; a loopback web address is refused in words; a document deleted after a confirmation is gone from the
// page and the API. Then, on a service that makes a job of any upload past 1 KiB: a job followed from queued to
// its report, a queued one cancelled, and failed documents listed with their reasons and filtered by status.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, newPage, sayIfSkipped, shot, text } from "../helpers/browser.ts";
import { writeKeys } from "../helpers/keys.ts";
import { FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

sayIfSkipped("test/web/documents.test.ts");

interface Listed {
  documents: {
    source: string;
    name?: string;
    chunks: number;
    status: string;
    error?: { step: string; message: string };
  }[];
}

/**
 * The real service with API keys on (and `env`), and Chromium on its Documents view with the key given at the
 * prompt, for the tests of a describe block: opened before them, closed and removed after.
 */
function useDocumentsView(env: Record<string, string> = {}) {
  const view = {} as {
    data: Awaited<ReturnType<typeof tempDataDir>>;
    service: Awaited<ReturnType<typeof startService>>;
    browser: Browser;
    page: Page;
    key: string;
    cspViolations: string[];
  };
  beforeAll(async () => {
    view.data = await tempDataDir();
    const written = await writeKeys(view.data.dir, {
      editor: { tenant: "acme", scopes: ["query", "ingest"] },
    });
    view.key = written.keys.editor;
    view.service = await startService(path.join(view.data.dir, "state"), {
      API_KEYS_FILE: written.file,
      ...env,
    });
    view.browser = await launchChromium();
    const { page, violations } = await newPage(view.browser);
    view.page = page;
    view.cspViolations = violations;

    // The view lists the documents at once: the service says 401, and the key prompt takes the key.
    await page.goto(`${view.service.url}/#/documents`);
    await page.getByLabel("API key", { exact: true }).fill(view.key);
    await page.getByRole("button", { name: "Use this key" }).click();
    await page.getByText(/^No documents yet: add files/).waitFor({ timeout: 10_000 });
  });
  afterAll(async () => {
    await view.browser?.close();
    await view.service?.stop();
    await view.data?.remove();
  });

  /** A call to the API with the view's key, read apart from the page. */
  const get = async <T>(route: string): Promise<T> => {
    const res = await fetch(`${view.service.url}${route}`, {
      headers: { authorization: `Bearer ${view.key}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  return {
    view,
    get,
    /** What the API lists with a status (indexed unless another is given). */
    listed: async (status = "indexed") => (await get<Listed>(`/documents?status=${status}`)).documents,
    uploadRow: (name: string) => view.page.locator("li.upload", { hasText: name }),
    uploadStatus: (name: string) =>
      text(view.page.locator("li.upload", { hasText: name }).locator(".upload-status")),
    documentRow: (name: string): Locator =>
      view.page
        .getByRole("list", { name: "Documents" })
        .getByRole("listitem")
        .filter({ has: view.page.getByRole("heading", { name, exact: true }) }),
    listedNames: async () =>
      view.page.getByRole("list", { name: "Documents" }).getByRole("heading").allTextContents(),
    fileInput: () => view.page.getByLabel("Drop files here, or choose them"),
  };
}

describe.skipIf(!CHROMIUM)("the Documents view in a browser", () => {
  const { view, listed, uploadStatus, documentRow, listedNames, fileInput } = useDocumentsView();
  let page: Page;
  let cspViolations: string[];
  beforeAll(() => {
    ({ page, cspViolations } = view);
  });

  it("uploads two files at once through the file input, each with its own result, and lists them with their chunks", async () => {
    await fileInput().setInputFiles([
      path.join(FIXTURES, "fake-memo.pdf"),
      path.join(FIXTURES, "bitcoin.pdf"),
    ]);
    for (const name of ["fake-memo.pdf", "bitcoin.pdf"]) {
      await expect
        .poll(() => uploadStatus(name), { timeout: 20_000 })
        .toMatch(/^1 added; \d+ chunks? indexed\.$/);
      expect(await page.locator("li.upload", { hasText: name }).getByRole("progressbar").count()).toBe(1);
    }
    const api = await listed();
    expect(api.map((d) => d.source)).toEqual(["upload:bitcoin.pdf", "upload:fake-memo.pdf"]);
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "fake-memo.pdf"]);
    for (const doc of api) {
      const facts = await text(documentRow(doc.name as string).locator(".document-facts"));
      expect(facts).toContain(`PDF · ${doc.chunks} chunk${doc.chunks === 1 ? "" : "s"}`);
    }
    expect(await text(documentRow("bitcoin.pdf").locator(".document-facts"))).toMatch(
      /9 pages · \d+ KB · updated /,
    );
    expect(cspViolations).toEqual([]);
  });

  it("opens a document's chunks in order, with their pages and text", async () => {
    const row = documentRow("bitcoin.pdf");
    await row.getByRole("button", { name: "Show chunks of bitcoin.pdf" }).click();
    const chunks = row.getByRole("list", { name: "Chunks of bitcoin.pdf" });
    await expect.poll(() => text(chunks.locator(".chunk-head").first())).toBe("Chunk 1, page 1");
    expect(await text(chunks.locator(".chunk-text").first())).toContain("Bitcoin");
    const { chunks: count } = (await listed()).find((d) => d.name === "bitcoin.pdf") as { chunks: number };
    expect(await chunks.getByRole("listitem").count()).toBe(count);
    await row.getByRole("button", { name: "Hide chunks of bitcoin.pdf" }).click();
    expect(await row.getByRole("list", { name: "Chunks of bitcoin.pdf" }).count()).toBe(0);
  });

  it("shows the service's reason for a refused file while the other file of the same choice goes in", async () => {
    await fileInput().setInputFiles([
      { name: "empty.txt", mimeType: "text/plain", buffer: Buffer.alloc(0) },
      {
        name: "handbook-1p.docx",
        mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        buffer: await readFile(path.join(FIXTURES, "handbook-1p.docx")),
      },
    ]);
    await expect
      .poll(() => uploadStatus("empty.txt"), { timeout: 20_000 })
      .toBe('Refused: "empty.txt" is empty.');
    expect(await page.locator("li.upload", { hasText: "empty.txt" }).getByRole("progressbar").count()).toBe(
      0,
    );
    await expect.poll(() => uploadStatus("handbook-1p.docx"), { timeout: 20_000 }).toMatch(/^1 added/);
    expect((await listed()).map((d) => d.name)).not.toContain("empty.txt");
    // The API keeps the refusal as the document's status, and the list shows it beside the indexed ones.
    const failed = await listed("failed");
    expect(failed.map((d) => d.name)).toEqual(["empty.txt"]);
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "empty.txt", "fake-memo.pdf", "handbook-1p.docx"]);
    const row = documentRow("empty.txt");
    expect(await text(row.locator(".badge"))).toBe("failed");
    expect(await text(row.locator(".document-status"))).toMatch(
      new RegExp(`^Failed while ${failed[0].error?.step}: "empty\\.txt" is empty\\. · since `),
    );
    expect(await text(row.locator(".document-facts"))).toMatch(/^0 chunks · updated /);
    // Indexed documents carry no badge.
    expect(await documentRow("handbook-1p.docx").locator(".badge").count()).toBe(0);
  });

  it("takes files dropped on the drop zone", async () => {
    // A drop as the browser delivers it: a DataTransfer holding a file, built in the page (a string: the
    // test's own types, Node's, have no DOM).
    const dropped = await page.evaluateHandle(
      `(() => { const transfer = new DataTransfer(); transfer.items.add(new File([${JSON.stringify(
        "The cafeteria opens at 9am and closes at 3pm on Fridays.",
      )}], "hours.txt", { type: "text/plain" })); return transfer; })()`,
    );
    const zone = page.locator(".drop-zone");
    await zone.dispatchEvent("dragover", { dataTransfer: dropped });
    expect(await zone.getAttribute("class")).toContain("dragging");
    await zone.dispatchEvent("drop", { dataTransfer: dropped });
    await expect.poll(() => uploadStatus("hours.txt"), { timeout: 20_000 }).toBe("1 added; 1 chunk indexed.");
    expect(await zone.getAttribute("class")).not.toContain("dragging");
    await expect.poll(listedNames).toContain("hours.txt");
    await documentRow("hours.txt").getByRole("button", { name: "Delete hours.txt" }).click();
    await documentRow("hours.txt").getByRole("button", { name: "Yes, delete" }).click();
    await expect.poll(listedNames).not.toContain("hours.txt");
  });

  it("narrows the list to the sources that start with a prefix", async () => {
    await page.getByLabel("Source starts with").fill("upload:b");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await expect.poll(listedNames).toEqual(["bitcoin.pdf"]);
    await page.getByRole("button", { name: "Show all" }).click();
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "empty.txt", "fake-memo.pdf", "handbook-1p.docx"]);
  });

  it("refuses a loopback web address with the service's reason", async () => {
    await page.getByLabel("Web addresses, one per line").fill("http://127.0.0.1/handbook.html");
    await page.getByRole("button", { name: "Ingest web pages" }).click();
    const form = page.locator("form", { has: page.getByLabel("Web addresses, one per line") });
    await expect
      .poll(() => text(form.getByRole("alert")), { timeout: 10_000 })
      .toMatch(/127\.0\.0\.1.*loopback address.*nothing could be ingested/);
    await shot(page, "documents");
    expect(cspViolations).toEqual([]);
  });

  it("deletes a document only after a confirmation, and it is gone from the page and the API", async () => {
    const row = documentRow("fake-memo.pdf");
    await row.getByRole("button", { name: "Delete fake-memo.pdf" }).click();
    const confirm = row.getByRole("alertdialog");
    expect(await text(confirm.locator("p").first())).toMatch(/^Delete fake-memo\.pdf\? Its chunk leaves/);
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect(await row.getByRole("alertdialog").count()).toBe(0);
    expect((await listed()).map((d) => d.name)).toContain("fake-memo.pdf");

    await row.getByRole("button", { name: "Delete fake-memo.pdf" }).click();
    await row.getByRole("alertdialog").getByRole("button", { name: "Yes, delete" }).click();
    await expect.poll(() => text(page.locator(".list-status"))).toBe("Deleted fake-memo.pdf.");
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "empty.txt", "handbook-1p.docx"]);
    expect((await listed()).map((d) => d.source)).toEqual(["upload:bitcoin.pdf", "upload:handbook-1p.docx"]);
    expect(cspViolations).toEqual([]);
  });

  it("fits a phone's width with documents and uploads on the page", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    expect(cspViolations).toEqual([]);
  });
});

interface Job {
  id: string;
  state: string;
  progress: { documents: { total?: number; done: number; failed: number } };
}

// INGEST_ASYNC_BYTES=1024: every fixture PDF is answered with a job (202), while a file of 400 bytes is still
// ingested at once. The service runs no jobs until a test starts its worker, so that a job's queued state is
// seen for as long as a test needs (as with INGEST_WORKERS=0 and no `counsel worker` yet).
describe.skipIf(!CHROMIUM)("ingestion jobs and document statuses in the Documents view", () => {
  const { view, get, listed, uploadRow, uploadStatus, documentRow, listedNames, fileInput } =
    useDocumentsView({ INGEST_ASYNC_BYTES: "1024" });
  const jobOf = async (name: string) => {
    const status = await uploadStatus(name);
    const id = /job (j\d+)/.exec(status)?.[1];
    expect(id, status).toBeDefined();
    return id as string;
  };

  it("follows a queued upload's job and cancels it, and the document it had queued leaves the list", async () => {
    const { page } = view;
    await fileInput().setInputFiles(path.join(FIXTURES, "bitcoin.pdf"));
    await expect
      .poll(() => uploadStatus("bitcoin.pdf"), { timeout: 20_000 })
      .toMatch(/^Queued as job j\d+; waiting for a worker…$/);
    const id = await jobOf("bitcoin.pdf");
    // A bar of its one document, none done yet: the service counts a job's documents when it accepts it.
    const bar = uploadRow("bitcoin.pdf").getByRole("progressbar", { name: "Upload of bitcoin.pdf" });
    expect([await bar.getAttribute("max"), await bar.getAttribute("value")]).toEqual(["1", "0"]);

    // The list shows the queued document at once, without chunks, and opening its chunks shows none.
    await expect.poll(listedNames).toEqual(["bitcoin.pdf"]);
    const row = documentRow("bitcoin.pdf");
    expect(await text(row.locator(".badge"))).toBe("queued");
    expect(await text(row.locator(".document-status"))).toMatch(
      new RegExp(`^Queued \\(job ${id}\\) · since `),
    );
    expect(await text(row.locator(".document-facts"))).toMatch(/^0 chunks · updated /);
    await row.getByRole("button", { name: "Show chunks of bitcoin.pdf" }).click();
    await expect
      .poll(() => text(row.locator(".chunks")))
      .toBe("No chunks: nothing of this document is in the knowledge base.");

    await uploadRow("bitcoin.pdf").getByRole("button", { name: "Cancel: Upload of bitcoin.pdf" }).click();
    await expect
      .poll(() => uploadStatus("bitcoin.pdf"), { timeout: 10_000 })
      .toBe("Cancelled before it ran.");
    expect(await uploadRow("bitcoin.pdf").getByRole("button").count()).toBe(0);
    expect((await get<Job>(`/ingest/jobs/${id}`)).state).toBe("cancelled");
    // Never indexed, no longer queued: gone from the catalog, and from the list once the job has ended.
    expect(await listed("queued")).toEqual([]);
    await expect.poll(() => page.getByText(/^No documents yet: add files/).count()).toBe(1);
    expect(view.cspViolations).toEqual([]);
  });

  it("shows a large upload's job queued, then its report once a worker has run it, and lists it as indexed", async () => {
    // Every state the row renders, as [status line, bar's max, bar's value], recorded in the page as it changes:
    // a job's states come and go faster than a poll from here could see them.
    await view.page.evaluate(`(() => {
      window.rowStates = [];
      const record = () => {
        const row = [...document.querySelectorAll("li.upload")].find((li) => li.textContent.includes("fake-memo.pdf"));
        if (!row) return;
        const bar = row.querySelector("progress");
        const state = [row.querySelector(".upload-status")?.textContent ?? "", bar?.getAttribute("max") ?? null, bar?.getAttribute("value") ?? null];
        const last = window.rowStates.at(-1);
        if (!last || last.join("|") !== state.join("|")) window.rowStates.push(state);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    })()`);
    await fileInput().setInputFiles(path.join(FIXTURES, "fake-memo.pdf"));
    await expect
      .poll(() => uploadStatus("fake-memo.pdf"), { timeout: 20_000 })
      .toMatch(/^Queued as job j\d+; waiting for a worker…$/);
    const id = await jobOf("fake-memo.pdf");
    await expect.poll(listedNames).toEqual(["fake-memo.pdf"]);
    expect(await text(documentRow("fake-memo.pdf").locator(".badge"))).toBe("queued");

    // The page follows the job over its event stream: starting a worker is all it takes for the report to come.
    await view.service.services.jobs.startWorker(1);
    await expect
      .poll(() => uploadStatus("fake-memo.pdf"), { timeout: 20_000 })
      .toBe("1 added; 1 chunk indexed.");
    const bar = uploadRow("fake-memo.pdf").getByRole("progressbar", { name: "Upload of fake-memo.pdf" });
    expect([await bar.getAttribute("max"), await bar.getAttribute("value")]).toEqual(["1", "1"]);
    expect(await uploadRow("fake-memo.pdf").getByRole("button").count()).toBe(0);
    const job = await get<Job>(`/ingest/jobs/${id}`);
    expect(job.state).toBe("completed");
    expect(job.progress.documents).toEqual({ total: 1, done: 1, failed: 0 });

    // Sent, then queued (a bar of its one document, none done), then, if the page painted the job running, the
    // bar with the words to match, and the report last.
    const states = await view.page.evaluate<[string, string | null, string | null][]>("window.rowStates");
    const queued = states.findIndex(([status]) => status.startsWith(`Queued as job ${id};`));
    expect(states[queued]?.slice(1)).toEqual(["1", "0"]);
    expect(states.at(-1)).toEqual(["1 added; 1 chunk indexed.", "1", "1"]);
    for (const [status, max, value] of states.slice(queued + 1, -1)) {
      expect(status).toMatch(/^Indexing 1 document: (0|100)% done$/);
      expect([max, value]).toEqual(["1", status.includes("100%") ? "1" : "0"]);
    }
    expect(
      states.slice(0, queued).every(([status]) => /^(Waiting to be sent|Sending|Sent)/.test(status)),
    ).toBe(true);

    // The list read again when the job ended: indexed, so no badge and no status line, and its chunk.
    const row = documentRow("fake-memo.pdf");
    await expect.poll(() => row.locator(".badge").count()).toBe(0);
    expect(await row.locator(".document-status").count()).toBe(0);
    expect(await text(row.locator(".document-facts"))).toMatch(/^PDF · 1 chunk · /);
    expect((await listed()).map((d) => d.name)).toEqual(["fake-memo.pdf"]);
  });

  it("lists documents that failed, in a job or at once, with the step and the reason, and filters by status", async () => {
    const { page } = view;
    const pdf = await readFile(path.join(FIXTURES, "bitcoin.pdf"));
    await fileInput().setInputFiles([
      // Cut short: past 1 KiB, a job; 400 bytes, ingested at once. Neither can be read as a PDF.
      { name: "cut-short.pdf", mimeType: "application/pdf", buffer: pdf.subarray(0, 4_000) },
      { name: "cut-400.pdf", mimeType: "application/pdf", buffer: pdf.subarray(0, 400) },
    ]);
    await expect.poll(() => uploadStatus("cut-short.pdf"), { timeout: 20_000 }).toBe("1 failed.");
    await expect.poll(() => uploadStatus("cut-400.pdf"), { timeout: 20_000 }).toMatch(/^Refused: /);
    const failed = await listed("failed");
    expect(failed.map((d) => d.name)).toEqual(["cut-400.pdf", "cut-short.pdf"]);

    // The job's row names the failed document with the reason its status keeps.
    const cut = failed.find((d) => d.name === "cut-short.pdf");
    expect(cut?.error?.message).toMatch(/cut-short\.pdf/);
    expect(await text(uploadRow("cut-short.pdf").locator(".failures"))).toBe(
      `cut-short.pdf: ${cut?.error?.message}`,
    );
    expect(await uploadRow("cut-short.pdf").getByRole("alert").count()).toBe(1);

    await expect.poll(listedNames).toEqual(["cut-400.pdf", "cut-short.pdf", "fake-memo.pdf"]);
    for (const doc of failed) {
      const row = documentRow(doc.name as string);
      expect(await text(row.locator(".badge"))).toBe("failed");
      expect(await text(row.locator(".document-status"))).toContain(
        `Failed while ${doc.error?.step}: ${doc.error?.message} · since `,
      );
    }

    const status = page.getByLabel("Status", { exact: true });
    await status.selectOption("failed");
    await expect.poll(listedNames).toEqual(["cut-400.pdf", "cut-short.pdf"]);
    await status.selectOption("indexed");
    await expect.poll(listedNames).toEqual(["fake-memo.pdf"]);
    await status.selectOption("queued");
    await expect
      .poll(() => text(page.locator(".document-list .hint")))
      .toBe("No documents with the status “Queued”.");
    await page.getByRole("button", { name: "Show all" }).click();
    await expect.poll(listedNames).toEqual(["cut-400.pdf", "cut-short.pdf", "fake-memo.pdf"]);
    expect(await status.inputValue()).toBe("");
    expect(view.cspViolations).toEqual([]);
  });
});
