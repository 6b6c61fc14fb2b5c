// The Experiments view in a real browser (Debian's Chromium, driven by playwright-core) against the real service:
// runs of two variants of the qa chain and feedback on them, made over HTTP, then the view's table showing what
// GET /chains/qa/stats says, a chart with a bar per variant that follows the figure picked, the empty state of a
// chain without runs, a phone's width, and no CSP violation (recharts included).
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, newPage, sayIfSkipped, shot, text } from "../helpers/browser.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";

sayIfSkipped("test/web/experiments.test.ts");

interface VariantStats {
  variant: string;
  requests: number;
  feedback: { count: number; mean: number | null; up: number; down: number; positiveShare: number | null };
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  estimatedCostUsd: number | null;
}

// How the view writes each figure: the test's own copy, so that a change of format is a visible decision.
const whole = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 });
const shown: Record<string, (s: VariantStats) => string> = {
  requests: (s) => whole(s.requests),
  up: (s) => whole(s.feedback.up),
  down: (s) => whole(s.feedback.down),
  positiveShare: (s) =>
    s.feedback.positiveShare === null ? "no feedback yet" : `${Math.round(s.feedback.positiveShare * 100)}%`,
  meanScore: (s) => (s.feedback.mean === null ? "no feedback yet" : s.feedback.mean.toFixed(2)),
  p50: (s) => `${whole(s.latencyMs.p50 as number)} ms`,
  p95: (s) => `${whole(s.latencyMs.p95 as number)} ms`,
  tokensIn: (s) => whole(s.tokens.input),
  tokensOut: (s) => whole(s.tokens.output),
  cost: (s) => `$${(s.estimatedCostUsd as number).toLocaleString("en-US", { maximumSignificantDigits: 3 })}`,
};

