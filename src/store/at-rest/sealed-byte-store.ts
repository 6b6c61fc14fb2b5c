// A LangChain byte store whose values are sealed at rest: the ledger and the uploads stash keep their values in
// files of their own (LocalFileStore), which DataFiles cannot reach, so each value is sealed on its way in.
import { BaseStore } from "@langchain/core/stores";
import type { DataFiles } from "./data-files.ts";

export interface SealedByteStoreOptions {
  /** Where the sealed values are kept; its keys are this store's, as they are (they name files, not content). */
  inner: BaseStore<string, Uint8Array>;
  /** Seals and opens each value. */
  files: DataFiles;
}

/**
 * @example
 * const ledger = sealedByteStore(await LocalFileStore.fromPath(path.join(dir, "ledger")), files);
 * await ledger.mset([["doc-1", new TextEncoder().encode("…")]]); // on disk: a sealed value
 */
export class SealedByteStore extends BaseStore<string, Uint8Array> {
  lc_namespace = ["counsel", "store", "sealed_byte_store"];

  private readonly inner: BaseStore<string, Uint8Array>;
  private readonly files: DataFiles;

  constructor(options: SealedByteStoreOptions) {
    super();
    this.inner = options.inner;
    this.files = options.files;
  }

  async mget(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    const values = await this.inner.mget(keys);
    return values.map((value) => (value === undefined ? undefined : this.files.openBytes(value)));
  }

  async mset(keyValuePairs: [string, Uint8Array][]): Promise<void> {
    await this.inner.mset(keyValuePairs.map(([key, value]) => [key, this.files.sealBytes(value)]));
  }

  mdelete(keys: string[]): Promise<void> {
    return this.inner.mdelete(keys);
  }

  yieldKeys(prefix?: string): AsyncGenerator<string> {
    return this.inner.yieldKeys(prefix);
  }
}

/** `inner` with its values sealed by `files`; `inner` itself when `files` leave data plain. */
export function sealedByteStore(
  inner: BaseStore<string, Uint8Array>,
  files: DataFiles,
): BaseStore<string, Uint8Array> {
  return files.sealed ? new SealedByteStore({ inner, files }) : inner;
}
