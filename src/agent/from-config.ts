// The advisor chains of chains/*.yaml, built with this deployment's model, search and stores. A chain whose
// model cannot call tools (the offline extractive answerer) is kept as the reason it cannot serve, so that
// /advisor/chat answers 503 saying how to configure one instead of failing at start. Each tenant gets its own
// agent, built on its first message, whose tools search that tenant's chunks and save its reports, and whose
// memory is that tenant's sessions. The agent (LangChain's createAgent) is imported only when a chain can run one.

import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { VectorStore } from "@langchain/core/vectorstores";
import type { ChainConfig, GuardrailSettings } from "../chains/config.ts";
import { chainGuardrail } from "../chains/guardrails/chain-guardrail.ts";
import { loadPrompt } from "../chains/prompts.ts";
import { chainSearcher } from "../chains/searcher.ts";
import type { Guardrail } from "../contracts/guardrail.ts";
import type { LexicalSearch } from "../contracts/search.ts";
import type { TurnEvent } from "../contracts/turn-events.ts";
import { UnavailableError } from "../errors.ts";
import type { TurnQueue } from "../event-loop/turn-queue.ts";
import type { ChatHistoryFactory } from "../store/chat-history.ts";
import type { ReportStore } from "../store/report-store.ts";
import type { AdvisorHandle, ChatOptions, TurnInput } from "./advisor.ts";
import { createGenerateCodeTool, loadGenerateCodePrompts } from "./tools/generate-code.ts";
import { createSearchTool } from "./tools/search-knowledge-base.ts";
import { loadWriteReportPrompts } from "./tools/write-report/prompts.ts";
import { createWriteReportTool } from "./tools/write-report/tool.ts";

export interface AdvisorDeps {
  promptsDir: string;
  chatModelFor(config: ChainConfig): Promise<BaseChatModel>;
  /** The process's event-loop turns, which every model and tool call waits for. */
  turns: TurnQueue;
  /** The guardrail a chain's `guardrail` describes; required for a chain that has one. */
  guardrailFor?(settings: GuardrailSettings): Promise<Guardrail>;
}

/** What an advisor needs of a tenant: the chunks its tools search, its conversations and its reports. */
export interface AdvisorTenant {
  index: VectorStore & LexicalSearch;
  history: ChatHistoryFactory;
  reports: ReportStore;
}

/** A tenant's advisor tools: the very instances its agent calls, for protocols that call a tool directly (MCP). */
export interface AdvisorTools {
  search_knowledge_base: ReturnType<typeof createSearchTool>;
  write_report: ReturnType<typeof createWriteReportTool>;
  generate_code: ReturnType<typeof createGenerateCodeTool>;
}

/** An advisor chain as the service serves it: a turn names the tenant it runs for. */
export interface AdvisorChain {
  name: string;
  /** The tenant's tools, built with the chain's model and retrieval settings over the tenant's stores. */
  tools(tenant: AdvisorTenant): AdvisorTools;
  description?: string;
  chat(input: TurnInput, options: ChatOptions & { tenant: AdvisorTenant }): AsyncGenerator<TurnEvent>;
}

export type AdvisorEntry = AdvisorChain | UnavailableError;

/**
 * Whether an advisor of these chains can generate code: its TypeScript checker imports the compiler and parses
 * its lib files on first use (about a second on the event loop), which the service does once it listens (see
 * preloadTypeScriptLibs) rather than in the first request that asks for code.
 */
export function generatesCode(chains: Iterable<ChainConfig>): boolean {
  for (const config of chains) {
    if (config.type !== "advisor" || config.model.provider === "extractive") continue;
    if (config.advisor?.tools.includes("generate_code")) return true;
  }
  return false;
}

export async function advisorsFromConfig(
  chains: Iterable<ChainConfig>,
  deps: AdvisorDeps,
): Promise<Map<string, AdvisorEntry>> {
  const advisors = new Map<string, AdvisorEntry>();
  for (const config of chains) {
    if (config.type !== "advisor") continue;
    // Checked even when the chain cannot serve: a broken prompt file should fail at start, not at first use.
    const systemPrompt = await (await loadPrompt(deps.promptsDir, config.prompt, "advisor")).format({});
    if (config.model.provider === "extractive") {
      advisors.set(
        config.name,
        new UnavailableError(
          `The advisor needs a chat model that can call tools, and chain "${config.name}" uses the offline ` +
            "extractive answerer. Set MODEL_PROVIDER=bedrock and MODEL_ID (e.g. us.amazon.nova-pro-v1:0), or " +
            "MODEL_PROVIDER=openai, MODEL_ID and OPENAI_BASE_URL for a local server (e.g. llama3.2 on Ollama), or " +
            `a model.provider with an id in chains/${config.name}.yaml.`,
        ),
      );
      continue;
    }
    const model = await deps.chatModelFor(config);
    const guardrail = await chainGuardrail(config, deps.guardrailFor?.bind(deps));
    const { createAdvisor } = await import("./advisor.ts");
    const reportPrompts = await loadWriteReportPrompts(deps.promptsDir);
    const codePrompts = await loadGenerateCodePrompts(deps.promptsDir);
    const forTenant = (tenant: AdvisorTenant): { tools: AdvisorTools; advisor: AdvisorHandle } => {
      const searcher = chainSearcher(config, tenant.index);
      const tools: AdvisorTools = {
        search_knowledge_base: createSearchTool({
          searcher,
          k: config.retrieval.k,
          filter: config.retrieval.filter,
        }),
        write_report: createWriteReportTool({
          searcher,
          model,
          reports: tenant.reports,
          prompts: reportPrompts,
          k: config.retrieval.k,
          filter: config.retrieval.filter,
        }),
        generate_code: createGenerateCodeTool({ model, prompts: codePrompts }),
      };
      const advisor = createAdvisor({
        config,
        model,
        systemPrompt,
        history: tenant.history,
        tools,
        turns: deps.turns,
        guardrail,
      });
      return { tools, advisor };
    };
    // Keyed by the tenant object itself: its agent lives exactly as long as the registry keeps it open.
    const tenants = new WeakMap<AdvisorTenant, ReturnType<typeof forTenant>>();
    const opened = (tenant: AdvisorTenant) => {
      let built = tenants.get(tenant);
      if (!built) {
        built = forTenant(tenant);
        tenants.set(tenant, built);
      }
      return built;
    };
    advisors.set(config.name, {
      name: config.name,
      description: config.description,
      tools: (tenant) => opened(tenant).tools,
      chat(input, { tenant, ...options }) {
        return opened(tenant).advisor.chat(input, options);
      },
    });
  }
  return advisors;
}
