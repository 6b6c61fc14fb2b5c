// Replaces a file so that a crash at any moment leaves either the old contents or the new, never a torn mix:
// write a temporary file beside it, fsync it, rename it over the target, then fsync the folder so that the
// rename itself is durable.
import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/** Where a writer function puts a file's bytes: in order, or (`position`) back over what it wrote first. */
export interface FileWriter {
  write(bytes: Uint8Array, position?: number): Promise<void>;
}

/**
 * What a file is written from: whole, a piece at a time (an iterable is written as it goes, each piece before the
 * next is asked for), or a function that writes it itself (and may go back to patch what it wrote first).
 */
export type FileContents =
  | Buffer
  | string
  | Iterable<Uint8Array>
  | AsyncIterable<Uint8Array>
  | ((out: FileWriter) => Promise<void>);

/** Replaces `file` with `data`; `mode` for a new file (0o644 by default). */
export async function writeFileAtomic(file: string, data: FileContents, mode = 0o644): Promise<void> {
  await writeFileAtomicWith(
    file,
    async (handle) => {
      if (typeof data === "function") await data(handleWriter(handle));
      else await writeFile(handle, data);
    },
    mode,
  );
}

/** The same, the temporary file's handle written by `write`: for a format of its own (sealed-files.ts). */
export async function writeFileAtomicWith(
  file: string,
  write: (handle: FileHandle) => Promise<void>,
  mode = 0o644,
): Promise<void> {
  const dir = path.dirname(file);
  // Same folder, so that rename stays on one file system (and is atomic); unique per writer.
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "w", mode);
    try {
      await write(handle);
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

/** A file handle as a FileWriter: written in order from where it is, or at `position`. */
export function handleWriter(handle: FileHandle): FileWriter {
  return {
    async write(bytes, position) {
      if (position === undefined) await handle.write(bytes);
      else await handle.write(bytes, 0, bytes.length, position);
    },
  };
}

/** Makes a rename or a link in `dir` durable: fsyncs the folder, where the platform can. */
export async function syncDir(dir: string): Promise<void> {
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
