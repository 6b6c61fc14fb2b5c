// DOCX → text. LangChain's DocxLoader uses mammoth's extractRawText, which turns every table cell into its own
// paragraph, so a row's cells end up far apart and unrelated ("Header Col 1", "Header Col 2", "Lorem ipsum"...).
// The default `markdown` format converts with mammoth to HTML instead and renders it like any HTML document:
// headings, lists and table rows ("| Lorem ipsum | A link example |") survive.
import { BufferLoader } from "@langchain/classic/document_loaders/fs/buffer";
import { DocxLoader } from "@langchain/community/document_loaders/fs/docx";
import { Document } from "@langchain/core/documents";
import mammoth from "mammoth";
import { htmlToText } from "./html.ts";

export interface DocxOptions {
  format: "markdown" | "raw";
}

/** One document per DOCX file. */
export function docxLoader(blob: Blob, options: DocxOptions): BufferLoader {
  return options.format === "raw" ? new DocxLoader(blob) : new DocxMarkdownLoader(blob);
}

export class DocxMarkdownLoader extends BufferLoader {
  protected async parse(raw: Buffer, metadata: Document["metadata"]): Promise<Document[]> {
    const { value } = await mammoth.convertToHtml(
      { buffer: raw },
      {
        // Images are not text: skip mammoth's base64 data URIs, which can be megabytes each.
        convertImage: mammoth.images.imgElement(async () => ({ src: "" })),
        // A DOCX can link images by path or URL; never read local files or the network for it.
        externalFileAccess: false,
      },
    );
    const { text } = htmlToText(value, { exclude: [] });
    return text === "" ? [] : [new Document({ pageContent: text, metadata })];
  }
}
