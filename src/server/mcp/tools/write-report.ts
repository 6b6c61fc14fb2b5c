// write_report over MCP: the advisor's own write_report tool (its chain's model and retrieval, the tenant's
// report store), called directly; the client gets the report's link and its Markdown.
import type { ToolMessage } from "@langchain/core/messages";
import { z } from "zod/v4";
import type { WriteReportArtifact } from "../../../agent/tools/write-report/tool.ts";
import { writeReportInput } from "../../../agent/tools/write-report/tool.ts";
import { UnavailableError } from "../../../errors.ts";
import { defineTool, ToolError } from "../tool.ts";

/** The advisor chain whose model writes the report. */
export const REPORT_CHAIN = "advisor";

export const writeReport = defineTool({
  name: "write_report",
  title: "Write a report",
  description:
    "Research a topic in the organisation's documents and write a structured, cited Markdown report " +
    "(executive summary, findings, recommendations, sources). It takes longer than a search (several model " +
    "calls). Returns the report's Markdown and the link where Counsel serves it.",
  scope: "chat",
  input: writeReportInput.shape,
  output: {
    reportId: z.string(),
    title: z.string(),
    url: z.string().describe("Where Counsel serves the report (GET, with a key that has the chat scope)."),
    markdown: z.string().describe("The whole report, its Sources section included."),
    sources: z.array(
      z.object({
        n: z.number().int().describe("The number the report cites it by, [n]."),
        id: z.string(),
        source: z.string(),
        page: z.number().int().optional(),
        snippet: z.string(),
      }),
    ),
  },
  annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { services, tenant, signal, baseUrl }) {
    let tools: ReturnType<ReturnType<typeof services.advisor>["tools"]>;
    try {
      tools = services.advisor(REPORT_CHAIN).tools(tenant);
    } catch (error) {
      if (error instanceof UnavailableError)
        throw new UnavailableError(`write_report needs a generative chat model. ${error.message}`);
      throw error;
    }
    const message = await tools.write_report.invoke(
      { type: "tool_call", id: crypto.randomUUID(), name: "write_report", args },
      { signal },
    );
    const { content, artifact } = message as ToolMessage & { artifact: WriteReportArtifact };
    // Nothing in the knowledge base matched, so nothing was written: the tool's text says so.
    if (artifact.reportId === null) throw new ToolError(String(content));
    const report = await tenant.reports.get(artifact.reportId);
    if (!report) throw new Error(`Report ${artifact.reportId} was saved but cannot be read back.`);
    return {
      reportId: report.id,
      title: report.title,
      url: baseUrl ? new URL(artifact.url, baseUrl).href : artifact.url,
      markdown: report.markdown,
      sources: report.sources,
    };
  },
});
