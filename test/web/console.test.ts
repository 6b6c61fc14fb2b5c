// The console in a real browser (Debian's Chromium, driven by playwright-core) against the real service with
// API keys on: a wrong key is refused with the service's own words, the right one is taken, and a question in
// Ask comes back with citations linked to the uploaded memo. Screenshots of each view go to docs/images/ with
// UPDATE_SCREENSHOTS=1.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb } from "../../scripts/build-web.ts";
import { writeKeys } from "../helpers/keys.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (candidate): candidate is string => Boolean(candidate && existsSync(candidate)),
);
if (!CHROMIUM) {
  console.log("test/web/console.test.ts skipped: no Chromium at /usr/bin/chromium (or CHROMIUM_PATH)");
}

// The README's and docs' screenshots are refreshed on request (UPDATE_SCREENSHOTS=1 npx vitest run test/web), so
// that a test run leaves the working tree as it found it; otherwise they go to a temporary folder.
const IMAGES = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, "docs/images")
  : path.join(tmpdir(), "counsel-console-screenshots");
/** A locator's text once it is there (playwright-core has no web-first assertions: expect.poll retries). */
const text = async (locator: Locator) => ((await locator.textContent({ timeout: 2_000 })) ?? "").trim();
const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(IMAGES, `console-${name}.png`), fullPage: true });

describe.skipIf(!CHROMIUM)("the console in a browser", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;
  let page: Page;
  let key: string;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    // Only when web/ changed since the last build (a fresh checkout builds once, in about a second).
    await buildWeb({ log: () => undefined });
    data = await tempDataDir();
    const written = await writeKeys(data.dir, { analyst: { tenant: "acme", scopes: ["query", "ingest"] } });
    key = written.keys.analyst;
    service = await startService(path.join(data.dir, "state"), { API_KEYS_FILE: written.file });
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const ingest = await fetch(`${service.url}/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(ingest.status).toBe(200);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.on("console", (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await data?.remove();
  });

  it("refuses a wrong key with the service's reason, in the key prompt", async () => {
    await page.goto(`${service.url}/`);
    // No key yet: Ask lists the chains, the service says 401, and the prompt opens.
    const prompt = page.getByRole("alertdialog");
    await expect
      .poll(() => text(prompt.getByRole("heading")), { timeout: 10_000 })
      .toBe("An API key is needed");
    await page.getByLabel("API key", { exact: true }).fill("ck_not-a-real-key");
    await page.getByRole("button", { name: "Use this key" }).click();
    await expect
      .poll(() => text(prompt.locator(".problem-detail")))
      .toBe("The service said: The API key is not valid: unknown, revoked or mistyped.");
    await shot(page, "key-prompt");
  });

  it("answers a question in Ask with citations linked to their source, and takes feedback", async () => {
    await page.getByLabel("API key", { exact: true }).fill(key);
    await page.getByRole("button", { name: "Use this key" }).click();
    await expect.poll(() => page.getByRole("alertdialog").count()).toBe(0);
    await page.getByRole("link", { name: "Ask" }).click();
    await expect.poll(() => page.getByLabel("Chain").inputValue()).toBe("qa");

    // An empty question is refused in the page, in words.
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    await expect.poll(() => text(page.getByRole("alert"))).toMatch(/^Type a question first/);

    await page.getByLabel("Question").fill("How many laptops were shipped?");
    await page.getByRole("button", { name: "Ask", exact: true }).click();
    const answer = page.locator("article.answer");
    await expect.poll(() => text(answer.locator(".answer-text")), { timeout: 20_000 }).toContain("200");
    const citation = answer.locator("a.citation").first();
    expect(await citation.getAttribute("aria-label")).toMatch(/^Source \d+: .*fake-memo\.pdf/);
    await citation.click();
    const target = answer.locator(".sources li:target");
    await expect.poll(() => text(target.locator(".source-name"))).toMatch(/fake-memo\.pdf$/);
    expect(await text(target.locator("blockquote"))).not.toBe("");
    expect(await text(answer.locator(".run"))).toMatch(/total\s*\d+ ms/);

    await answer.getByRole("button", { name: "Yes" }).click();
    await expect.poll(() => text(answer.getByRole("status"))).toMatch(/feedback is recorded/);
    expect(await answer.getByRole("button", { name: "Yes" }).getAttribute("aria-pressed")).toBe("true");
    await shot(page, "ask");
    expect(cspViolations).toEqual([]);
  });

  it("shows the other views as placeholders, and fits a phone's width", async () => {
    for (const view of ["Chat", "Documents", "Experiments"]) {
      await page.getByRole("link", { name: view }).click();
      await expect.poll(() => text(page.getByRole("heading", { level: 2 }))).toBe(view);
      expect(await page.getByRole("link", { name: view }).getAttribute("aria-current")).toBe("page");
      expect(await text(page.locator("main"))).toContain("Not built yet.");
      await shot(page, view.toLowerCase());
    }
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByRole("link", { name: "Ask" }).click();
    // A string, run in the page: the test's own types (Node) have no DOM.
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "phone");
  });
});
