// The caller's tenant's documents as MCP resources, `counsel://documents/{source}` (the source URL-encoded as
// one segment): resources/list pages through the catalog with MCP's cursor, resources/read gives a document's
// text, its chunks joined in order. Both need the `query` scope, as GET /documents does; a refusal, an unknown
// document or a bad cursor is a JSON-RPC error with the problem's status and code as its data.
import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  ErrorCode,
  ListResourcesRequestSchema,
  type ListResourcesResult,
  type ReadResourceResult,
  type Resource,
} from "@modelcontextprotocol/sdk/types.js";
import type { DocumentSummary } from "../../../contracts/documents.ts";
import { CounselError, NotFoundError } from "../../../errors.ts";
import { toProblem } from "../../plugins/errors.ts";
import type { McpCaller } from "../tool.ts";
import { SOURCE_MAX } from "../tools/list-documents.ts";

export const DOCUMENT_URI_TEMPLATE = "counsel://documents/{source}";

/** Documents per resources/list page: the catalog's default page, as GET /documents without a limit. */
export const RESOURCES_PAGE_SIZE = 100;

/** Between two chunks of a document's text: chunks are split at paragraph breaks first. */
const CHUNK_SEPARATOR = "\n\n";

/**
 * A document's resource URI. A source with a lone surrogate (possible in a doc_id given as JSON) cannot be
 * URL-encoded as it is: it is listed with U+FFFD in its place, and reads as not found rather than failing a list.
 *
 * @example
 * documentUri("/srv/handbook/memo.pdf") // "counsel://documents/%2Fsrv%2Fhandbook%2Fmemo.pdf"
 */
export function documentUri(source: string): string {
  return `counsel://documents/${encodeURIComponent(source.replace(/\p{Surrogate}/gu, "\uFFFD"))}`;
}

/**
 * A JSON-RPC error as the SDK's protocol sends it (it reads `code`, `message` and `data` off what a handler
 * throws). Not the SDK's McpError, whose message already starts "MCP error <code>:", which the client adds again.
 */
export class ResourceError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: { status: number; code: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ResourceError";
  }
}

/** Text the ingest loaders render as Markdown (Markdown files, Textract's pages); everything else plain text. */
function mimeType(document: DocumentSummary): string {
  return document.type === "markdown" || document.loader === "textract" ? "text/markdown" : "text/plain";
}

function toResource(document: DocumentSummary): Resource {
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  const facts = [
    document.type,
    document.pages ? count(document.pages, "page") : undefined,
    count(document.chunks, "chunk"),
  ];
  return {
    uri: documentUri(document.source),
    name: document.source,
    ...(document.title || document.name ? { title: document.title ?? document.name } : {}),
    description: facts.filter(Boolean).join(", "),
    mimeType: mimeType(document),
    annotations: { lastModified: document.updatedAt },
  };
}

/** Registers the document resources on `server` for `caller`. */
export function registerDocumentResources(server: McpServer, caller: McpCaller): void {
  const { tenant } = caller;

  const read = async (uri: URL, encoded: string | string[]): Promise<ReadResourceResult> => {
    allowed(caller);
    let source: string;
    try {
      source = decodeURIComponent(String(encoded));
    } catch (error) {
      throw new ResourceError(
        ErrorCode.InvalidParams,
        `${uri.href} does not name a source: it is not URL-encoded.`,
        { status: 400, code: "bad_request" },
        { cause: error },
      );
    }
    if (source.length > SOURCE_MAX)
      throw new ResourceError(
        ErrorCode.InvalidParams,
        `A document's source is at most ${SOURCE_MAX} characters.`,
        { status: 400, code: "bad_request" },
      );
    const detail = await tenant.documents.get(source);
    if (!detail) throw new NotFoundError(`No document ${JSON.stringify(source)} in this knowledge base.`);
    return {
      contents: [
        {
          uri: uri.href,
          mimeType: mimeType(detail.document),
          text: detail.chunks.map((chunk) => chunk.text).join(CHUNK_SEPARATOR),
        },
      ],
    };
  };

  server.registerResource(
    "document",
    // No list callback: the SDK's resources/list would call it without the request's cursor (below).
    new ResourceTemplate(DOCUMENT_URI_TEMPLATE, { list: undefined }),
    {
      title: "A document in the knowledge base",
      description:
        "A document's text, its indexed chunks joined in order. {source} is the document's source, " +
        "URL-encoded (encodeURIComponent), as list_documents gives it.",
    },
    (uri, variables) => logged(caller, "read", () => read(uri, variables.source ?? "")),
  );

  // McpServer's own resources/list (SDK 1.32) neither passes the request's cursor to a template's list callback
  // nor returns its nextCursor, so a catalog of any size would come back whole. Replaced by one that pages the
  // catalog: this server registers no fixed resources, which are all the SDK's handler would list besides.
  server.server.setRequestHandler(ListResourcesRequestSchema, (request) =>
    logged(caller, "list", async (): Promise<ListResourcesResult> => {
      allowed(caller);
      const page = await tenant.documents.list({
        limit: RESOURCES_PAGE_SIZE,
        cursor: request.params?.cursor,
      });
      return {
        resources: page.documents.map(toResource),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    }),
  );
}

function allowed(caller: McpCaller): void {
  if (caller.scopes.has("query")) return;
  throw new ResourceError(
    ErrorCode.InvalidRequest,
    `This key may not read documents: it needs the scope query, and has ${[...caller.scopes].join(", ") || "none"}.`,
    { status: 403, code: "forbidden" },
  );
}

/**
 * Runs a resource request, logs it as defineTool logs a tool call, and turns a failure into a JSON-RPC error:
 * the caller's fault (a bad cursor, an unknown document: the spec's code for either is Invalid params) keeps its
 * message; anything else is logged and not leaked, as for the REST routes.
 */
async function logged<T>(caller: McpCaller, method: "list" | "read", work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let isError = true;
  try {
    const result = await work();
    isError = false;
    return result;
  } catch (error) {
    if (error instanceof ResourceError) throw error;
    const problem = toProblem(error as Error);
    if (problem.status >= 500 && !(error instanceof CounselError))
      caller.log?.error({ err: error, resource: "documents", method }, "mcp resource failed");
    const code = problem.status < 500 ? ErrorCode.InvalidParams : ErrorCode.InternalError;
    throw new ResourceError(
      code,
      problem.detail,
      { status: problem.status, code: problem.code },
      { cause: error },
    );
  } finally {
    const ms = Math.round(performance.now() - started);
    caller.log?.info({ resource: "documents", method, ms, isError }, "mcp resource request");
  }
}
