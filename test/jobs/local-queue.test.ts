// The in-process job queue's files under DATA_DIR/jobs, plain and sealed at rest: what a restart finds (jobs
// queued, a job that was running queued again, a cancelled one ended), and when sealed, files that name nothing
// and that another data key cannot read.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalJobQueue } from "../../src/jobs/local-queue.ts";
import type { JobInput } from "../../src/jobs/queue.ts";
import type { DataFiles } from "../../src/store/at-rest/data-files.ts";
import { plainFiles } from "../../src/store/at-rest/plain-files.ts";
import { SealedFileError, sealedFiles } from "../../src/store/at-rest/sealed-files.ts";

let dir: string;
const queues: LocalJobQueue[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "counsel-jobs-"));
});
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close(10);
  await rm(dir, { recursive: true, force: true });
});

const retry = { attempts: 1, backoffMs: 10 };

async function openQueue(files: DataFiles): Promise<LocalJobQueue> {
  const queue = await LocalJobQueue.open({ dir, retry, files });
  queues.push(queue);
  return queue;
}

const severance: JobInput = {
  tenant: "default",
  items: [
    {
      kind: "texts",
      documents: [
        { text: "Severance terms for the Lisbon office.", metadata: { source: "lisbon-severance.md" } },
      ],
    },
  ],
};

describe.each([
  ["plain files", plainFiles],
  ["sealed files", sealedFiles(randomBytes(32))],
] as [string, DataFiles][])("LocalJobQueue on %s", (_mode, files) => {
  it("finds its queued and cancelled jobs again after a restart, inputs and all", async () => {
    const first = await openQueue(files);
    const queued = await first.submit(severance);
    const cancelled = await first.submit({
      tenant: "default",
      items: [{ kind: "urls", urls: ["https://a.test/"] }],
    });
    await first.cancel("default", cancelled.id);
    await first.close();

    const second = await openQueue(files);
    expect((await second.list("default", { limit: 10 })).map((view) => [view.id, view.state])).toEqual([
      [cancelled.id, "cancelled"],
      [queued.id, "queued"],
    ]);
    // Ids go on after the ones on disk.
    expect((await second.submit(severance)).id).toBe("j3");
  });

  it("ends as cancelled a job cancelled while it was being started, without handing it to the worker", async () => {
    const queue = await openQueue(files);
    const job = await queue.submit(severance);
    let ran = false;
    await queue.startWorker({
      concurrency: 1,
      run: (_taken, { signal }) => {
        ran = true;
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    });
    // The worker took the job and is saving it as running: the cancel lands before the runner has it.
    await queue.cancel("default", job.id);
    await expect.poll(async () => (await queue.get("default", job.id))?.state).toBe("cancelled");
    expect(ran).toBe(false);
  });

  it("queues again, after a restart, a job the last process was running when it stopped", async () => {
    const first = await openQueue(files);
    const job = await first.submit(severance);
    let ran: JobInput | undefined;
    await first.startWorker({
      concurrency: 1,
      run: (taken, { signal }) => {
        ran = taken.input;
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    });
    await expect.poll(() => ran).toEqual(severance); // saved as running before the worker has it
    await first.close(10); // not finished in time: stopped, its file still saying running

    const second = await openQueue(files);
    expect(await second.get("default", job.id)).toMatchObject({ state: "queued", attempts: 1 });
  });
});

describe("LocalJobQueue on sealed files", () => {
  it("writes each job sealed: its file names none of its documents, and a restart reads it back", async () => {
    const files = sealedFiles(randomBytes(32));
    const job = await (await openQueue(files)).submit(severance);
    const [name] = await readdir(dir);
    const onDisk = await readFile(path.join(dir, name));
    expect(onDisk.includes("Lisbon")).toBe(false);
    expect(onDisk.includes("lisbon-severance")).toBe(false);
    expect(JSON.parse((await files.readFile(path.join(dir, name))).toString("utf8")).input).toEqual(
      severance,
    );
    expect(await (await openQueue(files)).get("default", job.id)).toMatchObject({ state: "queued" });
  });

  it("refuses to open over jobs sealed under another data key, rather than losing them", async () => {
    await (await openQueue(sealedFiles(randomBytes(32)))).submit(severance);
    await expect(LocalJobQueue.open({ dir, retry, files: sealedFiles(randomBytes(32)) })).rejects.toThrow(
      SealedFileError,
    );
  });
});
