// An advisor chain (chains/<name>.yaml, type advisor) ready to chat: its agent, built once, and the per-session
// turn runner. A turn on a session waits for the session's previous turn in this process, so that two quick
// messages cannot interleave their history.
import { type BaseChatMessageHistory, InMemoryChatMessageHistory } from "@langchain/core/chat_history";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { ChainConfig } from "../chains/config.ts";
import type { Guardrail } from "../contracts/guardrail.ts";
import type { TurnEvent } from "../contracts/turn-events.ts";
import type { TurnQueue } from "../event-loop/turn-queue.ts";
import { buildAdvisorAgent } from "./agent.ts";
import { asSent, isStopped } from "./stopped.ts";
import { runTurn } from "./turn.ts";

export type AdvisorToolName = NonNullable<ChainConfig["advisor"]>["tools"][number];

/**
 * A turn's input: the message, and either the session whose stored history it continues (and extends), or the
 * earlier messages themselves, as protocols that send the whole conversation with every request do (the
 * OpenAI chat API, the AI SDK's useChat); those turns store nothing.
 */
export type TurnInput = { message: string } & ({ sessionId: string } | { history: BaseMessage[] });

/**
 * A conversation a request sent, with roles alternating as some models (Bedrock's) require: messages in a row
 * from one role are joined, empty ones skipped, and a question left unanswered (its turn failed) is dropped, as
 * a session keeps nothing of a failed turn. Only the user's and the assistant's text is kept. An answer the user
 * stopped (response_metadata.stopped) is the assistant's turn, however little of it there is.
 */
export function alternating(history: BaseMessage[]): BaseMessage[] {
  const turns: { human: boolean; text: string }[] = [];
  for (const m of history) {
    const human = HumanMessage.isInstance(m);
    if (!human && !AIMessage.isInstance(m)) continue;
    if (!m.text.trim() && !isStopped(m)) continue;
    const { text } = asSent(m);
    const previous = turns.at(-1);
    if (previous?.human === human) previous.text += `\n\n${text}`;
    else turns.push({ human, text });
  }
  if (turns.at(-1)?.human) turns.pop();
  return turns.map((t) => (t.human ? new HumanMessage(t.text) : new AIMessage(t.text)));
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** The request's origin (`https://host`): the links the turn gives are absolute on it. */
  baseUrl?: string;
}

export interface AdvisorHandle {
  name: string;
  description?: string;
  chat(input: TurnInput, options?: ChatOptions): AsyncGenerator<TurnEvent>;
}

export interface AdvisorOptions {
  config: ChainConfig;
  model: BaseChatModel;
  systemPrompt: string;
  /** The tools this deployment can offer; the chain config picks among them. */
  tools: Partial<Record<AdvisorToolName, StructuredToolInterface>>;
  history: (sessionId: string) => BaseChatMessageHistory;
  /** The process's event-loop turns, which every model and tool call waits for. */
  turns: TurnQueue;
  /** The guardrail the chain's `guardrail` describes; required when it has one. */
  guardrail?: Guardrail;
}

export function createAdvisor({
  config,
  model,
  systemPrompt,
  tools,
  history,
  turns,
  guardrail,
}: AdvisorOptions): AdvisorHandle {
  const settings = config.advisor;
  if (config.type !== "advisor" || !settings)
    throw new Error(`Chain "${config.name}" is not an advisor chain.`);
  if (Boolean(config.guardrail) !== Boolean(guardrail))
    throw new Error(`Chain "${config.name}": a guardrail is given exactly when its config names one.`);
  const guarded = guardrail && config.guardrail ? { guardrail, settings: config.guardrail } : undefined;
  const chosen = settings.tools.map((name) => {
    const found = tools[name];
    if (!found) throw new Error(`Chain "${config.name}": tool ${name} is not available in this deployment.`);
    return found;
  });
  const agent = buildAdvisorAgent({ model, tools: chosen, systemPrompt, settings, turns });
  const running = new Map<string, Promise<unknown>>();

  return {
    name: config.name,
    description: config.description,
    async *chat(input, options = {}) {
      const turn = (history: BaseChatMessageHistory) =>
        runTurn({
          agent,
          history,
          message: input.message,
          memoryTokens: settings.memoryTokens,
          signal: options.signal,
          baseUrl: options.baseUrl,
          guardrail: guarded,
        });
      if ("history" in input) {
        yield* turn(new InMemoryChatMessageHistory(alternating(input.history)));
        return;
      }
      const { sessionId } = input;
      const previous = running.get(sessionId);
      let release = () => {};
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      const queued = (previous ?? Promise.resolve()).then(() => mine);
      running.set(sessionId, queued);
      try {
        await previous;
        yield* turn(history(sessionId));
      } finally {
        release();
        if (running.get(sessionId) === queued) running.delete(sessionId);
      }
    },
  };
}
