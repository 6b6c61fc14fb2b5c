// What the console's browser tests share: Debian's Chromium (no download), launched by playwright-core; a
// locator's text with retries; and screenshots that go to docs/images/ only when asked for.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { ROOT } from "./services.ts";

/** The Chromium to drive, or undefined: a test file skips itself, and says so, when there is none. */
export const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (candidate): candidate is string => Boolean(candidate && existsSync(candidate)),
);

/** Logs why a browser test file is skipped; call at the top of the file. */
export function sayIfSkipped(file: string): void {
  if (!CHROMIUM) console.log(`${file} skipped: no Chromium at /usr/bin/chromium (or CHROMIUM_PATH)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/**
 * A page that records Content-Security-Policy violations in `violations`: a console that needs an inline script
 * or style the policy refuses is broken in production, so every browser test checks the list stays empty.
 */
export async function newPage(browser: Browser, viewport = { width: 1100, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(message.text());
  });
  return { page, violations };
}

/** A locator's text once it is there (playwright-core has no web-first assertions: expect.poll retries). */
export const text = async (locator: Locator, timeout = 2_000) =>
  ((await locator.textContent({ timeout })) ?? "").trim();

// The README's and docs' screenshots are refreshed on request (UPDATE_SCREENSHOTS=1 npx vitest run test/web), so
// that a test run leaves the working tree as it found it; otherwise they go to a temporary folder.
const IMAGES = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, "docs/images")
  : path.join(tmpdir(), "counsel-console-screenshots");

/** docs/images/console-<name>.png, the whole page. */
export const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(IMAGES, `console-${name}.png`), fullPage: true });
