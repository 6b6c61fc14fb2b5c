// One of Counsel's MCP tools: its input and output schemas, the scope a key needs to call it, and its work,
// which calls a service (a qa chain, an advisor's tool, the chain's searcher) and never runs a model or a search
// of its own. `defineTool` turns a spec into what the server registers: the scope check, the caller's signal,
// structured output with its JSON as text for older clients, and failures as tool errors the client can show.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod/v4";
import type { AdvisorChain } from "../../agent/from-config.ts";
import type { Scope } from "../../auth/api-keys.ts";
import type { ChainConfig } from "../../chains/config.ts";
import type { QaChainHandle } from "../../chains/qa-handle.ts";
import { CounselError } from "../../errors.ts";
import type { Tenant } from "../../tenants/tenant.ts";
import { toProblem } from "../plugins/errors.ts";

/** What the tools call: the service's chains (AppServices satisfies it). */
export interface McpServices {
  qaChain(name: string): QaChainHandle;
  /** Throws 404 (none), 400 (not an advisor) or 503 (no model that can call tools). */
  advisor(name: string): AdvisorChain;
  chains: { configs: Map<string, ChainConfig> };
}

/** Where a tool's calls and failures are logged: pino's shape (request.log over HTTP, stderr over stdio). */
export interface McpLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Who is calling: the tenant whose knowledge base the tools reach, and what the caller's key may do. */
export interface McpCaller {
  tenant: Tenant;
  scopes: ReadonlySet<Scope>;
  /** Aborts every running tool: the client went away (HTTP) or the process is stopping (stdio). */
  signal?: AbortSignal;
  /** Where the service is reached (`http://host:port`), to give a report's link in full; absent over stdio. */
  baseUrl?: string;
  log?: McpLog;
}

/** What a tool's work receives besides its arguments. */
export interface ToolContext {
  services: McpServices;
  tenant: Tenant;
  signal: AbortSignal;
  baseUrl?: string;
}

export interface ToolSpec<Input extends z.ZodRawShape, Output extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  /** The scope a caller's key needs, as for the REST route that does the same work. */
  scope: Scope;
  input: Input;
  output: Output;
  annotations?: ToolAnnotations;
  run(args: z.output<z.ZodObject<Input>>, context: ToolContext): Promise<z.input<z.ZodObject<Output>>>;
}

/** A tool ready to register on a server for one caller. */
export interface McpTool {
  name: string;
  scope: Scope;
  register(server: McpServer, services: McpServices, caller: McpCaller): void;
}

/** A failure the caller can act on, shown as the tool's error message. */
export class ToolError extends CounselError {
  constructor(message: string) {
    super("tool_error", 400, message);
  }
}

export function defineTool<Input extends z.ZodRawShape, Output extends z.ZodRawShape>(
  spec: ToolSpec<Input, Output>,
): McpTool {
  return {
    name: spec.name,
    scope: spec.scope,
    register(server, services, caller) {
      const handler = async (args: z.output<z.ZodObject<Input>>, extra: { signal: AbortSignal }) => {
        const started = performance.now();
        const result = await call(spec, args, {
          services,
          caller,
          // The request's own signal (a cancellation, the transport closing) or the caller's.
          signal: caller.signal ? AbortSignal.any([caller.signal, extra.signal]) : extra.signal,
        });
        const ms = Math.round(performance.now() - started);
        caller.log?.info({ tool: spec.name, ms, isError: result.isError === true }, "mcp tool call");
        return result;
      };
      server.registerTool(
        spec.name,
        {
          title: spec.title,
          description: spec.description,
          inputSchema: spec.input,
          outputSchema: spec.output,
          annotations: spec.annotations,
        },
        // The SDK infers the callback's arguments from the shape; a generic shape defeats the inference.
        handler as unknown as Parameters<McpServer["registerTool"]>[2],
      );
    },
  };
}

async function call<Input extends z.ZodRawShape, Output extends z.ZodRawShape>(
  spec: ToolSpec<Input, Output>,
  args: z.output<z.ZodObject<Input>>,
  { services, caller, signal }: { services: McpServices; caller: McpCaller; signal: AbortSignal },
): Promise<CallToolResult> {
  if (!caller.scopes.has(spec.scope))
    return toolError(
      `This key may not call ${spec.name}: it needs the scope ${spec.scope}, and has ` +
        `${[...caller.scopes].join(", ") || "none"}.`,
    );
  try {
    signal.throwIfAborted();
    const output = await spec.run(args, {
      services,
      tenant: caller.tenant,
      signal,
      baseUrl: caller.baseUrl,
    });
    return {
      content: [{ type: "text", text: JSON.stringify(output) }],
      structuredContent: output as Record<string, unknown>,
    };
  } catch (error) {
    // The same mapping as the REST routes' problems: a Counsel error keeps its message, a model service's
    // failure says so, anything else is logged and not leaked.
    const problem = toProblem(error as Error);
    if (problem.status >= 500 && !(error instanceof CounselError))
      caller.log?.error({ err: error, tool: spec.name }, "mcp tool failed");
    return toolError(problem.detail);
  }
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
