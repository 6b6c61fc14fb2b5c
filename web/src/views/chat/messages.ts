// The advisor's messages as the Chat view holds them: the AI SDK's UIMessage typed with Counsel's parts
// (docs/ai-sdk.md), and a stored session (GET /advisor/sessions/:id) turned into such messages to resume it.
import type { UIMessage } from "ai";
import type { Source } from "../../components/Citations.tsx";

export interface CodeDiagnostic {
  line: number;
  column: number;
  message: string;
  code: number;
}

/** generate_code's check: the code and what the TypeScript checker found in it. */
export interface CodeCheck {
  language: string;
  checked: boolean;
  repaired: boolean;
  problems: number;
  code?: string;
  diagnostics?: CodeDiagnostic[];
}

export interface ToolOutput {
  summary: string;
  url?: string;
  check?: CodeCheck;
}

export type ChatMetadata = {
  usage?: { inputTokens: number; outputTokens: number };
  timings?: { firstTokenMs: number | null; totalMs: number };
  /** The user stopped this answer: what it holds is what had been said. */
  stopped?: boolean;
};

export type ChatData = {
  report: { toolCallId: string; url: string };
  "code-check": { toolCallId: string } & CodeCheck;
  run: { runId: string; chain?: string; variant?: string };
};

export type ToolName = "search_knowledge_base" | "write_report" | "generate_code";
type ChatTools = Record<ToolName, { input: Record<string, unknown>; output: ToolOutput }>;

export type ChatMessage = UIMessage<ChatMetadata, ChatData, ChatTools>;
export type ChatPart = ChatMessage["parts"][number];
export type ToolPart = Extract<ChatPart, { type: `tool-${string}` }>;

/** A conversation as GET /advisor/sessions/:id serves it. */
export interface StoredSession {
  sessionId: string;
  messages: { role: "user" | "assistant"; content: string; stopped?: true }[];
}

/** A stored conversation as useChat's messages: each message's text, and whether its answer was stopped. */
export function fromSession({ sessionId, messages }: StoredSession): ChatMessage[] {
  return messages.map((m, i) => ({
    id: `${sessionId}-${i}`,
    role: m.role,
    parts: [{ type: "text", text: m.content }],
    ...(m.stopped ? { metadata: { stopped: true } } : {}),
  }));
}

/** The sources a message's parts carry, numbered as its text cites them. */
export function sourcesOf(message: ChatMessage): Source[] {
  const sources: Source[] = [];
  for (const part of message.parts) {
    if (part.type !== "source-document" && part.type !== "source-url") continue;
    const counsel = (part.providerMetadata?.counsel ?? {}) as {
      source?: string;
      page?: number;
      snippet?: string;
      score?: number;
    };
    sources.push({
      n: Number(part.sourceId),
      // The document's name (the full source may be a path on the server), or the page's URL.
      source: part.type === "source-url" ? part.url : (part.filename ?? counsel.source),
      page: counsel.page,
      snippet: counsel.snippet,
      score: counsel.score,
    });
  }
  return sources.sort((a, b) => a.n - b.n);
}

export const isToolPart = (part: ChatPart): part is ToolPart => part.type.startsWith("tool-");
