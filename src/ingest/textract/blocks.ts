// Looking up Textract Blocks: by id, by relationship, by page, with their boxes and word text. Textract answers
// with a flat list whose blocks point at each other by id; everything else in this folder reads it through here.
import type { Block, RelationshipType } from "@aws-sdk/client-textract";

/** A block's bounding box as edges, in page fractions (0..1), which is what reading order compares. */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export class BlockIndex {
  private readonly byId = new Map<string, Block>();

  constructor(readonly blocks: readonly Block[]) {
    for (const block of blocks) if (block.Id) this.byId.set(block.Id, block);
  }

  get(id: string): Block | undefined {
    return this.byId.get(id);
  }

  /** The blocks a relationship of `block` points at, in Textract's order. Ids missing from the response (a
   *  truncated or hand-trimmed result) are skipped rather than failing the page. */
  related(block: Block, type: RelationshipType = "CHILD"): Block[] {
    const found: Block[] = [];
    for (const relationship of block.Relationships ?? []) {
      if (relationship.Type !== type) continue;
      for (const id of relationship.Ids ?? []) {
        const child = this.byId.get(id);
        if (child) found.push(child);
      }
    }
    return found;
  }

  /** The WORD and SELECTION_ELEMENT children of a LINE, CELL, KEY_VALUE_SET, TABLE_TITLE or TABLE_FOOTER. */
  words(block: Block): Block[] {
    return this.related(block).filter((b) => b.BlockType === "WORD" || b.BlockType === "SELECTION_ELEMENT");
  }
}

/** Sync responses leave `Page` out: they are always one page. */
export function pageOf(block: Block): number {
  return block.Page ?? 1;
}

export function boxOf(block: Block): Box {
  const b = block.Geometry?.BoundingBox;
  const left = b?.Left ?? 0;
  const top = b?.Top ?? 0;
  return { left, top, right: left + (b?.Width ?? 0), bottom: top + (b?.Height ?? 0) };
}

export function unionBox(boxes: readonly Box[]): Box {
  return {
    left: Math.min(...boxes.map((b) => b.left)),
    top: Math.min(...boxes.map((b) => b.top)),
    right: Math.max(...boxes.map((b) => b.right)),
    bottom: Math.max(...boxes.map((b) => b.bottom)),
  };
}

/** A word's text; a checkbox as "[x]" or "[ ]", the way Markdown task lists write it. */
export function wordText(block: Block): string {
  if (block.BlockType === "SELECTION_ELEMENT") return block.SelectionStatus === "SELECTED" ? "[x]" : "[ ]";
  return block.Text ?? "";
}

export function joinWords(words: readonly Block[]): string {
  return words
    .map(wordText)
    .filter((t) => t !== "")
    .join(" ");
}

/** A table or a form field: something printed as one unit, wherever its first word turns up in reading order. */
export interface Structure {
  kind: "table" | "field";
  /** The WORD and SELECTION_ELEMENT blocks it prints: no other part of the page prints them again. */
  words: Block[];
  box: Box;
  /** A Markdown table block, or one `key: value` line. */
  markdown: string;
}
