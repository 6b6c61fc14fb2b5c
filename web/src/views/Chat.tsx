// Chat: a conversation with the advisor over POST /advisor/ui (the AI SDK's useChat), each turn kept in a session
// so that it can be listed (GET /advisor/sessions), resumed and deleted. Tokens stream in as they come; each tool
// call shows as a step; a Stop button aborts the turn, which the service keeps marked stopped. Where the
// deployment has no model that can call tools, the page says so before anyone types, and offers Ask.
import "highlight.js/styles/github.css";
import "./chat.css";
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError, api, apiFetch, authHeaders, messageOf } from "../api.ts";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { MessageView } from "./chat/MessageView.tsx";
import { type ChatMessage, fromSession, type StoredSession } from "./chat/messages.ts";

const CHAIN = "advisor";

interface SessionInfo {
  id: string;
  title: string;
  messages: number;
  updatedAt: string;
}

type Availability = { state: "checking" } | { state: "ready" } | { state: "unavailable"; detail: string };

/** A session id the service accepts (8 to 128 of A-Z a-z 0-9 _ -): a UUID. */
const newSessionId = () => crypto.randomUUID();

function Unavailable({ detail }: { detail: string }) {
  return (
    <section className="unavailable" aria-labelledby="unavailable-title">
      <h3 id="unavailable-title">The advisor is not available here</h3>
      <p>
        Chat needs a chat model that can call tools, and this deployment has none configured. The service
        says:
      </p>
      <p className="problem-detail">{detail}</p>
      <p>
        To turn it on, set <code>MODEL_PROVIDER</code> and <code>MODEL_ID</code> (for example Bedrock with{" "}
        <code>us.amazon.nova-pro-v1:0</code>, or a local server such as Ollama) and restart the service; the
        choices are in <code>docs/models.md</code> and the settings in <code>docs/configuration.md</code>.
      </p>
      <p>
        <a className="button-link" href="#/ask">
          Ask the knowledge base instead
        </a>{" "}
        <span className="hint">(Ask works with the embedded defaults: it quotes your documents.)</span>
      </p>
    </section>
  );
}

