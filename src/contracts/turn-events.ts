// The one event stream of a turn: what the advisor and the qa chains emit while they answer, and what every
// protocol adapter serves in its own shape (Counsel's SSE, the OpenAI chat API, the AI SDK's UI message stream,
// MCP's tool results). An adapter translates these events; it never runs a model or a search of its own.
import type { CitationCounts, Quote } from "./citations.ts";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** A chunk the answer drew on, numbered as the answer cites it ([n]). */
export interface TurnSource {
  n: number;
  /** The chunk's id in the index. */
  id: string;
  /** The document it came from (a file name, URL or s3:// key). */
  source: string;
  page?: number;
  snippet: string;
  /** qa chains that verify citations: the span of the chunk that supports the sentence citing it. */
  quote?: Quote;
  score: number;
}

/** One finding of the TypeScript compiler on generated code. */
export interface CodeDiagnostic {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (as editors count). */
  column: number;
  message: string;
  /** The compiler's diagnostic code, the n in TSn. */
  code: number;
}

/** What code generation returns for people to read: the code itself, and what its check found. */
export interface CodeCheck {
  language: string;
  checked: boolean;
  repaired: boolean;
  /** How many diagnostics remain (diagnostics.length). */
  problems: number;
  /** The code, whole, newlines and all; empty when the model returned no code block. */
  code: string;
  /** The checker's findings on `code`; empty when unchecked or clean. */
  diagnostics: CodeDiagnostic[];
}

export type TurnEvent =
  /** A piece of the answer's text, as the model produced it. */
  | { event: "token"; data: { text: string } }
  /** A tool call starts; `id` ties it to its end. */
  | { event: "tool_start"; data: { id: string; name: string; input: unknown } }
  | {
      event: "tool_end";
      data: {
        id: string;
        name: string;
        /** The tool's result, shortened for display. */
        summary: string;
        /** write_report: where the report is served. */
        url?: string;
        /** generate_code: what the checker found. */
        check?: CodeCheck;
      };
    }
  /** Chunks found (by a search of the turn, or the qa chain's retrieval), numbered as the answer cites them. */
  | { event: "sources"; data: { sources: TurnSource[] } }
  /** The end: the whole answer, tokens and timings; a qa chain adds its run (for feedback) and citations. */
  | { event: "done"; data: TurnDone };

/**
 * What the chain's guardrail did in a turn; absent when it changed nothing. A block wins over a mask: the answer
 * a block ended is what the user was shown before it, then the guardrail's message, which `message` includes.
 */
export interface TurnGuardrail {
  /** blocked: the question was not answered, or the answer was stopped; masked: parts of it were replaced. */
  action: "blocked" | "masked";
  /** The question (input) or the answer (output). */
  source: "input" | "output";
  /** blocked: the guardrail's message, as the user is shown it. */
  message?: string;
}

export interface TurnDone {
  message: string;
  usage: TokenUsage;
  timings: { firstTokenMs: number | null; totalMs: number };
  /** The chain's guardrail blocked or masked something (chains/<name>.yaml `guardrail`). */
  guardrail?: TurnGuardrail;
  /** qa chains: the recorded run, for POST /feedback. */
  runId?: string;
  chain?: string;
  variant?: string;
  /** qa chains: the source numbers the answer cites; empty when it abstained. */
  citations?: number[];
  /** qa chains that verify citations: how the answer's citations fared against their sources. */
  verification?: CitationCounts;
}

export type TurnEventOf<E extends TurnEvent["event"]> = Extract<TurnEvent, { event: E }>;
