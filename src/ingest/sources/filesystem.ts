// The filesystem source: a file, a folder (recursively) or a glob becomes SourceBlobs whose `source` is the
// absolute path, so re-ingesting the same file finds (and skips or replaces) its earlier chunks.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { BadRequestError } from "../../errors.ts";
import type { SourceBlob } from "./blob.ts";

/**
 * Extensions picked up when walking a folder: those the loaders read (loaders/sniff.ts). A folder holds
 * all sorts of files, so it is filtered; a file or a glob given explicitly is taken as is and sniffed.
 */
export const FOLDER_EXTENSIONS: readonly string[] = [
  "pdf",
  "docx",
  "html",
  "htm",
  "md",
  "markdown",
  "txt",
  "csv",
  "tsv",
  "json",
];

export interface FilesystemSourceOptions {
  /** Where relative paths and globs start; the working directory by default. */
  cwd?: string;
  /** Extensions (without the dot) taken from folders; FOLDER_EXTENSIONS by default. */
  extensions?: readonly string[];
}

// Dependency folders hold no documents; dotfiles and dot-folders (.git) are skipped by `dot: false`.
const IGNORE = ["**/node_modules/**"];

/** The absolute paths a pattern stands for, sorted: the files `filesystemSource` would read. */
export async function listFilesystemSources(
  pattern: string,
  options: FilesystemSourceOptions = {},
): Promise<string[]> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const absolute = path.resolve(cwd, pattern);
  const info = await stat(absolute).catch(() => undefined);

  if (info?.isFile()) return [absolute];
  if (info?.isDirectory()) {
    const extensions = (options.extensions ?? FOLDER_EXTENSIONS).map((e) => e.replace(/^\./, ""));
    const files = await glob(
      extensions.map((e) => `**/*.${e}`),
      {
        cwd: absolute,
        absolute: true,
        onlyFiles: true,
        dot: false,
        ignore: IGNORE,
        caseSensitiveMatch: false,
      },
    );
    return sorted(files);
  }
  if (!isDynamicPattern(pattern)) throw new BadRequestError(`No such file or folder: ${absolute}`);
  // Glob from the pattern's static folder, so that IGNORE (relative to cwd) applies to absolute patterns too.
  const parts = absolute.split(path.sep);
  const firstDynamic = parts.findIndex((part) => isDynamicPattern(part));
  const base = parts.slice(0, firstDynamic).join(path.sep) || path.sep;
  const rest = parts.slice(firstDynamic).join("/");
  return sorted(await glob(rest, { cwd: base, absolute: true, onlyFiles: true, dot: false, ignore: IGNORE }));
}

/**
 * Yields one SourceBlob per file under `pattern` (a file, a folder or a glob), reading files one at a time.
 * `name` is the file name alone: it is stamped on every chunk, so it must not depend on how the file was
 * reached (`ingest docs` and `ingest docs/policies` must give identical chunks, or re-runs re-embed them).
 */
export async function* filesystemSource(
  pattern: string,
  options: FilesystemSourceOptions = {},
): AsyncGenerator<SourceBlob> {
  for (const file of await listFilesystemSources(pattern, options)) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      // Deleted between listing and reading: it is gone, which a --cleanup run handles like any other gone file.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new BadRequestError(`Cannot read ${file}: ${(error as Error).message}`);
    }
    yield { name: path.basename(file), source: file, data };
  }
}

/** Absolute and sorted, so that runs are reproducible. */
function sorted(files: string[]): string[] {
  return files.map((f) => path.resolve(f)).sort();
}
