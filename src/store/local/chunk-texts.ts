// The chunks' texts, slot by slot: in memory for the chunks written since the last base file, and read back from
// that file's chunk records (vector-file.ts) for the rest. The base holds every chunk's text anyway, so keeping
// them in the heap as well would make the process grow with the corpus (0.7 KB a chunk of SciFact: most of what
// the store kept in the heap); a search reads the few it returns, by offset, from the page cache.

import type { DataFiles } from "../at-rest/data-files.ts";
import { BaseReader } from "./base-reader.ts";
import { parseRecord, type StoredRecords, VectorStoreFileError } from "./vector-file.ts";

/** Texts as they were when a save began: each slot's string, or undefined where `stored` holds its record. */
export interface TextsSnapshot {
  texts: (string | undefined)[];
  stored?: StoredRecords;
  /** Lets go of the base file the snapshot reads from. */
  release(): void;
}

export class ChunkTexts {
  /** A slot's text while it is not in the base (written since, or the base is of format 1, without records). */
  private inMemory: (string | undefined)[] = [];
  /** Where the base holds each slot's record: its JSON's first byte (meaningful while the text is not in memory). */
  private at = new Float64Array(0);
  private lengths = new Uint32Array(0);
  private base?: BaseReader;
  /** Characters of the texts held in memory. */
  private heldChars = 0;

  get size(): number {
    return this.inMemory.length;
  }

  /** Slots whose text is held in memory: the chunks written since the last base. */
  get heldInMemory(): number {
    let held = 0;
    for (const text of this.inMemory) if (text !== undefined) held += 1;
    return held;
  }

  /** Characters of the texts held in memory (what a new base would let go of). */
  get heldCharacters(): number {
    return this.heldChars;
  }

  /** Appends a slot holding `text`. */
  push(text: string): void {
    const slot = this.inMemory.length;
    this.ensureCapacity(slot + 1);
    this.inMemory.push(text);
    this.heldChars += text.length;
  }

  set(slot: number, text: string): void {
    this.heldChars += text.length - (this.inMemory[slot]?.length ?? 0);
    this.inMemory[slot] = text;
  }

  /** Removes slot `slot`, filling its hole with the last slot (as a delete does with every slot's data). */
  remove(slot: number): void {
    this.heldChars -= this.inMemory[slot]?.length ?? 0;
    const last = this.inMemory.length - 1;
    if (slot !== last) {
      this.inMemory[slot] = this.inMemory[last];
      this.at[slot] = this.at[last];
      this.lengths[slot] = this.lengths[last];
    }
    this.inMemory.pop();
  }

  clear(): void {
    this.heldChars = 0;
    this.inMemory = [];
    this.at = new Float64Array(0);
    this.lengths = new Uint32Array(0);
  }

  /** The texts of `slots` (chunks `ids`, which their records must name), in memory or read from the base. */
  async read(slots: readonly number[], ids: readonly string[]): Promise<string[]> {
    const out = new Array<string>(slots.length);
    const base = this.base;
    const reads: Promise<void>[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const text = this.inMemory[slot];
      if (text !== undefined) out[i] = text;
      else {
        if (!base) throw new Error(`no text for slot ${slot}`);
        const bytes = Buffer.alloc(this.lengths[slot]);
        const position = this.at[slot];
        reads.push(
          base.read(bytes, position).then(() => {
            out[i] = textOf(base.file, bytes, ids[i]);
          }),
        );
      }
    }
    await Promise.all(reads);
    return out;
  }

  /**
   * Slot `slot`'s text at once: a synchronous read when it is in the base. For what cannot wait (a predicate
   * filter, which sees every chunk it is asked about): blocks the event loop for the read.
   */
  readSync(slot: number, id: string): string {
    const text = this.inMemory[slot];
    if (text !== undefined) return text;
    if (!this.base) throw new Error(`no text for slot ${slot}`);
    const bytes = Buffer.alloc(this.lengths[slot]);
    this.base.readSync(bytes, this.at[slot]);
    return textOf(this.base.file, bytes, id);
  }

  /** The texts as they are now, readable while the store keeps changing, until released. */
  snapshot(count: number): TextsSnapshot {
    const base = this.base;
    base?.retain();
    const snapshot: TextsSnapshot = { texts: this.inMemory.slice(0, count), release: () => base?.release() };
    if (base) {
      snapshot.stored = {
        at: this.at.slice(0, count),
        lengths: this.lengths.slice(0, count),
        read: (into, position) => base.read(into, position),
      };
    }
    return snapshot;
  }

  /**
   * Reads texts from the base file at `file` from now on, and lets go of their copies in memory: `records` says
   * where its chunk records are, file slot by file slot, and `slotNow(fileSlot)` which slot holds that chunk
   * now, unchanged (undefined once it was replaced or deleted: what was written since stays in memory). Used when
   * a base was just written, and when one was opened.
   */
  async adopt(
    file: string,
    records: Pick<StoredRecords, "at" | "lengths">,
    slotNow: (fileSlot: number) => number | undefined,
    files: DataFiles,
  ): Promise<void> {
    const reader = await BaseReader.open(file, files);
    // From here on, synchronous: no change can come between the check and the switch.
    for (let fileSlot = 0; fileSlot < records.at.length; fileSlot++) {
      const slot = slotNow(fileSlot);
      if (slot === undefined) continue;
      this.heldChars -= this.inMemory[slot]?.length ?? 0;
      this.inMemory[slot] = undefined;
      this.at[slot] = records.at[fileSlot];
      this.lengths[slot] = records.lengths[fileSlot];
    }
    // Every text that was read from the old base is now read from this one (the file holds every chunk there
    // was when its save began; those changed since are in memory).
    this.base?.release();
    this.base = reader;
  }

  /** Lets go of the base file (the store is closed). */
  close(): void {
    this.base?.release();
    this.base = undefined;
  }

  private ensureCapacity(slots: number): void {
    if (slots <= this.at.length) return;
    const capacity = Math.max(slots, Math.ceil(this.at.length * 1.5), 1024);
    const at = new Float64Array(capacity);
    at.set(this.at);
    const lengths = new Uint32Array(capacity);
    lengths.set(this.lengths);
    this.at = at;
    this.lengths = lengths;
  }
}

/** The text of a chunk record read back, which must be chunk `id`'s. */
function textOf(file: string, bytes: Buffer, id: string): string {
  const record = parseRecord(bytes);
  if (!record || record[0] !== id) {
    throw new VectorStoreFileError(
      "store_corrupt",
      `The vector store file ${file} does not hold chunk ${id} where it said it did. Delete the data folder and ` +
        "ingest the documents again to rebuild it.",
    );
  }
  return record[1];
}
