// HEAP_GROWING_PERCENT, applied in a child process at run time (as serve and the CLI do): a heap of live objects
// with medium-lived garbage churning through it stays far smaller than with V8's own growing factor.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const MODULE = path.join(import.meta.dirname, "heap-growth.ts");

/** The largest heap, in MiB, of a process that keeps ~60 MB live and churns garbage that lives a while. */
async function largestHeap(percent: number): Promise<number> {
  const script = `
    const { applyHeapGrowth } = await import(${JSON.stringify(MODULE)});
    const { getHeapStatistics } = await import("node:v8");
    applyHeapGrowth(${percent});
    const live = Array.from({ length: 600_000 }, (_, i) => ({ s: "live " + i, n: [i] }));
    const window = [];
    let max = 0;
    for (let i = 0; i < 3_000_000; i++) {
      window.push({ s: "g " + i, a: [i, i] });
      if (window.length > 200_000) window.splice(0, 100_000);
      if (i % 10_000 === 0) max = Math.max(max, getHeapStatistics().total_heap_size);
    }
    console.log(max / 2 ** 20, live.length);`;
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
  return Number(stdout.split(" ")[0]);
}

it("keeps the heap near what is live: at 50%, well under V8's own growth", async () => {
  const [own, bounded] = await Promise.all([largestHeap(0), largestHeap(50)]);
  // Seen here: 473-484 MiB against 213.
  expect(bounded).toBeLessThan(own * 0.7);
  expect(bounded).toBeGreaterThan(60); // the live objects themselves
}, 60_000);
