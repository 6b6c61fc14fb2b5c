// Hostile input over real HTTP: every bad request gets a 4xx application/problem+json naming the problem, never
// a 5xx; the process stays up; and the knowledge base (chunk count and a fixed question's answer and sources)
// is the same before and after each group of requests.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { crc32, createDeflateRaw, deflateRawSync } from "node:zlib";
import mammoth from "mammoth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, useService } from "../helpers/services.ts";

// Replies are checked field by field below; their static type adds nothing here.
// biome-ignore lint/suspicious/noExplicitAny: JSON replies under test
type Json = any;
const json = (res: Response): Promise<Json> => res.json();

const BODY_LIMIT = 1_048_576;
const UPLOAD_MAX_BYTES = 4 * 1024 * 1024;
const UPLOAD_MAX_FILES = 5;
const QUESTION_MAX = 4000; // chain.ts: qaBody.question.maxLength
const FIXED = { question: "How many laptops were shipped?", variant: "baseline" };

// The data folder sits in a folder of its own, so that "nothing was written outside it" can be checked exactly.
const root = mkdtempSync(path.join(tmpdir(), "counsel-hostile-"));
const dataDir = path.join(root, "data");

// Registered before useService so that it runs after the service has stopped (after-hooks run in reverse).
afterAll(() => rmSync(root, { recursive: true, force: true }));

const service = useService({
  DATA_DIR: dataDir,
  BODY_LIMIT: String(BODY_LIMIT),
  UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES),
  UPLOAD_MAX_FILES: String(UPLOAD_MAX_FILES),
  TEXTRACT_ENABLED: "false",
});

// --- requests -------------------------------------------------------------------------------------------------

function post(route: string, body: string | Uint8Array, contentType = "application/json") {
  return fetch(`${service.url}${route}`, { method: "POST", headers: { "content-type": contentType }, body });
}

const postJson = (route: string, body: unknown) => post(route, JSON.stringify(body));

interface FilePart {
  field?: string;
  /** Raw, as the client sends it: may hold "../", backslashes or NUL. Absent: a plain form field. */
  filename?: string;
  data: Uint8Array | string;
  type?: string;
}