describe.skipIf(!CHROMIUM)("the Experiments view in a browser", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];

  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${service.url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status, `POST ${route}`).toBe(200);
    return (await res.json()) as { runId: string; variant: string };
  };
  const stats = async () =>
    ((await (await fetch(`${service.url}/chains/qa/stats`)).json()) as { variants: VariantStats[] }).variants;
  const cell = (figure: string, variant: string) =>
    page.locator(`#experiments-table tr[data-figure="${figure}"] td[data-variant="${variant}"]`);
  const barLabels = () => page.locator(".stats-chart .recharts-label-list text").allTextContents();

  beforeAll(async () => {
    data = await tempDataDir();
    // The shipped chains, and "concise": a second qa chain that nobody asks, listed before qa.
    const chains = path.join(data.dir, "chains");
    await cp(path.join(ROOT, "chains"), chains, { recursive: true });
    const qa = await readFile(path.join(chains, "qa.yaml"), "utf8");
    await writeFile(path.join(chains, "concise.yaml"), qa.replace(/^name: qa$/m, "name: concise"));
    service = await startService(path.join(data.dir, "state"), { CHAINS_DIR: chains });

    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    expect((await fetch(`${service.url}/ingest`, { method: "POST", body: form })).status).toBe(200);

    // baseline: three answers, two thumbs up and one down; balanced: two answers, one thumbs down.
    const question = "How many laptops were shipped?";
    const ask = (variant: string) => post("/chain/qa", { question, variant });
    const baseline = [await ask("baseline"), await ask("baseline"), await ask("baseline")];
    const balanced = [await ask("balanced"), await ask("balanced")];
    expect(new Set(baseline.map((r) => r.variant))).toEqual(new Set(["baseline"]));
    for (const [run, score] of [
      [baseline[0], 1],
      [baseline[1], 1],
      [baseline[2], -1],
      [balanced[0], -1],
    ] as const) {
      await post("/feedback", { runId: run.runId, score });
    }

    browser = await launchChromium();
    ({ page, violations: cspViolations } = await newPage(browser));
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await data?.remove();
  });

  it("opens on the first chain with runs and shows each variant's figures as GET /chains/qa/stats gives them", async () => {
    await page.goto(`${service.url}/#/experiments`);
    await expect.poll(() => page.getByLabel("Chain").inputValue(), { timeout: 10_000 }).toBe("qa");
    const variants = await stats();
    expect(variants.map((v) => v.variant)).toEqual(["balanced", "baseline"]);
    const headers = await page.locator("#experiments-table thead th").allTextContents();
    expect(headers).toEqual(["Figure", "balanced", "baseline"]);
    for (const variant of variants) {
      for (const [figure, format] of Object.entries(shown)) {
        expect(
          await text(cell(figure, variant.variant).locator(".value")),
          `${figure} of ${variant.variant}`,
        ).toBe(format(variant));
      }
    }
    // What the test did, whatever the service's arithmetic: 3 and 2 answers, 2 up and 1 down against 0 and 1.
    expect(await text(cell("requests", "baseline").locator(".value"))).toBe("3");
    expect(await text(cell("positiveShare", "baseline").locator(".value"))).toBe("67%");
    expect(await text(cell("positiveShare", "balanced").locator(".value"))).toBe("0%");
    // The better share and mean score are marked in words; totals are not ranked.
    expect(await text(cell("positiveShare", "baseline").locator(".best"))).toBe("best");
    expect(await text(cell("meanScore", "baseline").locator(".best"))).toBe("best");
    expect(await cell("positiveShare", "balanced").locator(".best").count()).toBe(0);
    expect(await page.locator('#experiments-table tr[data-figure="requests"] .best').count()).toBe(0);
    expect(cspViolations).toEqual([]);
  });

  it("draws a bar per variant on the figure picked, and redraws it when another is picked", async () => {
    const chart = page.locator("figure.stats-chart");
    // The table is the chart's text alternative.
    expect(await chart.getAttribute("aria-describedby")).toBe("experiments-table");
    await page.getByLabel("Compare on").selectOption({ label: "Latency p50" });
    await expect.poll(() => text(chart.locator("figcaption"))).toMatch(/^Latency p50 by variant/);
    const variants = await stats();
    await expect.poll(() => chart.locator(".recharts-bar-rectangle").count()).toBe(2);
    expect(await barLabels()).toEqual(variants.map(shown.p50));
    expect(await chart.locator(".recharts-xAxis-tick-labels text").allTextContents()).toEqual([
      "balanced",
      "baseline",
    ]);

    await page.getByLabel("Compare on").selectOption({ label: "Positive share" });
    await expect.poll(() => text(chart.locator("figcaption"))).toMatch(/^Positive share by variant/);
    // balanced's 0% is drawn and labelled too: a zero is not a missing value.
    await expect.poll(barLabels).toEqual(["0%", "67%"]);
    expect(await chart.locator(".recharts-bar-rectangle").count()).toBe(2);
    await shot(page, "experiments");
    expect(cspViolations).toEqual([]);
  });

  it("shows a new answer's run after Refresh, as the API counts it", async () => {
    const before = await text(cell("requests", "balanced").locator(".value"));
    expect(before).toBe("2");
    await post("/chain/qa", { question: "How many blankets were delivered?", variant: "balanced" });
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => text(cell("requests", "balanced").locator(".value"))).toBe("3");
    const balanced = (await stats()).find((v) => v.variant === "balanced") as VariantStats;
    expect(balanced.requests).toBe(3);
    expect(await text(cell("p95", "balanced").locator(".value"))).toBe(shown.p95(balanced));
    expect(await text(page.getByRole("status"))).toMatch(/^Stats of qa refreshed at /);
    expect(cspViolations).toEqual([]);
  });

  it("says in words how to get runs for a chain that has none, with a link to Ask", async () => {
    await page.getByLabel("Chain").selectOption("concise");
    const empty = page.locator(".experiments .empty");
    await expect.poll(() => text(empty)).toBe("No runs yet: ask a question in Ask, then come back.");
    expect(await empty.getByRole("link").getAttribute("href")).toBe("#/ask");
    expect(await page.locator("#experiments-table").count()).toBe(0);
    expect(await page.locator(".stats-chart").count()).toBe(0);
    expect(cspViolations).toEqual([]);
  });

  it("fits a phone's width, the chart included", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByLabel("Chain").selectOption("qa");
    const svg = page.locator(".stats-chart svg.recharts-surface");
    await expect.poll(async () => (await svg.boundingBox())?.width ?? 999).toBeLessThanOrEqual(375);
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    expect(cspViolations).toEqual([]);
  });
});
