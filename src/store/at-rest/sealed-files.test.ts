import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FRAME, SealedFileError, sealedFiles } from "./sealed-files.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "counsel-sealed-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const files = sealedFiles(randomBytes(32));
const bytesOf = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251));

describe("sealed files", () => {
  it.each([0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 17])(
    "gives back the %i bytes written, with none of them in the clear on disk",
    async (n) => {
      const file = path.join(dir, "f");
      const content = Buffer.concat([Buffer.from("secret chunk text "), bytesOf(n)]);
      await files.writeFileAtomic(file, content);
      expect(await files.readFile(file)).toEqual(content);
      expect((await readFile(file)).includes("secret chunk text")).toBe(false);
    },
  );

  it("reads any range at random, asynchronously and at once", async () => {
    const file = path.join(dir, "f");
    const content = bytesOf(5 * FRAME + 123);
    await files.writeFileAtomic(file, [content.subarray(0, 1000), content.subarray(1000)]);
    const reader = await files.openReader(file);
    expect(reader.size).toBe(content.length);
    for (const [at, n] of [
      [0, 10],
      [FRAME - 5, 10],
      [2 * FRAME + 1, 2 * FRAME],
      [content.length - 7, 7],
      [17, 17],
    ]) {
      const out = Buffer.alloc(n);
      await reader.read(out, at);
      expect(out).toEqual(content.subarray(at, at + n));
      const again = Buffer.alloc(n);
      reader.readSync(again, at);
      expect(again).toEqual(out);
    }
    await expect(reader.read(Buffer.alloc(8), content.length - 4)).rejects.toThrow(/end of file/);
    await reader.close();
  });

  it("lets a writer patch its first bytes after writing the rest, as the base file's writer does", async () => {
    const file = path.join(dir, "f");
    const content = bytesOf(2 * FRAME + 5);
    await files.writeFileAtomic(file, async (out) => {
      await out.write(Buffer.alloc(16));
      await out.write(content.subarray(16));
      await out.write(content.subarray(0, 16), 0);
    });
    expect(await files.readFile(file)).toEqual(content);
  });

  it("refuses a file cut short, a flipped byte, frames swapped, and another data key", async () => {
    const file = path.join(dir, "f");
    const content = bytesOf(3 * FRAME);
    await files.writeFileAtomic(file, content);
    const sealed = await readFile(file);

    await truncate(file, sealed.length - (FRAME + 32));
    await expect(files.readFile(file)).rejects.toThrow(SealedFileError);

    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 100] ^= 1;
    await writeFile(file, flipped);
    await expect(files.readFile(file)).rejects.toThrow(/fails authentication/);

    const swapped = Buffer.from(sealed);
    const frame = FRAME + 32;
    sealed.copy(swapped, 32, 32 + frame, 32 + 2 * frame);
    sealed.copy(swapped, 32 + frame, 32, 32 + frame);
    await writeFile(file, swapped);
    await expect(files.readFile(file)).rejects.toThrow(/fails authentication/);

    await writeFile(file, sealed);
    await expect(sealedFiles(randomBytes(32)).readFile(file)).rejects.toThrow(SealedFileError);
    await writeFile(file, "plain text");
    await expect(files.readFile(file)).rejects.toThrow(/not sealed/);
  });

  it("appends whole records, cuts off a torn last one, and truncates back to where an append ended", async () => {
    const file = path.join(dir, "log");
    await files.writeFileAtomic(file, "head:", { appendable: true });
    const appender = await files.openAppender(file);
    const big = bytesOf(FRAME + 10);
    await appender.append(Buffer.from("one;"));
    await appender.append(big);
    await appender.sync();
    await appender.close();
    expect(await files.readFile(file)).toEqual(Buffer.concat([Buffer.from("head:one;"), big]));

    // A crash mid-append: part of a frame, or zeros, after the good ones.
    const physical = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(40));
    expect((await files.readFile(file)).length).toBe(9 + big.length);
    const next = await files.openAppender(file);
    expect((await stat(file)).size).toBe(physical);
    await next.append(Buffer.from("two;"));
    await next.close();
    expect((await files.readFile(file)).subarray(-4).toString()).toBe("two;");

    await files.truncate(file, 9);
    expect((await files.readFile(file)).toString()).toBe("head:one;");
    // Inside an append (a log sealed from a plain one keeps its records across frames): the frame is cut too.
    await files.truncate(file, 7);
    expect((await files.readFile(file)).toString()).toBe("head:on");
    const after = await files.openAppender(file);
    await after.append(Buffer.from("e;"));
    await after.close();
    expect((await files.readFile(file)).toString()).toBe("head:one;");
    await expect(files.truncate(file, 100)).rejects.toThrow(/fewer than 100 bytes/);
  });

  it("creates a missing file to append to", async () => {
    const file = path.join(dir, "new.log");
    const appender = await files.openAppender(file);
    await appender.append(Buffer.from("first"));
    await appender.close();
    expect((await files.readFile(file)).toString()).toBe("first");
  });

  it("seals values in memory, opened only by the same key", () => {
    const value = bytesOf(FRAME * 2 + 3);
    const sealed = files.sealBytes(value);
    expect(files.openBytes(sealed)).toEqual(value);
    expect(() => sealedFiles(randomBytes(32)).openBytes(sealed)).toThrow(SealedFileError);
    expect(files.openBytes(files.sealBytes(Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });
});
