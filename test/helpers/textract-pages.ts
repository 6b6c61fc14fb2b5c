// Textract-shaped pages for tests: PAGE, LINE and WORD blocks with the geometry DetectDocumentText returns (page
// fractions; a LINE's box around its WORDs), for page shapes that no recorded response has: columns, running
// heads, page numbers, headings in a larger font.
import type { Block } from "@aws-sdk/client-textract";

/** Body text of about 10 pt on a Letter page: box height, line pitch and mean character width, as fractions of
 *  the page's height and width. */
export const BODY = { height: 0.011, pitch: 0.016, charWidth: 0.0079 };

export interface LinePlace {
  left: number;
  top: number;
  /** Box height; BODY.height unless set. Characters widen with it. */
  height?: number;
}

export class TextractPageBuilder {
  private readonly blocks: Block[] = [];
  private readonly children: string[] = [];

  constructor(private readonly page = 1) {}

  /** One LINE of `text` with its WORDs, laid left to right with a space's width between them. */
  line(text: string, place: LinePlace): this {
    const height = place.height ?? BODY.height;
    const charWidth = BODY.charWidth * (height / BODY.height);
    const lineId = `p${this.page}-line${this.children.length}`;
    const wordIds: string[] = [];
    let left = place.left;
    const words: Block[] = [];
    for (const word of text.split(" ")) {
      const wordId = `${lineId}-word${words.length}`;
      wordIds.push(wordId);
      words.push(
        this.block("WORD", wordId, word, { left, top: place.top, width: word.length * charWidth, height }),
      );
      left += (word.length + 1) * charWidth;
    }
    const width = text.length * charWidth;
    this.blocks.push(
      this.block("LINE", lineId, text, { left: place.left, top: place.top, width, height }, wordIds),
    );
    this.blocks.push(...words);
    this.children.push(lineId);
    return this;
  }

  /**
   * `text` wrapped into lines at most `width` wide, one BODY.pitch apart (scaled with `height`). Returns the
   * lines as laid, and the top of the next line.
   */
  paragraph(text: string, place: LinePlace & { width: number }): { lines: string[]; next: number } {
    const scale = (place.height ?? BODY.height) / BODY.height;
    const perLine = Math.floor(place.width / (BODY.charWidth * scale));
    const lines: string[] = [];
    for (const word of text.split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && lines[last].length + 1 + word.length <= perLine) lines[last] += ` ${word}`;
      else lines.push(word);
    }
    let top = place.top;
    for (const line of lines) {
      this.line(line, { ...place, top });
      top += BODY.pitch * scale;
    }
    return { lines, next: top };
  }

  /** The page's blocks, its PAGE block first. */
  build(): Block[] {
    const page: Block = {
      BlockType: "PAGE",
      Id: `p${this.page}-page`,
      Page: this.page,
      Geometry: { BoundingBox: { Left: 0, Top: 0, Width: 1, Height: 1 } },
      Relationships: [{ Type: "CHILD", Ids: [...this.children] }],
    };
    return [page, ...this.blocks];
  }

  private block(
    type: "LINE" | "WORD",
    id: string,
    text: string,
    box: { left: number; top: number; width: number; height: number },
    children?: string[],
  ): Block {
    return {
      BlockType: type,
      Id: id,
      Page: this.page,
      Text: text,
      Confidence: 99,
      Geometry: { BoundingBox: { Left: box.left, Top: box.top, Width: box.width, Height: box.height } },
      ...(children ? { Relationships: [{ Type: "CHILD", Ids: children }] } : {}),
    };
  }
}