function SessionList({
  sessions,
  current,
  onOpen,
  onDelete,
  onNew,
}: {
  sessions: SessionInfo[] | null;
  current: string;
  onOpen: (id: string) => void;
  onDelete: (session: SessionInfo) => void;
  onNew: () => void;
}) {
  return (
    <nav className="sessions" aria-labelledby="sessions-title">
      <div className="sessions-head">
        <h3 id="sessions-title">Conversations</h3>
        <button type="button" className="secondary" onClick={onNew}>
          New chat
        </button>
      </div>
      {sessions === null ? (
        <p className="hint">Loading…</p>
      ) : sessions.length === 0 ? (
        <p className="hint">None yet: what you send is kept here.</p>
      ) : (
        <ul>
          {sessions.map((s) => (
            <li key={s.id} className={s.id === current ? "current" : ""}>
              <button
                type="button"
                className="session-open"
                aria-current={s.id === current ? "true" : undefined}
                onClick={() => onOpen(s.id)}
              >
                <span className="session-title">{s.title || "(no text)"}</span>
                <span className="session-meta">
                  {s.messages} messages · {new Date(s.updatedAt).toLocaleString()}
                </span>
              </button>
              <button
                type="button"
                className="secondary session-delete"
                aria-label={`Delete “${s.title}”`}
                onClick={() => onDelete(s)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}

/** The sentence to show for what a turn threw: the service's problem, or the stream's error text. */
function errorText(error: Error): string {
  return error instanceof ApiError ? error.message : `The turn failed: ${error.message}`;
}

function Conversation({
  sessionId,
  initial,
  onTurnEnd,
  onUnavailable,
  focus,
}: {
  /** Put the focus in the message box on mount: the person just chose this conversation. */
  focus: boolean;
  sessionId: string;
  initial: ChatMessage[];
  onTurnEnd: (stopped: boolean) => void;
  onUnavailable: (detail: string) => void;
}) {
  const prefix = useId().replace(/:/g, "");
  const [transport] = useState(
    () =>
      new DefaultChatTransport<ChatMessage>({
        api: "/advisor/ui",
        // A function: a key given after the page opened is the one sent.
        headers: () => authHeaders(),
        // The console's door: a refusal becomes an ApiError with the service's words, and 401/403 open the prompt.
        fetch: apiFetch,
        // The session keeps the history: only the new message is sent, with the session to keep it in.
        prepareSendMessagesRequest: ({ id, messages, body }) => ({
          body: { ...body, id, sessionId: id, chain: CHAIN, messages: messages.slice(-1) },
        }),
      }),
  );
  const { messages, sendMessage, status, stop, error, setMessages, clearError } = useChat<ChatMessage>({
    id: sessionId,
    messages: initial,
    transport,
    onFinish: ({ message, isAbort }) => {
      // The service keeps a stopped turn marked stopped; the page marks it the same way at once.
      if (isAbort && message.role === "assistant")
        setMessages((all) =>
          all.map((m) => (m.id === message.id ? { ...m, metadata: { ...m.metadata, stopped: true } } : m)),
        );
      onTurnEnd(isAbort);
    },
  });
  const [input, setInput] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const busy = status === "submitted" || status === "streaming";
  useEffect(() => {
    if (focus) textarea.current?.focus();
  }, [focus]);

  useEffect(() => {
    if (error instanceof ApiError && error.status === 503 && error.code === "unavailable")
      onUnavailable(error.message);
  }, [error, onUnavailable]);

  const send = (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    if (!input.trim()) {
      setProblem("Type a message first: an empty message cannot be sent.");
      textarea.current?.focus();
      return;
    }
    setProblem(null);
    clearError();
    void sendMessage({ text: input });
    setInput("");
  };

  const statusText =
    status === "submitted"
      ? "Sent; waiting for the advisor…"
      : status === "streaming"
        ? "The advisor is answering…"
        : status === "error"
          ? "The turn failed."
          : messages.at(-1)?.metadata?.stopped
            ? "Stopped."
            : messages.length > 0
              ? "Answer complete."
              : "";

  return (
    <section className="conversation" aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`} className="visually-hidden">
        Conversation
      </h3>
      {messages.length === 0 ? (
        <p className="hint empty-chat">
          Ask about your documents: the advisor searches them, cites them as [1], [2], and can write a report
          or code on request.
        </p>
      ) : (
        <ol className="messages" aria-busy={busy}>
          {messages.map((m) => (
            <MessageView key={m.id} message={m} prefix={`${prefix}-${m.id}`} />
          ))}
        </ol>
      )}
      <p className="chat-status" role="status" aria-live="polite">
        {statusText}
      </p>
      <ErrorAlert message={error && errorText(error)} />
      <form className="chat-form" onSubmit={send} noValidate>
        <label htmlFor={`${prefix}-input`}>Message</label>
        <textarea
          id={`${prefix}-input`}
          ref={textarea}
          rows={3}
          maxLength={8000}
          value={input}
          aria-describedby={`${prefix}-keys${problem ? ` ${prefix}-problem` : ""}`}
          aria-invalid={problem !== null}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            // Enter sends, Shift+Enter makes a new line; not while an input method is composing a character.
            if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <p id={`${prefix}-keys`} className="hint">
          Enter sends; Shift+Enter starts a new line.
        </p>
        <ErrorAlert id={`${prefix}-problem`} message={problem} />
        <div className="actions">
          <button type="submit" disabled={busy}>
            Send
          </button>
          {busy ? (
            <button type="button" className="secondary" onClick={() => void stop()}>
              Stop
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}

export function Chat() {
  const [availability, setAvailability] = useState<Availability>({ state: "checking" });
  const [loadError, setLoadError] = useState<string | null>(null);
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  // `opened` counts openings, so that resuming the open conversation loads it again from the service.
  const [open, setOpen] = useState<{ id: string; initial: ChatMessage[]; opened: number }>(() => ({
    id: newSessionId(),
    initial: [],
    opened: 0,
  }));
  const openSession = (id: string, initial: ChatMessage[]) =>
    setOpen((previous) => ({ id, initial, opened: previous.opened + 1 }));

  // Whether the advisor can serve, before anyone types: GET /chains says why an advisor cannot.
  useEffect(() => {
    const controller = new AbortController();
    api<{ chains: { name: string; type: string; unavailable?: string }[] }>("/chains", {
      signal: controller.signal,
    })
      .then(({ chains }) => {
        const advisor = chains.find((c) => c.name === CHAIN && c.type === "advisor");
        if (!advisor)
          setAvailability({ state: "unavailable", detail: `This service has no "${CHAIN}" chain.` });
        else if (advisor.unavailable) setAvailability({ state: "unavailable", detail: advisor.unavailable });
        else setAvailability({ state: "ready" });
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setLoadError(`The advisor could not be reached: ${messageOf(e)}`);
      });
    return () => controller.abort();
  }, []);

  const refresh = useCallback(async (signal?: AbortSignal) => {
    try {
      setSessions((await api<{ sessions: SessionInfo[] }>("/advisor/sessions", { signal })).sessions);
    } catch (e) {
      if (!signal?.aborted) setLoadError(`The conversations could not be listed: ${messageOf(e)}`);
    }
  }, []);

  useEffect(() => {
    if (availability.state !== "ready") return;
    const controller = new AbortController();
    void refresh(controller.signal);
    return () => controller.abort();
  }, [availability.state, refresh]);

  const resume = async (id: string) => {
    setLoadError(null);
    try {
      const stored = await api<StoredSession>(`/advisor/sessions/${encodeURIComponent(id)}`);
      openSession(id, fromSession(stored));
    } catch (e) {
      setLoadError(`The conversation could not be opened: ${messageOf(e)}`);
      void refresh();
    }
  };

  const remove = async (session: SessionInfo) => {
    setLoadError(null);
    try {
      await api(`/advisor/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      if (session.id === open.id) openSession(newSessionId(), []);
    } catch (e) {
      setLoadError(`The conversation could not be deleted: ${messageOf(e)}`);
    }
    await refresh();
  };

  const onUnavailable = useCallback(
    (detail: string) => setAvailability({ state: "unavailable", detail }),
    [],
  );

  return (
    <section aria-labelledby="chat-title" className="chat">
      <h2 id="chat-title">Chat</h2>
      <p className="lead">
        A conversation with the advisor: it searches your documents, cites them, and writes reports and code.
      </p>
      <ErrorAlert message={loadError} />
      {availability.state === "checking" ? (
        <p role="status">Checking the advisor…</p>
      ) : availability.state === "unavailable" ? (
        <Unavailable detail={availability.detail} />
      ) : (
        <div className="chat-layout">
          <SessionList
            sessions={sessions}
            current={open.id}
            onOpen={(id) => void resume(id)}
            onDelete={(s) => void remove(s)}
            onNew={() => openSession(newSessionId(), [])}
          />
          <Conversation
            key={`${open.id}-${open.opened}`}
            sessionId={open.id}
            initial={open.initial}
            onTurnEnd={(stopped) => {
              void refresh();
              // The service keeps a stopped turn once it sees the connection close, a moment after: look again.
              if (stopped) setTimeout(() => void refresh(), 1000);
            }}
            onUnavailable={onUnavailable}
            focus={open.opened > 0}
          />
        </div>
      )}
    </section>
  );
}
