// The console's Documents view in a real browser (Debian's Chromium, driven by playwright-core) against the real
// service with API keys on: two files uploaded at once through the file input, each listed with its chunk count;
// a document's chunks opened; a refused file shows the service's reason while the other goes in; a loopback web
// address is refused in words; a document deleted after a confirmation is gone from the page and the API.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, newPage, sayIfSkipped, shot, text } from "../helpers/browser.ts";
import { writeKeys } from "../helpers/keys.ts";
import { FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

sayIfSkipped("test/web/documents.test.ts");

interface Listed {
  documents: { source: string; name?: string; chunks: number }[];
}

describe.skipIf(!CHROMIUM)("the Documents view in a browser", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;
  let page: Page;
  let key: string;
  let cspViolations: string[];

  /** What the API lists as indexed (what the view shows), read apart from the page. */
  const listed = async (status = "indexed") => {
    const res = await fetch(`${service.url}/documents?status=${status}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as Listed).documents;
  };
  const uploadStatus = (name: string) =>
    text(page.locator("li.upload", { hasText: name }).locator(".upload-status"));
  const documentRow = (name: string): Locator =>
    page
      .getByRole("list", { name: "Documents" })
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name, exact: true }) });
  const listedNames = async () =>
    page.getByRole("list", { name: "Documents" }).getByRole("heading").allTextContents();
  const fileInput = () => page.getByLabel("Drop files here, or choose them");

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, { editor: { tenant: "acme", scopes: ["query", "ingest"] } });
    key = written.keys.editor;
    service = await startService(path.join(data.dir, "state"), { API_KEYS_FILE: written.file });
    browser = await launchChromium();
    ({ page, violations: cspViolations } = await newPage(browser));

    // The view lists the documents at once: the service says 401, and the key prompt takes the key.
    await page.goto(`${service.url}/#/documents`);
    await page.getByLabel("API key", { exact: true }).fill(key);
    await page.getByRole("button", { name: "Use this key" }).click();
    await page.getByText(/^No documents yet: add files/).waitFor({ timeout: 10_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await data?.remove();
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
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "fake-memo.pdf", "handbook-1p.docx"]);
    expect((await listed()).map((d) => d.name)).not.toContain("empty.txt");
    // The API keeps the refusal as the document's status.
    expect((await listed("failed")).map((d) => d.name)).toEqual(["empty.txt"]);
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
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "fake-memo.pdf", "handbook-1p.docx"]);
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
    await expect.poll(listedNames).toEqual(["bitcoin.pdf", "handbook-1p.docx"]);
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
