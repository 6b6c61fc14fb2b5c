// The console in a real browser (Debian's Chromium, driven by playwright-core) against the real service with
// API keys on: a wrong key is refused with the service's own words, the right one is taken, and a question in
// Ask comes back with citations linked to the uploaded memo. Screenshots of each view go to docs/images/ with
// UPDATE_SCREENSHOTS=1.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, newPage, sayIfSkipped, shot, text } from "../helpers/browser.ts";
import { writeKeys } from "../helpers/keys.ts";
import { FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

sayIfSkipped("test/web/console.test.ts");

describe.skipIf(!CHROMIUM)("the console in a browser", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;
  let page: Page;
  let key: string;
  let cspViolations: string[];

  beforeAll(async () => {
    data = await tempDataDir();
    // admin too: Experiments reads GET /chains/:name/stats, and a 403 there would open the key prompt.
    const written = await writeKeys(data.dir, {
      analyst: { tenant: "acme", scopes: ["query", "ingest", "admin"] },
    });
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

    browser = await launchChromium();
    ({ page, violations: cspViolations } = await newPage(browser));
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

  it("opens every view from the header, each fitting a phone's width", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    for (const view of ["Chat", "Ask", "Documents", "Experiments"]) {
      await page.getByRole("link", { name: view, exact: true }).click();
      await expect.poll(() => text(page.getByRole("heading", { level: 2 }).first())).toBe(view);
      expect(await page.getByRole("link", { name: view, exact: true }).getAttribute("aria-current")).toBe(
        "page",
      );
      // A string, run in the page: the test's own types (Node) have no DOM.
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - window.innerWidth",
      );
      expect(overflow, `${view} is wider than the phone`).toBeLessThanOrEqual(0);
    }
    await page.getByRole("link", { name: "Ask" }).click();
    await shot(page, "phone");
    expect(cspViolations).toEqual([]);
  });
});