/** A multipart/form-data body written byte by byte, so that file names reach the server exactly as given. */
function multipart(parts: FilePart[]): { body: Buffer; type: string } {
  const boundary = `----counsel-hostile-${crypto.randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const name = `name="${part.field ?? "files"}"`;
    const file = part.filename === undefined ? "" : `; filename="${part.filename}"`;
    const type =
      part.filename === undefined ? "" : `\r\nContent-Type: ${part.type ?? "application/octet-stream"}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; ${name}${file}${type}\r\n\r\n`),
    );
    chunks.push(Buffer.from(part.data));
    chunks.push(Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

function upload(parts: FilePart[]) {
  const { body, type } = multipart(parts);
  return post("/ingest", body, type);
}

const fixture = (name: string) => readFile(path.join(FIXTURES, name));

/**
 * Asserts a problem+json reply with this status, a stable `code` and a `detail` that names the problem.
 * Returns the body for further checks.
 */
async function expectProblem(
  res: Response,
  status: number,
  expected: { code?: string | RegExp; detail: RegExp },
): Promise<Json> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text);
  expect(body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    code: expect.any(String),
    detail: expect.any(String),
  });
  if (expected.code) expect(body.code).toMatch(expected.code);
  expect(body.detail).toMatch(expected.detail);
  return body;
}

/** Input that is odd but valid: answered (200), and in any case never a 5xx. */
async function expectAnswered(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBeLessThan(500);
  expect(res.status, text).toBe(200);
  return JSON.parse(text);
}

// --- what must not change -------------------------------------------------------------------------------------

interface Snapshot {
  chunks: number;
  answer: string;
  sources: string[];
}

/** The store's chunk count (GET /readyz) and the fixed question's answer and cited chunk ids. */
async function snapshot(): Promise<Snapshot> {
  const ready = await json(await fetch(`${service.url}/readyz`));
  const qa = await json(await postJson("/chain/qa", FIXED));
  return {
    chunks: ready.checks.store.chunks,
    answer: qa.answer,
    sources: qa.sources.map((s: { id: string }) => s.id),
  };
}

let baseline: Snapshot;

/** A describe block whose requests must leave the knowledge base exactly as it was; `setup` runs first. */
function hostile(name: string, cases: () => void, setup?: () => Promise<void>) {
  describe(name, () => {
    beforeAll(async () => {
      expect(await snapshot()).toEqual(baseline);
      await setup?.();
    }, 60_000);
    cases();
    it("leaves the chunk count and the fixed answer unchanged", async () => {
      expect(await snapshot()).toEqual(baseline);
    });
  });
}

// --- a DOCX zip bomb, built here ------------------------------------------------------------------------------

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const CONTENT_TYPES =
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ' +
  'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
const RELS =
  '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' +
  'Target="word/document.xml"/></Relationships>';
const DOC_HEAD = `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body><w:p><w:r><w:t>`;
const DOC_TAIL = "</w:t></w:r></w:p></w:body></w:document>";

interface ZipEntry {
  name: string;
  /** Raw DEFLATE data, its CRC-32 and true uncompressed size. */
  deflated: Buffer;
  crc: number;
  size: number;
  /** The uncompressed size written in the headers, when it should lie. */
  declaredSize?: number;
}

function entry(name: string, content: string): ZipEntry {
  const data = Buffer.from(content);
  return { name, deflated: deflateRawSync(data), crc: crc32(data), size: data.length };
}

/** An entry of `mebibytes` MiB of repeated text, deflated as a stream: the test never holds it uncompressed. */
async function bombEntry(name: string, mebibytes: number): Promise<ZipEntry> {
  const chunk = Buffer.from("All work and no play makes Jack a dull boy. ".repeat(24_000).slice(0, 1 << 20));
  const head = Buffer.from(DOC_HEAD);
  const tail = Buffer.from(DOC_TAIL);
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on("data", (b: Buffer) => out.push(b));
  const done = new Promise((resolve, reject) => deflate.on("end", resolve).on("error", reject));
  let crc = crc32(head);
  deflate.write(head);
  for (let i = 0; i < mebibytes; i += 1) {
    crc = crc32(chunk, crc);
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
  }
  crc = crc32(tail, crc);
  deflate.end(tail);
  await done;
  return {
    name,
    deflated: Buffer.concat(out),
    crc,
    size: head.length + mebibytes * chunk.length + tail.length,
  };
}

/** A minimal ZIP (DEFLATE entries, no ZIP64): local headers and data, central directory, end record. */
function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const size = e.declaredSize ?? e.size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(8, 8); // DEFLATE
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.deflated.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(e.crc >>> 0, 16);
    central.writeUInt32LE(e.deflated.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.deflated);
    centrals.push(central, name);
    offset += local.length + name.length + e.deflated.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function docx(document: ZipEntry): Buffer {
  return zip([entry("[Content_Types].xml", CONTENT_TYPES), entry("_rels/.rels", RELS), document]);
}

/** The largest growth of this process's resident memory while `work` runs, sampled every few milliseconds. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/** Every file and folder name under `dir`, recursively. */
function namesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((p) => path.basename(p));
}

// --- the suite ------------------------------------------------------------------------------------------------

describe("hostile input", () => {
  beforeAll(async () => {
    const res = await upload([
      { filename: "fake-memo.pdf", data: await fixture("fake-memo.pdf") },
      { filename: "fastify-getting-started.md", data: await fixture("fastify-getting-started.md") },
    ]);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({ added: 2, failed: [] });
    baseline = await snapshot();
    expect(baseline.chunks).toBeGreaterThan(1);
    expect(baseline.answer).toContain("200");
  });

  hostile("malformed JSON and content types", () => {
    it("answers 400 to a body that is not JSON", async () => {
      await expectProblem(await post("/chain/qa", '{"question": "x",'), 400, { detail: /JSON/i });
    });

    it("answers 400 to an empty JSON body", async () => {
      await expectProblem(await post("/chain/qa", ""), 400, { detail: /empty/i });
    });

    it("answers 400 to a raw NUL byte inside a JSON string", async () => {
      await expectProblem(await post("/chain/qa", '{"question": "a\u0000b"}'), 400, { detail: /JSON/i });
    });

    it("answers 400 to a __proto__ key (prototype poisoning)", async () => {
      // Fastify's JSON parser drops secure-json-parse's reason, so the detail is its generic one.
      await expectProblem(await post("/chain/qa", '{"question": "x", "__proto__": {"admin": true}}'), 400, {
        detail: /not valid JSON/,
      });
    });

    it("answers 400 to JSON nested 100,000 deep", async () => {
      const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
      const res = await post("/chain/qa", `{"question": "x", "filter": {"a": ${deep}}}`);
      await expectProblem(res, 400, { detail: /filter/ });
    });

    it("answers 400 to JSON sent as text/plain: the body is a string, not an object", async () => {
      const res = await post("/chain/qa", JSON.stringify(FIXED), "text/plain");
      await expectProblem(res, 400, { detail: /body must be object/ });
    });

    it("answers 415 naming the content type when no route reads it", async () => {
      await expectProblem(await post("/chain/qa", "<q/>", "application/xml"), 415, {
        code: "unsupported_media_type",
        detail: /Content-Type "application\/xml" is not accepted here: send application\/json/,
      });
    });

    it("answers 415 to a body without a content type", async () => {
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        body: new Uint8Array([0x7b, 0x7d]),
      });
      await expectProblem(res, 415, { code: "unsupported_media_type", detail: /no Content-Type/ });
    });

    it("answers 400 to JSON whose bytes are not valid UTF-8", async () => {
      // "\xC3\x28" is an invalid two-byte sequence; "\xED\xA0\x80" is a UTF-8-encoded lone surrogate (U+D800).
      for (const bad of [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xff]]) {
        const body = Buffer.concat([
          Buffer.from('{"question": "laptops '),
          Buffer.from(bad),
          Buffer.from('"}'),
        ]);
        await expectProblem(await post("/chain/qa", body), 400, { detail: /UTF-8/i });
      }
    });
  });

  hostile("wrong types, missing and unknown fields", () => {
    const cases: [string, unknown, RegExp][] = [
      ["a number as question", { question: 5 }, /question must be string/],
      ["k as a string", { question: "x", k: "5" }, /k must be integer/],
      ["k = 0", { question: "x", k: 0 }, /k must be >= 1/],
      ["k = 51", { question: "x", k: 51 }, /k must be <= 50/],
      ["k = 1.5", { question: "x", k: 1.5 }, /k must be integer/],
      ["filter as an array", { question: "x", filter: [] }, /filter must be object/],
      ["a nested object in filter", { question: "x", filter: { a: { b: 1 } } }, /filter\/a must be/],
      ["null as question", { question: null }, /question must be string/],
      ["a missing question", { k: 3 }, /must have required property 'question'/],
      ["an unknown field", { question: "x", bogus: 1 }, /must NOT have additional properties/],
      ["a body that is an array", [FIXED], /body must be object/],
      ["a variant that is not a name", { question: "x", variant: "../../etc" }, /variant must match/],
      ["an unknown variant", { question: "x", variant: "nope" }, /nope/],
    ];
    for (const [what, body, detail] of cases) {
      it(`answers 400 to ${what}`, async () => {
        await expectProblem(await postJson("/chain/qa", body), 400, { detail });
      });
    }

    it("names the unknown field", async () => {
      const problem = await expectProblem(await postJson("/chain/qa", { question: "x", bogus: 1 }), 400, {
        code: "invalid_request",
        detail: /additional properties/,
      });
      expect(problem.errors).toEqual([expect.objectContaining({ field: "bogus" })]);
    });

    it("answers 400 to an ingest body with neither or both of documents and s3", async () => {
      await expectProblem(await postJson("/ingest", {}), 400, { detail: /"documents".*"s3"/ });
      await expectProblem(
        await postJson("/ingest", { documents: [{ text: "a" }], s3: "s3://bucket/x" }),
        400,
        { detail: /"documents".*"s3"/ },
      );
      await expectProblem(await postJson("/ingest", { documents: "text" }), 400, {
        detail: /documents must be array/,
      });
      await expectProblem(await postJson("/ingest", { documents: [{ text: "" }] }), 400, {
        detail: /text must NOT have fewer than 1 characters/,
      });
    });

    it("answers 400 to an S3 URL that is not s3://", async () => {
      for (const s3 of ["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "S3:/bucket", ""]) {
        await expectProblem(await postJson("/ingest", { s3 }), 400, { detail: /s3 must match pattern/ });
      }
    });
  });

  hostile("huge bodies and questions", () => {
    it(`answers 413 to a JSON body over BODY_LIMIT (${BODY_LIMIT} bytes)`, async () => {
      const res = await postJson("/chain/qa", { question: "x".repeat(BODY_LIMIT + 1) });
      await expectProblem(res, 413, { code: "fst_err_ctp_body_too_large", detail: /body is too large/ });
    });

    it(`answers 400 to a question over ${QUESTION_MAX} characters`, async () => {
      const res = await postJson("/chain/qa", { question: "laptops ".repeat(QUESTION_MAX / 8 + 1) });
      await expectProblem(res, 400, { detail: /question must NOT have more than 4000 characters/ });
    });

    it("answers 400 to a filter with too many keys", async () => {
      const filter = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
      await expectProblem(await postJson("/chain/qa", { question: "x", filter }), 400, {
        detail: /filter must NOT have more than 20 properties/,
      });
    });

    it("answers 400 to 10,000 combining marks (over the question's length limit)", async () => {
      const res = await postJson("/chain/qa", { question: `a${"\u0301".repeat(10_000)}` });
      await expectProblem(res, 400, { detail: /question must NOT have more than/ });
    });
  });

  hostile("odd but valid Unicode", () => {
    const valid: [string, string][] = [
      ["a lone surrogate (JSON escape)", "How many laptops \\ud800 were shipped?"],
      ["an escaped NUL", "How many laptops\\u0000 were shipped?"],
      ["a right-to-left override", "How many \\u202elaptops\\u202c were shipped?"],
      ["zero-width characters", "How\\u200b many\\u200d laptops\\ufeff were\\u2060 shipped?"],
      ["3,000 combining marks", `laptops${"\\u0301".repeat(3000)}`],
      ["only zero-width spaces", "\\u200b\\u200b\\u200b"],
      ["emoji and astral characters", "How many 💻 laptops 𝕨𝕖𝕣𝕖 shipped?"],
    ];
    for (const [what, question] of valid) {
      it(`answers a question with ${what} (200, never 5xx)`, async () => {
        // Written as raw JSON so that the escapes reach the server as sent.
        const result = await expectAnswered(await post("/chain/qa", `{"question": "${question}"}`));
        expect(typeof result.answer).toBe("string");
      });
    }

    it("answers 400 to a question of only whitespace (incl. U+3000 and U+FEFF)", async () => {
      const res = await post("/chain/qa", '{"question": " \\t\\u3000\\ufeff\\n"}');
      await expectProblem(res, 400, { detail: /question must match pattern/ });
    });
  });

  hostile("uploads that are not documents", () => {
    it("answers 400 to an empty file", async () => {
      const problem = await expectProblem(await upload([{ filename: "empty.pdf", data: "" }]), 400, {
        code: "ingest_failed",
        detail: /"empty\.pdf" is empty: nothing could be ingested\.$/,
      });
      expect(problem.failed).toEqual([expect.objectContaining({ name: "empty.pdf", status: 400 })]);
    });

    it("answers 400 to a file of only whitespace", async () => {
      await expectProblem(await upload([{ filename: "blank.md", data: " \n\t\r\n " }]), 400, {
        code: "ingest_failed",
        detail: /"blank\.md" is empty/,
      });
    });

    it("answers 400 to a truncated PDF (its first 1 KB)", async () => {
      const head = (await fixture("fake-memo.pdf")).subarray(0, 1024);
      await expectProblem(await upload([{ filename: "truncated.pdf", data: head }]), 400, {
        code: "ingest_failed",
        detail: /"truncated\.pdf" (could not be read as a PDF|has no text)/,
      });
    });

    it("answers 400 to a corrupt DOCX (bytes flipped in the middle)", async () => {
      const data = Buffer.from(await fixture("handbook-1p.docx"));
      const middle = data.length >> 1; // inside word/document.xml's compressed data
      for (let i = middle; i < middle + 64; i += 1) data[i] ^= 0xff;
      await expectProblem(await upload([{ filename: "corrupt.docx", data }]), 400, {
        code: "ingest_failed",
        detail: /"corrupt\.docx" .*(corrupt|could not be read as a Word document)/,
      });
    });

    it("answers 400 to a DOCX that is not a ZIP past its signature", async () => {
      const data = Buffer.concat([Buffer.from("PK\u0003\u0004"), Buffer.alloc(2048, 0x41)]);
      await expectProblem(await upload([{ filename: "fake.docx", data }]), 400, {
        code: "ingest_failed",
        detail: /"fake\.docx"/,
      });
    });

    it("answers 415 to an ELF executable named report.pdf", async () => {
      const elf = Buffer.alloc(64 * 1024);
      const handle = await open(process.execPath);
      await handle.read(elf, 0, elf.length, 0);
      await handle.close();
      const problem = await expectProblem(await upload([{ filename: "report.pdf", data: elf }]), 415, {
        code: "unsupported_media_type",
        detail: /"report\.pdf" is an executable \(ELF\)/,
      });
      expect(problem.supported).toContain("pdf");
    });

    it("answers 415 to an image while Textract is off", async () => {
      await expectProblem(
        await upload([{ filename: "paystub.jpg", data: await fixture("paystub.jpg") }]),
        415,
        {
          code: "unsupported_media_type",
          detail: /"paystub\.jpg" is a JPEG image: images are read by Amazon Textract, which is off/,
        },
      );
    });

    it("answers 415 to random binary data", async () => {
      const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
      await expectProblem(await upload([{ filename: "notes.txt", data: noise }]), 415, {
        code: "unsupported_media_type",
        detail: /"notes\.txt" is binary data/,
      });
    });
  });

  let bomb: Buffer;
  let liar: Buffer;
  async function buildBombs() {
    const document = await bombEntry("word/document.xml", 200);
    bomb = docx(document);
    // The same bomb, but its headers claim 1 KB: a loader that trusts the directory alone would inflate it all.
    liar = docx({ ...document, declaredSize: 1024 });
  }

  hostile(
    "DOCX zip bombs",
    () => {
      it("builds bombs that are small and are real DOCX files (mammoth reads a small one)", async () => {
        expect(bomb.length).toBeLessThan(1024 * 1024);
        const small = docx(entry("word/document.xml", `${DOC_HEAD}Hello from a hand-made DOCX${DOC_TAIL}`));
        const { value } = await mammoth.extractRawText({ buffer: small });
        expect(value.trim()).toBe("Hello from a hand-made DOCX");
      });

      it("refuses a DOCX whose document.xml inflates to 200 MB, without inflating it", async () => {
        const { result: res, growth } = await peakRssGrowth(() =>
          upload([{ filename: "bomb.docx", data: bomb }]),
        );
        const problem = await expectProblem(res, 400, {
          code: "ingest_failed",
          detail: /"bomb\.docx": .*too large to read: word\/document\.xml would inflate to 200 MB/,
        });
        expect(problem.failed[0]).toMatchObject({ name: "bomb.docx", status: expect.any(Number) });
        expect(problem.failed[0].status).toBeGreaterThanOrEqual(400);
        expect(problem.failed[0].status).toBeLessThan(500);
        expect(growth).toBeLessThan(150 * 1024 * 1024);
      });

      it("refuses the same bomb when its ZIP headers understate the size", async () => {
        const { result: res, growth } = await peakRssGrowth(() =>
          upload([{ filename: "liar.docx", data: liar }]),
        );
        await expectProblem(res, 400, {
          code: "ingest_failed",
          detail: /"liar\.docx".*corrupt ZIP: word\/document\.xml inflates past the 1024 bytes/,
        });
        expect(growth).toBeLessThan(150 * 1024 * 1024);
      });

      it("refuses a DOCX of more than 10,000 parts before reading them", async () => {
        const empty = entry("", "");
        const parts = Array.from({ length: 10_001 }, (_, i) => ({ ...empty, name: `word/media/p${i}.xml` }));
        const data = zip([entry("[Content_Types].xml", CONTENT_TYPES), entry("_rels/.rels", RELS), ...parts]);
        await expectProblem(await upload([{ filename: "many.docx", data }]), 400, {
          code: "ingest_failed",
          detail: /"many\.docx": .*too large to read: it has 10003 parts, over the limit of 10000/,
        });
      });
    },
    buildBombs,
  );

  hostile("multipart that is wrong", () => {
    it("answers 400 to a file in a field other than files", async () => {
      await expectProblem(await upload([{ field: "upload", filename: "a.md", data: "# A" }]), 400, {
        detail: /Unexpected file field "upload"/,
      });
    });

    it("answers 400 to a plain form field", async () => {
      await expectProblem(await upload([{ field: "files", data: "# not a file" }]), 400, {
        detail: /Unexpected form field "files"/,
      });
    });

    it("answers 400 to a form with no parts", async () => {
      await expectProblem(await upload([]), 400, { detail: /No files were uploaded/ });
    });

    const form = multipart([{ filename: "a.md", data: "# A heading\n\nSome text." }]);
    const long = "b".repeat(300);
    const malformed: [string, string | Buffer, string][] = [
      ["without a boundary", "--x\r\n\r\n", "multipart/form-data"],
      ["with an empty boundary", "--\r\n\r\n", 'multipart/form-data; boundary=""'],
      ["with a 300-character boundary", `--${long}\r\n`, `multipart/form-data; boundary=${long}`],
      ["cut off mid-part", form.body.subarray(0, form.body.length - 40), form.type],
    ];
    for (const [what, body, type] of malformed) {
      it(`answers 400 to multipart ${what}`, async () => {
        await expectProblem(await post("/ingest", body, type), 400, {
          code: "malformed_multipart",
          detail: /multipart\/form-data body is malformed/,
        });
      });
    }

    it(`answers 413 to more than UPLOAD_MAX_FILES (${UPLOAD_MAX_FILES}) files`, async () => {
      const parts = Array.from({ length: UPLOAD_MAX_FILES + 1 }, (_, i) => ({
        filename: `f${i}.md`,
        data: "",
      }));
      await expectProblem(await upload(parts), 413, { code: "fst_files_limit", detail: /files limit/ });
    });

    it(`answers 413 to a file over UPLOAD_MAX_BYTES (${UPLOAD_MAX_BYTES} bytes)`, async () => {
      const big = Buffer.alloc(UPLOAD_MAX_BYTES + 1024, "laptops ");
      await expectProblem(await upload([{ filename: "big.md", data: big }]), 413, {
        code: "fst_req_file_too_large",
        detail: /file too large/,
      });
    });
  });

  hostile("path traversal in file names", () => {
    // Empty files, so that nothing is ingested: the failure report shows the name each upload was given.
    const names: [string, string][] = [
      ["../../etc/passwd", "passwd"],
      ["..\\..\\windows\\win.ini", "win.ini"],
      ["/abs/path/notes.md", "notes.md"],
      ["evil\u0000.md", "evil.md"],
      ["..", "upload-5"],
    ];

    it("keeps only a base name without control characters, and writes nothing outside the data folder", async () => {
      const res = await upload(names.map(([raw]) => ({ filename: raw, data: "" })));
      const problem = await expectProblem(res, 400, {
        code: "ingest_failed",
        detail: /All 5 documents failed/,
      });
      const stored = problem.failed.map((f: { name: string }) => f.name).sort();
      expect(stored).toEqual(names.map(([, safe]) => safe).sort());
      for (const name of stored) {
        expect(name).not.toMatch(/[/\\]/);
        expect(name).not.toContain("\u0000");
        expect(name).not.toBe("..");
      }
      // The data folder's parent holds the data folder and nothing else; nothing under it is named after an upload.
      expect(readdirSync(root)).toEqual(["data"]);
      const written = namesUnder(root);
      for (const [, safe] of names) expect(written).not.toContain(safe);
      expect(written.some((n) => /passwd|win\.ini|etc|windows/i.test(n))).toBe(false);
    });
  });

  hostile("advisor, feedback and reports", () => {
    const chat = (body: unknown) => postJson("/advisor/chat", body);

    it("answers 400 to a chat with a sessionId that is not an id", async () => {
      for (const sessionId of ["../../etc/passwd", "short", "a b c d e f g h", "x".repeat(129), 12345678]) {
        await expectProblem(await chat({ message: "hello", sessionId }), 400, { detail: /sessionId must/ });
      }
    });

    it("answers 400 to an empty or blank message", async () => {
      await expectProblem(await chat({ message: "" }), 400, { detail: /message must NOT have fewer than 1/ });
      await expectProblem(await chat({ message: " \n " }), 400, { detail: /message must match pattern/ });
      await expectProblem(await chat({}), 400, { detail: /required property 'message'/ });
    });

    it("answers 400 to a session id in the path that is not an id", async () => {
      await expectProblem(await fetch(`${service.url}/advisor/sessions/..%2F..%2Fetc`), 400, {
        detail: /params\/id must match pattern/,
      });
    });

    it("answers 400 to feedback with a runId that is not a UUID, or a score out of range", async () => {
      await expectProblem(await postJson("/feedback", { runId: "not-a-uuid", score: 1 }), 400, {
        detail: /runId must match pattern/,
      });
      await expectProblem(await postJson("/feedback", { runId: crypto.randomUUID(), score: 2 }), 400, {
        detail: /score must be <= 1/,
      });
      await expectProblem(await postJson("/feedback", { runId: crypto.randomUUID(), score: "1" }), 400, {
        detail: /score must be number/,
      });
    });

    it("answers 404 to feedback for a run that does not exist", async () => {
      await expectProblem(await postJson("/feedback", { runId: "-".repeat(36), score: 1 }), 404, {
        detail: /No run/,
      });
    });

    it("answers 404 to a report path that tries to leave its folder", async () => {
      for (const id of ["..%2Fx", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..%5C..%5Cwindows"]) {
        await expectProblem(await fetch(`${service.url}/reports/${id}`), 404, { detail: /No report/ });
      }
    });

    it("answers 400 to a report id over 64 characters", async () => {
      await expectProblem(await fetch(`${service.url}/reports/${"a".repeat(65)}`), 400, {
        detail: /params\/id must NOT have more than 64/,
      });
    });
  });

  hostile("unknown routes and wrong methods", () => {
    it("answers 404 to an unknown route", async () => {
      await expectProblem(await fetch(`${service.url}/nowhere`), 404, {
        code: "not_found",
        detail: /GET \/nowhere/,
      });
      await expectProblem(await fetch(`${service.url}/../../etc/passwd`), 404, { detail: /No route/ });
      await expectProblem(await fetch(`${service.url}/%2e%2e/%2e%2e/etc/passwd`), 404, {
        detail: /No route/,
      });
    });

    it("answers 404 to an unknown chain", async () => {
      await expectProblem(await postJson("/chain/nope", FIXED), 404, { detail: /nope/ });
    });

    it("answers 404 (Fastify's answer to a method a route lacks) as problem+json", async () => {
      await expectProblem(await fetch(`${service.url}/chain/qa`), 404, { detail: /GET \/chain\/qa/ });
      await expectProblem(await fetch(`${service.url}/ingest`, { method: "PUT", body: "x" }), 404, {
        detail: /PUT \/ingest/,
      });
      await expectProblem(await fetch(`${service.url}/healthz`, { method: "DELETE" }), 404, {
        detail: /DELETE \/healthz/,
      });
    });
  });

  describe("afterwards", () => {
    it("is alive, ready, and gives the fixed answer it gave at the start", async () => {
      expect(await json(await fetch(`${service.url}/healthz`))).toEqual({ status: "ok" });
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      expect(await snapshot()).toEqual(baseline);
    });

    // Last, as it adds a document: a name like ../../etc/passwd that is accepted is kept as its base name only.
    it("stores an accepted upload named ../../etc/passwd as passwd, inside the data folder", async () => {
      const res = await upload([
        { filename: "../../etc/passwd", data: "The zebra allowance for 2031 is forty-two tokens." },
      ]);
      expect(await json(res)).toMatchObject({ added: 1, failed: [] });
      const result = await json(await postJson("/chain/qa", { question: "What is the zebra allowance?" }));
      expect(result.sources[0]).toMatchObject({
        source: "upload:passwd",
        metadata: expect.objectContaining({ name: "passwd" }),
      });
      expect(readdirSync(root)).toEqual(["data"]);
      expect(namesUnder(root)).not.toContain("passwd");
    });
  });
});
