// Replaces a file so that a crash at any moment leaves either the old contents or the new, never a torn mix:
// write a temporary file beside it, fsync it, rename it over the target, then fsync the folder so that the
// rename itself is durable.
import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * `data` may come a piece at a time (an iterable is written as it goes, each piece before the next is asked for),
 * or be a function that writes the temporary file's handle itself.
 */
export async function writeFileAtomic(
  file: string,
  data:
    | Buffer
    | string
    | Iterable<Uint8Array>
    | AsyncIterable<Uint8Array>
    | ((handle: FileHandle) => Promise<void>),
): Promise<void> {
  const dir = path.dirname(file);
  // Same folder, so that rename stays on one file system (and is atomic); unique per writer.
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "w", 0o644);
    try {
      // A writer function writes the file itself (and may go back to patch what it wrote first).
      if (typeof data === "function") await data(handle);
      else await writeFile(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or fsync a folder; the rename is done regardless.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}
