// `counsel mcp`: Counsel's MCP tools over stdio for a local client (Claude Desktop, an IDE), on the same data
// folder or Redis as the service, for one tenant. stdout carries the protocol alone, so every log goes to stderr.
// The client ending its input (or Ctrl-C) stops running tools and saves the stores before the process exits.
import { Command } from "commander";
import { SCOPES } from "../auth/scopes.ts";
import type { Settings } from "../config/settings.ts";
import { DEFAULT_TENANT } from "../tenants/tenant-id.ts";

export interface McpCommandDeps {
  loadEnv(): Promise<Settings>;
  tenantId(value: string): string;
}

export function mcpCommand(deps: McpCommandDeps): Command {
  return new Command("mcp")
    .description("serve the knowledge base's tools to a local MCP client over stdio (logs go to stderr)")
    .option(
      "-t, --tenant <id>",
      "the tenant whose knowledge base the tools reach",
      deps.tenantId,
      DEFAULT_TENANT,
    )
    .option(
      "-C, --dir <folder>",
      "the Counsel folder (its .env, chains/, prompts/, data/); default the current one. MCP clients " +
        "such as Claude Desktop start servers in a folder of their choosing.",
    )
    .action(async (options: { tenant: string; dir?: string }) => {
      // Before the settings: they read .env here and resolve their relative paths from here.
      if (options.dir) process.chdir(options.dir);
      const settings = await deps.loadEnv();
      // Imported when the command runs, so that the CLI's start and --help load none of it.
      const [{ StdioServerTransport }, { pino }, { createMcpServer }, { createServices }] = await Promise.all(
        [
          import("@modelcontextprotocol/sdk/server/stdio.js"),
          import("pino"),
          import("../server/mcp/server.ts"),
          import("../services/services.ts"),
        ],
      );
      const logger = pino({ level: settings.logLevel }, pino.destination(2));
      const services = await createServices(settings, {
        info: (message) => logger.info(message),
        warn: (message) => logger.warn(message),
      });
      const tenant = await services.tenant(options.tenant);
      const stopping = new AbortController();
      // The local user runs the process over their own data: every scope, as the service without keys grants.
      const server = createMcpServer(services, {
        tenant,
        scopes: new Set(SCOPES),
        signal: stopping.signal,
        log: logger,
      });

      let stopped: Promise<void> | undefined;
      const stop = (reason: string) => {
        stopped ??= (async () => {
          logger.info(`${reason}: closing`);
          stopping.abort();
          await server.close();
          await services.close(); // saves the store and the records
          process.exit(0);
        })();
        return stopped;
      };
      process.stdin.once("end", () => void stop("stdin closed"));
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));

      await server.connect(new StdioServerTransport());
      logger.info(`MCP server on stdio for tenant ${tenant.id}`);
    });
}
