// One message of the conversation: the user's text, or the advisor's parts in the order they came: its text with
// each [n] linked to its source, a step per tool call (what it was asked, its state, its result, a report to
// open, code with its check), then the sources; a stopped answer says so.
import { CitedText, SourceList } from "../../components/Citations.tsx";
import { CodeCheckView } from "./CodeCheckView.tsx";
import {
  type ChatMessage,
  type CodeCheck,
  isToolPart,
  sourcesOf,
  type ToolName,
  type ToolPart,
} from "./messages.ts";
import { ReportLink } from "./ReportLink.tsx";

const TOOLS: Record<ToolName, { running: string; done: string; input: string }> = {
  search_knowledge_base: {
    running: "Searching the knowledge base",
    done: "Searched the knowledge base",
    input: "query",
  },
  write_report: { running: "Writing a report", done: "Wrote a report", input: "topic" },
  generate_code: { running: "Generating code", done: "Generated code", input: "task" },
};

const STATES = { done: "Done", failed: "Failed", stopped: "Stopped", running: "Running" } as const;

function ToolStep({ part, message, stopped }: { part: ToolPart; message: ChatMessage; stopped: boolean }) {
  const name = part.type.slice("tool-".length) as ToolName;
  const labels = TOOLS[name] ?? { running: `Running ${name}`, done: `Ran ${name}`, input: "" };
  const input = (part.input ?? {}) as Record<string, unknown>;
  const asked = typeof input[labels.input] === "string" ? (input[labels.input] as string) : undefined;
  const state =
    part.state === "output-available"
      ? "done"
      : part.state === "output-error"
        ? "failed"
        : stopped
          ? "stopped" // the turn was stopped while the tool ran: it will never end
          : "running";
  // The report's link and the code's check come as data parts beside the tool part, and in its output too.
  const data = (type: "data-report" | "data-code-check") =>
    message.parts.find(
      (p) => p.type === type && (p.data as { toolCallId?: string }).toolCallId === part.toolCallId,
    ) as { data: unknown } | undefined;
  const output = part.state === "output-available" ? part.output : undefined;
  const reportUrl = (data("data-report")?.data as { url?: string } | undefined)?.url ?? output?.url;
  const check = output?.check ?? (data("data-code-check")?.data as CodeCheck | undefined);
  return (
    <li className={`tool-step tool-${state}`}>
      <p className="tool-title">
        <span className="tool-state">{STATES[state]}</span>{" "}
        {state === "done" ? labels.done : `${labels.running}${state === "running" ? "…" : ""}`}
        {asked ? <span className="tool-input">: “{asked}”</span> : null}
      </p>
      {part.state === "output-error" ? <p className="error">{part.errorText}</p> : null}
      {output?.summary && name !== "generate_code" ? <p className="tool-summary">{output.summary}</p> : null}
      {reportUrl ? <ReportLink url={reportUrl} /> : null}
      {check ? <CodeCheckView check={check} /> : null}
    </li>
  );
}

export function MessageView({ message, prefix }: { message: ChatMessage; prefix: string }) {
  if (message.role === "user") {
    const text = message.parts.map((p) => (p.type === "text" ? p.text : "")).join("");
    return (
      <li className="message user">
        <h4 className="who">You</h4>
        <p className="user-text">{text}</p>
      </li>
    );
  }
  const sources = sourcesOf(message);
  const hasText = message.parts.some((p) => p.type === "text" && p.text.trim());
  const stopped = message.metadata?.stopped === true;
  const { usage, timings } = message.metadata ?? {};
  return (
    <li className={`message assistant${stopped ? " stopped" : ""}`}>
      <h4 className="who">Counsel{stopped ? <span className="badge stopped-badge">stopped</span> : null}</h4>
      {message.parts.map((part, i) => {
        const key = `${message.id}-${i}`;
        if (part.type === "text")
          return <CitedText key={key} text={part.text} sources={sources} prefix={`${prefix}-source`} />;
        if (isToolPart(part))
          return (
            <ul key={key} className="tool-steps">
              <ToolStep part={part} message={message} stopped={stopped} />
            </ul>
          );
        return null;
      })}
      {stopped && !hasText ? <p className="hint">Stopped before the advisor said anything.</p> : null}
      {stopped ? <p className="hint">You stopped this answer: it ends where it was stopped.</p> : null}
      {sources.length > 0 ? (
        <>
          <h5>Sources</h5>
          <SourceList sources={sources} prefix={`${prefix}-source`} />
        </>
      ) : null}
      {timings ? (
        // The finish chunk's metadata: what the turn took, for people comparing models.
        <p className="turn-meta">
          {timings.firstTokenMs !== null ? `first token ${Math.round(timings.firstTokenMs)} ms · ` : ""}
          total {Math.round(timings.totalMs)} ms
          {usage ? ` · ${usage.inputTokens} tokens in, ${usage.outputTokens} out` : ""}
        </p>
      ) : null}
    </li>
  );
}
