// The `counsel` command as a user runs it: a child process through bin/counsel.mjs.
import { execFile } from "node:child_process";
import { access, copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useS3Emulator } from "../helpers/s3.ts";
import { FIXTURES, ROOT, startService, tempDataDir } from "../helpers/services.ts";

const run = promisify(execFile);

// Each command is a new Node process that compiles the TypeScript sources and opens the stores: seconds apiece,
// many more when the test run shares two cores with the rest of the suite.
vi.setConfig({ testTimeout: 180_000 });

describe("counsel CLI", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let docs: string;
  let env: NodeJS.ProcessEnv;

  const counsel = (...args: string[]) =>
    run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), ...args], { env, cwd: ROOT });

  beforeAll(async () => {
    data = await tempDataDir();
    docs = path.join(data.dir, "docs");
    await mkdir(docs);
    await copyFile(path.join(FIXTURES, "fake-memo.pdf"), path.join(docs, "fake-memo.pdf"));
    await copyFile(path.join(FIXTURES, "handbook-1p.docx"), path.join(docs, "handbook-1p.docx"));
    env = { ...process.env, DATA_DIR: path.join(data.dir, "state"), LOG_LEVEL: "silent" };
  });
  afterAll(async () => data?.remove());

  it("ingests a folder, then skips it when nothing changed", async () => {
    const first = await counsel("ingest", docs, "--json");
    expect(JSON.parse(first.stdout)).toMatchObject({ added: 2, skipped: 0, failed: [] });
    const second = await counsel("ingest", docs);
    expect(second.stdout).toMatch(/added 0, updated 0, skipped 2/);
  });

  it("answers a question with its sources", async () => {
    const { stdout } = await counsel("ask", "How many bottles of water were shipped?");
    expect(stdout).toContain("20,000");
    expect(stdout).toMatch(/Sources:\n\s+\[1\] .*fake-memo\.pdf/);
  });

  it("removes a deleted file's document with --cleanup", async () => {
    await rm(path.join(docs, "handbook-1p.docx"));
    const { stdout } = await counsel("ingest", docs, "--cleanup", "--json");
    expect(JSON.parse(stdout)).toMatchObject({ deleted: 1, skipped: 1 });
  });

  it("exits non-zero and names the variable when a setting is bad", async () => {
    const failure = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "ask", "x"], {
      env: { ...env, PORT: "not-a-port" },
      cwd: ROOT,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain("PORT");
  });

  it("makes, lists and revokes API keys that a running service honours; --tenant keeps knowledge bases apart", async () => {
    const state = path.join(data.dir, "keys-state");
    const as = (...args: string[]) =>
      run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), ...args], {
        env: { ...env, DATA_DIR: state },
        cwd: ROOT,
      });
    const made = JSON.parse(
      (await as("keys", "create", "--tenant", "acme", "--scopes", "query,ingest", "--name", "ci", "--json"))
        .stdout,
    );
    expect(made).toMatchObject({
      tenant: "acme",
      scopes: ["query", "ingest"],
      key: expect.stringMatching(/^ck_/),
    });
    await as("ingest", path.join(FIXTURES, "fake-memo.pdf"), "--tenant", "acme");
    // Another tenant's knowledge base is empty: nothing of acme's answers its questions.
    const elsewhere = await as("ask", "How many bottles of water were shipped?", "--tenant", "globex");
    expect(elsewhere.stdout).not.toContain("20,000");

    const listed = (await as("keys", "list")).stdout;
    expect(listed).toMatch(new RegExp(`^${made.id}  acme  query,ingest  active  ci$`, "m"));
    expect(listed).not.toContain(made.key.slice(16));

    // The service finds the keys file in its DATA_DIR, so it starts with authentication on.
    const service = await startService(state);
    try {
      const ask = (headers: Record<string, string>) =>
        fetch(`${service.url}/chain/qa`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ question: "How many bottles of water were shipped?" }),
        });
      expect((await ask({})).status).toBe(401);
      const answered = await ask({ "x-api-key": made.key });
      expect(((await answered.json()) as { answer: string }).answer).toContain("20,000");

      await as("keys", "revoke", made.id);
      expect((await as("keys", "list")).stdout).toMatch(
        new RegExp(`^${made.id}  acme  query,ingest  revoked `, "m"),
      );
      await expect
        .poll(async () => (await ask({ "x-api-key": made.key })).status, { timeout: 10_000 })
        .toBe(401);
    } finally {
      await service.stop();
    }
  });

  it("extracts what ingestion would index, as Markdown, without storing anything", async () => {
    const state = path.join(data.dir, "extract-state");
    const memo = path.join(docs, "fake-memo.pdf");
    const text = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "extract", memo], {
      env: { ...env, DATA_DIR: state },
      cwd: ROOT,
    });
    expect(text.stdout).toMatch(/^<!-- fake-memo\.pdf: pdf; 1 document, 1 chunk -->/);
    expect(text.stdout).toContain("200 laptops delivered on January 23");

    // Straight from the fixtures: the --cleanup test removes the copy in docs/.
    const chunks = await counsel("extract", path.join(FIXTURES, "handbook-1p.docx"), "--chunks");
    const headings = chunks.stdout.match(/^### Chunk \d+ \(\d+ characters\)$/gm) ?? [];
    expect(headings.length).toBe(Number(chunks.stdout.match(/(\d+) chunks -->/)?.[1]));
    expect(headings.length).toBeGreaterThan(1);
    // Nothing was indexed: the extract run made no store.
    await expect(access(state)).rejects.toThrow();

    const missing = await counsel("extract", path.join(docs, "nope.pdf")).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/nope\.pdf: no such file/) });
  });

  it("extracts with the recipe's PII redaction, showing the masks ingestion would index", async () => {
    const loaders = path.join(data.dir, "loaders");
    await mkdir(loaders, { recursive: true });
    await writeFile(path.join(loaders, "redacting.yaml"), "redact:\n  pii: true\n");
    const note = path.join(data.dir, "contact.txt");
    await writeFile(note, "Write to jane.doe@example.com or call +44 20 7946 0958 about the refund.\n");
    const text = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "extract", note], {
      env: { ...env, LOADERS_DIR: loaders, RECIPE: "redacting" },
      cwd: ROOT,
    });
    expect(text.stdout).toContain("Write to [EMAIL] or call [PHONE] about the refund.");
    expect(text.stdout).not.toContain("jane.doe@example.com");
  });

  it("extracts with the recipe's summary and label, as ingestion would store them", async () => {
    const loaders = path.join(data.dir, "loaders");
    await mkdir(loaders, { recursive: true });
    await writeFile(
      path.join(loaders, "labelled.yaml"),
      [
        "summarize:",
        "  enabled: true",
        "  sentences: 1",
        "classify:",
        "  enabled: true",
        "  labels:",
        "    - { name: logistics, keywords: [bottles, trucks, delivered] }",
        "    - { name: finance, keywords: [invoice, payment] }",
        "redact:",
        "  pii: true",
        "",
      ].join("\n"),
    );
    const note = path.join(data.dir, "delivery.txt");
    await writeFile(
      note,
      "Twenty thousand bottles of water were delivered by three trucks on Monday. " +
        "Questions about the delivery go to ops@example.org today. Thanks.\n",
    );
    const text = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "extract", note], {
      env: { ...env, LOADERS_DIR: loaders, RECIPE: "labelled" },
      cwd: ROOT,
    });
    expect(text.stdout).toContain("## Label (keywords)\n\ncategory: logistics");
    expect(text.stdout).toMatch(/## Summary \(extractive, indexed as one more chunk\)\n\n.+ bottles .+\./);
    expect(text.stdout).not.toContain("ops@example.org");
  });
});

