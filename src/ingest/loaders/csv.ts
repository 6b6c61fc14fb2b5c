// CSV and TSV through LangChain's CSVLoader: each row becomes "column: value" lines, so a value is never
// separated from the name of its column.
import { CSVLoader } from "@langchain/community/document_loaders/fs/csv";
import { Document } from "@langchain/core/documents";

export interface CsvOptions {
  rowsAsDocuments: boolean;
  /** One character; sniffed from the header line when omitted. */
  separator?: string;
}

/** One document per row (`metadata.row`, 1-based, not counting the header), or the whole file as one. */
export async function loadCsv(text: string, options: CsvOptions): Promise<Document[]> {
  const separator = options.separator ?? sniffSeparator(text);
  const rows = await new CSVLoader(new Blob([text]), { separator }).load();
  if (options.rowsAsDocuments) {
    return rows.map((row, i) => new Document({ pageContent: row.pageContent, metadata: { row: i + 1 } }));
  }
  return rows.length === 0
    ? []
    : [new Document({ pageContent: rows.map((r) => r.pageContent).join("\n\n") })];
}

/** The most frequent of comma, semicolon and tab in the header line; comma on a tie. */
function sniffSeparator(text: string): string {
  const header = text.trimStart().split(/\r?\n/, 1)[0] ?? "";
  let best = ",";
  let bestCount = 0;
  for (const candidate of [",", ";", "\t"]) {
    const count = header.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}
