// `counsel documents`: list, show and delete a tenant's documents from the command line, with the status of each
// (indexed, or an ingestion queued, under way or failed, with why), on the same stores as the service.
import { Command, InvalidArgumentError } from "commander";
import type { Settings } from "../config/settings.ts";
import type { DocumentStatus } from "../contracts/document-status.ts";
import {
  DOCUMENT_STATUSES,
  type DocumentChunk,
  type DocumentSummary,
  MAX_DOCUMENTS_LIMIT,
} from "../contracts/documents.ts";
import { NotFoundError } from "../errors.ts";
import type { Tenant } from "../tenants/tenant.ts";
import { DEFAULT_TENANT } from "../tenants/tenant-id.ts";

export interface DocumentsCommandDeps {
  loadEnv(): Promise<Settings>;
  tenantId(value: string): string;
}

interface ListOptions {
  prefix?: string;
  status?: DocumentStatus;
  type?: string;
  metadata: Record<string, string>;
  limit?: number;
  cursor?: string;
  json?: boolean;
  tenant: string;
}

export function documentsCommand(deps: DocumentsCommandDeps): Command {
  /** Runs `work` on the tenant's stores, closed (and saved) afterwards whatever happens. */
  const withTenant = async <T>(tenantId: string, work: (tenant: Tenant) => Promise<T>): Promise<T> => {
    const settings = await deps.loadEnv();
    // Imported when a subcommand runs, not when the CLI starts: see cli.ts.
    const { createServices } = await import("../services/services.ts");
    const services = await createServices(settings);
    try {
      return await work(await services.tenant(tenantId));
    } finally {
      await services.close();
    }
  };
  const tenantOption = (command: Command) =>
    command.option(
      "-t, --tenant <id>",
      "the tenant whose documents these are",
      deps.tenantId,
      DEFAULT_TENANT,
    );

  const command = new Command("documents").description(
    "the documents in the knowledge base, each with its status: list, show, delete",
  );

  tenantOption(
    command
      .command("list")
      .description("documents by source, a page at a time, with their status (and why, when failed)")
      .option("-p, --prefix <text>", "only sources that start with this (upload:, s3://bucket/…)")
      .option("-s, --status <status>", `only this status: ${DOCUMENT_STATUSES.join(", ")}`, statusOf)
      .option("--type <type>", "only this detected type (pdf, docx, html, markdown, text…)")
      .option(
        "-m, --metadata <field=value>",
        "only documents with this metadata value (repeatable)",
        field,
        {},
      )
      .option("-n, --limit <number>", `documents per page (1-${MAX_DOCUMENTS_LIMIT}, default 100)`, limitOf)
      .option("--cursor <cursor>", "the page after the one that printed this cursor")
      .option("--json", "print the page as JSON (documents and nextCursor)"),
  ).action(async (options: ListOptions) => {
    const { tenant, json, metadata, ...filters } = options;
    const page = await withTenant(tenant, (t) =>
      t.documents.list({ ...filters, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) }),
    );
    if (json) {
      console.log(JSON.stringify(page, null, 2));
      return;
    }
    for (const doc of page.documents) console.log(formatLine(doc));
    // On stderr, so that the lines above stay one document each for scripts.
    if (page.nextCursor) console.error(`more: counsel documents list --cursor ${page.nextCursor}`);
  });

  tenantOption(
    command
      .command("show")
      .description("one document: what ingestion knew of it, its status, and with --chunks its text")
      .argument("<id>", "the document's id (its source, as list prints it)")
      .option("--chunks", "also print its chunks in order")
      .option("--json", "print it as JSON (with --chunks, its chunks too)"),
  ).action(async (id: string, options: { chunks?: boolean; json?: boolean; tenant: string }) => {
    const detail = await withTenant(options.tenant, (t) => t.documents.get(id));
    if (!detail) throw notFound(id, options.tenant);
    if (options.json) {
      console.log(JSON.stringify(options.chunks ? detail : { document: detail.document }, null, 2));
      return;
    }
    console.log(formatDocument(detail.document));
    if (options.chunks) for (const chunk of detail.chunks) console.log(`\n${formatChunk(chunk)}`);
  });

  tenantOption(
    command
      .command("delete")
      .description("delete a document: its chunks, its records and its status")
      .argument("<id>", "the document's id (its source, as list prints it)"),
  ).action(async (id: string, options: { tenant: string }) => {
    const deleted = await withTenant(options.tenant, (t) => t.pipeline.deleteDocument(id));
    if (!deleted.found) throw notFound(id, options.tenant);
    console.error(`deleted ${id} (${deleted.chunks} chunks)`);
  });

  return command;
}

function notFound(id: string, tenant: string): NotFoundError {
  return new NotFoundError(`No document ${JSON.stringify(id)} in tenant ${tenant}'s knowledge base.`);
}

/** `indexed     28 chunks  pdf       upload:bitcoin.pdf`, and for a failure, why on the next line. */
function formatLine(doc: DocumentSummary): string {
  const line = `${doc.status.padEnd(10)} ${String(doc.chunks).padStart(5)} chunks  ${(doc.type ?? "-").padEnd(9)} ${doc.source}`;
  return doc.error ? `${line}\n${" ".repeat(11)}failed while ${doc.error.step}: ${doc.error.message}` : line;
}

function formatDocument(doc: DocumentSummary): string {
  const rows: [string, unknown][] = [
    ["source", doc.source],
    ["status", doc.jobId ? `${doc.status} (job ${doc.jobId})` : doc.status],
    ["error", doc.error && `failed while ${doc.error.step}: ${doc.error.message} (${doc.error.code})`],
    ["name", doc.name],
    ["type", doc.type],
    ["title", doc.title],
    ["chunks", doc.chunks],
    ["pages", doc.pages],
    ["bytes", doc.bytes],
    ["checksum", doc.checksum],
    ["recipe", doc.recipe],
    ["metadata", doc.metadata && JSON.stringify(doc.metadata)],
    ["updated", doc.updatedAt],
    ["summary", doc.summary],
  ];
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${`${name}:`.padEnd(10)}${value}`)
    .join("\n");
}

function formatChunk(chunk: DocumentChunk): string {
  return `--- chunk ${chunk.index}${chunk.page ? ` (page ${chunk.page})` : ""} ---\n${chunk.text}`;
}

function statusOf(value: string): DocumentStatus {
  if (!(DOCUMENT_STATUSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${DOCUMENT_STATUSES.join(", ")}`);
  }
  return value as DocumentStatus;
}

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_DOCUMENTS_LIMIT) {
    throw new InvalidArgumentError(`expected 1-${MAX_DOCUMENTS_LIMIT}`);
  }
  return n;
}

/** One `field=value` more for --metadata. */
function field(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  if (at < 1) throw new InvalidArgumentError("expected field=value, e.g. team=legal");
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}