describe("counsel ingest --recipe", () => {
  const s3 = useS3Emulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;

  beforeAll(async () => {
    data = await tempDataDir();
    s3.createBucket("docs");
    s3.putObject("docs", "handbook/hours.txt", "The cafeteria opens at 9am.", { contentType: "text/plain" });
  });
  afterAll(async () => data?.remove());

  it("ingests the recipe's sources, an S3 prefix and a local folder, when given no paths", async () => {
    const loaders = path.join(data.dir, "loaders");
    const local = path.join(data.dir, "local");
    await mkdir(loaders);
    await mkdir(local);
    await copyFile(path.join(FIXTURES, "fake-memo.pdf"), path.join(local, "fake-memo.pdf"));
    await copyFile(path.join(ROOT, "loaders/default.yaml"), path.join(loaders, "default.yaml"));
    await writeFile(
      path.join(loaders, "mixed.yaml"),
      `name: mixed\nsources:\n  - s3://docs/handbook/\n  - ${local}\n`,
    );
    const env = {
      ...process.env,
      DATA_DIR: path.join(data.dir, "state"),
      LOADERS_DIR: loaders,
      S3_FORCE_PATH_STYLE: "true",
      LOG_LEVEL: "silent",
    };
    const ingest = async () =>
      JSON.parse(
        (
          await run(
            process.execPath,
            [path.join(ROOT, "bin/counsel.mjs"), "ingest", "--recipe", "mixed", "--json"],
            {
              env,
              cwd: ROOT,
            },
          )
        ).stdout,
      );
    expect(await ingest()).toMatchObject({ added: 2, failed: [] });
    const since = s3.requests.length;
    expect(await ingest()).toMatchObject({ added: 0, skipped: 2 });
    expect(s3.recorded("GetObject", since)).toEqual([]);

    const none = await run(process.execPath, [path.join(ROOT, "bin/counsel.mjs"), "ingest"], {
      env,
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(none).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Nothing to ingest.*"default" has none/),
    });
  });
});
