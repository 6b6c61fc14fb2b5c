// A job's view read while it ends, on the test run's real Redis 8 and BullMQ: the job's hash read before the end
// and its state read after must not give a completed job without its report (seen once in CI, polling a job).
import { Queue, Worker } from "bullmq";
import { afterAll, expect, inject, it } from "vitest";
import { currentView } from "../../src/jobs/bullmq-queue.ts";
import type { JobInput } from "../../src/jobs/queue.ts";

const connection = { url: inject("redisUrl") };
const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
const queue = new Queue<JobInput>("view", { connection, prefix });
let worker: Worker<JobInput> | undefined;

afterAll(async () => {
  await worker?.close();
  await queue.obliterate({ force: true });
  await queue.close();
});

it("reads a job that ended after its hash was read as ended with its result", async () => {
  const added = await queue.add("view", { tenant: "default", items: [] }, { jobId: "j1" });
  const stale = await queue.getJob(added.id as string); // read while waiting: no result, no end time
  if (!stale) throw new Error("job not stored");
  const report = { added: 1, updated: 0, skipped: 0, deleted: 0 };
  worker = new Worker<JobInput>("view", async () => report, { connection, prefix });
  await expect.poll(() => stale.getState()).toBe("completed");
  expect(stale.returnvalue).toBeFalsy(); // the stale read itself has no result…
  expect(await currentView(queue, stale)).toMatchObject({ id: "j1", state: "completed", report }); // …its view has
});
