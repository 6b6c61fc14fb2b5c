// A small real corpus for chain and tool tests: the memo whole, the handbook by paragraph, the Bitcoin
// whitepaper by page (text taken from the fixtures).
import { readFileSync } from "node:fs";
import path from "node:path";
import { Document } from "@langchain/core/documents";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
export const fixtureText = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");

export function corpus(): Document[] {
  const docs: Document[] = [
    new Document({
      pageContent: fixtureText("fake-memo.txt"),
      metadata: { source: "fake-memo.pdf", page: 1 },
      id: "memo-1",
    }),
  ];
  fixtureText("handbook-1p.txt")
    .split(/\n\s*\n/)
    .filter((p) => p.trim().length > 80)
    .forEach((p, i) => {
      docs.push(
        new Document({
          pageContent: p.trim(),
          metadata: { source: "handbook-1p.docx" },
          id: `handbook-${i}`,
        }),
      );
    });
  fixtureText("bitcoin.txt")
    .split(/\n-- \d+ of \d+ --\n/)
    .filter((p) => p.trim())
    .forEach((p, i) => {
      docs.push(
        new Document({
          pageContent: p,
          metadata: { source: "bitcoin.pdf", loc: { pageNumber: i + 1 } },
          id: `bitcoin-${i + 1}`,
        }),
      );
    });
  return docs;
}
