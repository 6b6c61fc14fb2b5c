// Seals a DATA_DIR written before DATA_KMS_KEY_ID was set: each store's file replaced by its sealed copy, one
// file at a time (atomically, so a crash leaves each either plain or sealed; the next start goes on), and a
// marker written once every file is sealed. Runs before any store opens a file.
import { createReadStream } from "node:fs";
import { open, readdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../atomic-file.ts";
import type { DataFiles } from "./data-files.ts";
import { DATA_KEY_FILE } from "./data-key.ts";
import { isSealed } from "./sealed-files.ts";

/** Written once DATA_DIR holds no plain store file: later starts do not walk it again. */
export const SEALED_MARKER = "sealed.json";

/**
 * Left plain at DATA_DIR's top: the wrapped key and the marker (read before any key), and the API keys' file
 * (SHA-256 hashes only, edited by `counsel keys` without KMS).
 */
const LEFT_PLAIN = new Set([DATA_KEY_FILE, SEALED_MARKER, "api-keys.json"]);

export interface SealedDataDir {
  /** Files sealed now (0 when DATA_DIR was sealed before, or empty). */
  sealed: number;
  /** Saved graphs deleted: usearch writes them in the clear, so a sealed store builds its graph again. */
  removed: number;
}

/** Seals every plain store file under `dataDir` with `files`; does nothing once the marker is there. */
export async function sealDataDir(dataDir: string, files: DataFiles): Promise<SealedDataDir> {
  const done = { sealed: 0, removed: 0 };
  const marker = path.join(dataDir, SEALED_MARKER);
  if (
    await readFile(marker).then(
      () => true,
      () => false,
    )
  )
    return done;
  for (const file of await filesUnder(dataDir)) {
    const name = path.basename(file);
    if (path.dirname(file) === dataDir && LEFT_PLAIN.has(name)) continue;
    if (name.includes(".hnsw.") || name.endsWith(".graph") || /^\..*\.tmp$/.test(name)) {
      // A graph (or a description naming one), or what an interrupted write left.
      await unlink(file);
      if (!name.endsWith(".tmp")) done.removed += 1;
      continue;
    }
    if (await startsSealed(file)) continue;
    // A change log or a journal is appended to: sealed in the layout appends need.
    await files.writeFileAtomic(file, createReadStream(file), { appendable: name.endsWith(".log") });
    done.sealed += 1;
  }
  await writeFileAtomic(
    marker,
    `${JSON.stringify({ format: "counsel-sealed-data-dir", version: 1, sealedAt: new Date().toISOString() })}\n`,
  );
  return done;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    },
  );
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

async function startsSealed(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return isSealed(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
