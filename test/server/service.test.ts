// The service end to end over real HTTP: upload real documents, ask questions whose answers are known,
// re-ingest, update, and send bad input.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultTenant, FIXTURES, startService, tempDataDir } from "../helpers/services.ts";

type Service = Awaited<ReturnType<typeof startService>>;
// Replies are checked field by field below; their static type adds nothing here.
// biome-ignore lint/suspicious/noExplicitAny: JSON replies under test
type Json = any;
const json = (res: Response): Promise<Json> => res.json();

async function upload(url: string, files: string[]) {
  const form = new FormData();
  for (const file of files) {
    form.append("files", new Blob([await readFile(path.join(FIXTURES, file))]), file);
  }
  return fetch(`${url}/ingest`, { method: "POST", body: form });
}

function postJson(url: string, body: unknown) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function ask(url: string, question: string, extra: Record<string, unknown> = {}) {
  const res = await postJson(`${url}/chain/qa`, { question, ...extra });
  expect(res.status).toBe(200);
  return json(res);
}

async function expectProblem(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = await json(res);
  expect(body).toMatchObject({
    status,
    title: expect.any(String),
    detail: expect.any(String),
    type: expect.any(String),
  });
  return body;
}

describe("Counsel over HTTP", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Service;

  beforeAll(async () => {
    data = await tempDataDir();
    service = await startService(data.dir);
  });
  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  it("ingests uploaded PDF and DOCX files and counts them as added", async () => {
    const res = await upload(service.url, ["fake-memo.pdf", "handbook-1p.docx"]);
    expect(res.status).toBe(200);
    const report = await json(res);
    expect(report).toMatchObject({ added: 2, updated: 0, skipped: 0, deleted: 0, failed: [] });
    expect(report.chunks.added).toBeGreaterThan(1);
  });

  it("skips the same files when they are uploaded again", async () => {
    const before = await (await defaultTenant(service.services)).index.countChunks();
    const report = await json(await upload(service.url, ["fake-memo.pdf", "handbook-1p.docx"]));
    expect(report).toMatchObject({ added: 0, updated: 0, skipped: 2, failed: [] });
    expect(report.chunks.added).toBe(0);
    expect(await (await defaultTenant(service.services)).index.countChunks()).toBe(before);
  });

  it("answers a question from the memo and cites it", async () => {
    const result = await ask(service.url, "How many laptops were shipped?");
    expect(result.answer).toContain("200");
    expect(result.answer).toMatch(/\[\d+\]/);
    const cited = Number(result.answer.match(/\[(\d+)\]/)[1]);
    expect(result.sources[cited - 1].source).toMatch(/fake-memo\.pdf$/);
    expect(result.sources[cited - 1]).toMatchObject({ id: expect.any(String), snippet: expect.any(String) });
    // Its citations are checked, each cited source carrying the span that supports the sentence citing it.
    expect(result.verification).toMatchObject({ citations: expect.any(Number), removed: 0 });
    expect(result.verification.verified).toBeGreaterThan(0);
    expect(result.sources[cited - 1].quote).toMatchObject({
      text: expect.any(String),
      start: expect.any(Number),
      end: expect.any(Number),
    });
    expect(result).toMatchObject({ chain: "qa", variant: expect.any(String), model: expect.any(String) });
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(0);
  });

  it("says plainly when the knowledge base has no answer", async () => {
    const result = await ask(service.url, "What is the boiling point of liquid nitrogen on Jupiter's moons?");
    expect(result.sources).toEqual([]);
    expect(result.answer).not.toMatch(/\[\d+\]/);
  });

  it("honours a metadata filter", async () => {
    const result = await ask(service.url, "How many laptops were shipped?", {
      filter: { source: "upload:handbook-1p.docx" },
    });
    for (const source of result.sources) expect(source.source).toBe("upload:handbook-1p.docx");
  });

  it("replaces a changed document's chunks and keeps an unchanged one", async () => {
    const v1 = {
      documents: [{ text: "The cafeteria opens at 7am on weekdays.", metadata: { doc_id: "hours" } }],
    };
    const v2 = {
      documents: [{ text: "The cafeteria opens at 9am on weekdays.", metadata: { doc_id: "hours" } }],
    };
    expect(await json(await postJson(`${service.url}/ingest`, v1))).toMatchObject({ added: 1 });
    const count = await (await defaultTenant(service.services)).index.countChunks();
    const updated = await json(await postJson(`${service.url}/ingest`, v2));
    expect(updated).toMatchObject({ added: 0, updated: 1, skipped: 0 });
    expect(updated.chunks).toMatchObject({ added: 1, deleted: 1 });
    expect(await (await defaultTenant(service.services)).index.countChunks()).toBe(count);
    const result = await ask(service.url, "When does the cafeteria open?", { filter: { doc_id: "hours" } });
    expect(result.answer).toContain("9am");
    expect(result.answer).not.toContain("7am");
  });

  it("answers 415 naming the supported types when the only file is an image", async () => {
    const problem = await expectProblem(await upload(service.url, ["paystub.jpg"]), 415);
    expect(problem.supported).toEqual(expect.arrayContaining(["pdf", "docx", "markdown"]));
    expect(problem.failed[0].name).toBe("paystub.jpg");
  });

  it("reports one bad file in a batch without losing the others", async () => {
    const res = await upload(service.url, ["paystub.jpg", "multi-table.pdf"]);
    expect(res.status).toBe(200);
    const report = await json(res);
    expect(report.added).toBe(1);
    expect(report.failed).toEqual([
      expect.objectContaining({ name: "paystub.jpg", code: "unsupported_media_type" }),
    ]);
  });

  describe("bad input", () => {
    it("rejects malformed JSON", async () => {
      await expectProblem(await postJson(`${service.url}/chain/qa`, "{not json"), 400);
    });
    it("rejects a missing or blank question", async () => {
      await expectProblem(await postJson(`${service.url}/chain/qa`, {}), 400);
      await expectProblem(await postJson(`${service.url}/chain/qa`, { question: "   " }), 400);
    });
    it("rejects out-of-range k, wrong types and unknown fields", async () => {
      const body = await expectProblem(
        await postJson(`${service.url}/chain/qa`, { question: "x", k: 500 }),
        400,
      );
      expect(JSON.stringify(body.errors)).toContain("/k");
      await expectProblem(await postJson(`${service.url}/chain/qa`, { question: "x", k: "5" }), 400);
      await expectProblem(await postJson(`${service.url}/chain/qa`, { question: 42 }), 400);
      await expectProblem(await postJson(`${service.url}/chain/qa`, { question: "x", bogus: 1 }), 400);
      await expectProblem(
        await postJson(`${service.url}/chain/qa`, { question: "x", filter: { a: { b: 1 } } }),
        400,
      );
    });
    it("rejects a body over the size limit", async () => {
      await expectProblem(
        await postJson(`${service.url}/chain/qa`, { question: "x".repeat(2_000_000) }),
        413,
      );
    });
    it("rejects an unsupported content type", async () => {
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "text/xml" },
        body: "<q/>",
      });
      await expectProblem(res, 415);
    });
    it("rejects an ingest with no documents, or files in the wrong field", async () => {
      await expectProblem(await postJson(`${service.url}/ingest`, { documents: [] }), 400);
      const form = new FormData();
      form.append("upload", new Blob(["hello"]), "a.txt");
      await expectProblem(await fetch(`${service.url}/ingest`, { method: "POST", body: form }), 400);
    });
    it("answers 404 for an unknown chain or route", async () => {
      await expectProblem(await postJson(`${service.url}/chain/nope`, { question: "x" }), 404);
      await expectProblem(await fetch(`${service.url}/nowhere`), 404);
    });
    it("leaves the index unchanged after all of that", async () => {
      const result = await ask(service.url, "How many laptops were shipped?");
      expect(result.answer).toContain("200");
    });
  });

  it("reports liveness and readiness", async () => {
    expect(await json(await fetch(`${service.url}/healthz`))).toEqual({ status: "ok" });
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await json(ready)).checks.store.ok).toBe(true);
  });

  it("serves OpenAPI generated from the route schemas", async () => {
    const spec = await json(await fetch(`${service.url}/docs/json`));
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        "/chain/qa",
        "/chain/{name}",
        "/chains",
        "/chains/{name}/stats",
        "/feedback",
        "/advisor/chat",
        "/advisor/sessions",
        "/advisor/sessions/{id}",
        "/reports/{id}",
        "/ingest",
        "/usage",
        "/healthz",
        "/readyz",
      ]),
    );
    const qa = spec.paths["/chain/qa"].post;
    expect(qa.requestBody.content["application/json"].schema).toMatchObject({
      required: ["question"],
      additionalProperties: false,
      properties: { question: { type: "string", minLength: 1, maxLength: 4000, pattern: "\\S" } },
    });
    expect(qa.responses["200"].content["application/json"].schema.properties).toHaveProperty("runId");
    // Every error reply is the one problem schema, described once.
    expect(qa.responses["4XX"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/problem",
    });
    expect(spec.components.schemas.problem.required).toEqual(["type", "title", "status", "detail"]);
    expect(
      spec.paths["/ingest"].post.requestBody.content["application/json"].schema.properties,
    ).toHaveProperty("documents");
    expect((await fetch(`${service.url}/docs`)).status).toBeLessThan(400);
  });

  it("keeps the knowledge base across a restart", async () => {
    const count = await (await defaultTenant(service.services)).index.countChunks();
    const before = await ask(service.url, "How many laptops were shipped?");
    await service.stop();
    service = await startService(data.dir);
    expect(await (await defaultTenant(service.services)).index.countChunks()).toBe(count);
    const after = await ask(service.url, "How many laptops were shipped?");
    expect(after.answer).toBe(before.answer);
    const again = await json(await upload(service.url, ["fake-memo.pdf"]));
    expect(again).toMatchObject({ added: 0, skipped: 1 });
  });
});
