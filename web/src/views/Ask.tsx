// Ask: a question to a qa chain (POST /chain/qa or /chain/:name), optionally pinned to an experiment variant;
// the answer with each [n] linked to its source, the run's timings, and a thumbs up or down (POST /feedback),
// as Yes / No words: an emoji needs a font that servers and kiosks often lack.
import { type FormEvent, useEffect, useId, useState } from "react";
import { api, messageOf } from "../api.ts";
import { CitedText, type Source, SourceList } from "../components/Citations.tsx";
import { ErrorAlert } from "../components/ErrorAlert.tsx";

interface ChainInfo {
  name: string;
  type: string;
  description?: string;
  variants: { name: string; weight: number; description?: string }[];
}

interface QaReply {
  answer?: string;
  abstained?: boolean;
  sources?: Omit<Source, "n">[];
  chain?: string;
  variant?: string;
  runId?: string;
  model?: string;
  timings?: Record<string, number>;
}

function Feedback({ runId }: { runId: string }) {
  const [sent, setSent] = useState<1 | -1 | null>(null);
  const [error, setError] = useState<string | null>(null);
  const send = async (score: 1 | -1) => {
    setError(null);
    try {
      await api("/feedback", { body: { runId, score } });
      setSent(score);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <div className="feedback">
      <fieldset>
        <legend>Was this answer helpful?</legend>
        <button type="button" className="secondary" aria-pressed={sent === 1} onClick={() => send(1)}>
          Yes
        </button>
        <button type="button" className="secondary" aria-pressed={sent === -1} onClick={() => send(-1)}>
          No
        </button>
      </fieldset>
      <p role="status" className="feedback-status">
        {sent ? "Thank you: your feedback is recorded for this run." : ""}
      </p>
      <ErrorAlert message={error} />
    </div>
  );
}

function Answer({ reply }: { reply: QaReply }) {
  const prefix = useId().replace(/:/g, "");
  // Numbered in order: the reply's source i is the answer's [i + 1].
  const sources: Source[] = (reply.sources ?? []).map((s, i) => ({ ...s, n: i + 1 }));
  const timings = Object.entries(reply.timings ?? {});
  return (
    <article className="answer" aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>Answer</h3>
      {reply.abstained ? (
        <p className="abstained">The knowledge base holds no answer to this question.</p>
      ) : null}
      {reply.answer ? <CitedText text={reply.answer} sources={sources} prefix={`${prefix}-source`} /> : null}
      {sources.length > 0 ? (
        <>
          <h4>Sources</h4>
          <SourceList sources={sources} prefix={`${prefix}-source`} />
        </>
      ) : null}
      <dl className="run">
        {reply.chain ? <RunField name="Chain" value={reply.chain} /> : null}
        {reply.variant ? <RunField name="Variant" value={reply.variant} /> : null}
        {reply.model ? <RunField name="Model" value={reply.model} /> : null}
        {timings.map(([name, ms]) => (
          <RunField key={name} name={name.replace(/Ms$/, "")} value={`${Math.round(ms)} ms`} />
        ))}
      </dl>
      {reply.runId ? <Feedback runId={reply.runId} /> : null}
    </article>
  );
}

function RunField({ name, value }: { name: string; value: string }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </div>
  );
}

export function Ask() {
  const [chains, setChains] = useState<ChainInfo[] | null>(null);
  const [chain, setChain] = useState("qa");
  const [variant, setVariant] = useState("");
  const [question, setQuestion] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reply, setReply] = useState<QaReply | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api<{ chains: ChainInfo[] }>("/chains", { signal: controller.signal })
      .then(({ chains }) => {
        const qa = chains.filter((c) => c.type === "qa");
        setChains(qa);
        if (qa.length > 0 && !qa.some((c) => c.name === "qa")) setChain(qa[0].name);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(`The chains could not be listed: ${messageOf(e)}`);
      });
    return () => controller.abort();
  }, []);

  const variants = chains?.find((c) => c.name === chain)?.variants ?? [];
  // Weights are relative (chains/*.yaml need not make them sum to 1): show each one's share of the traffic.
  const total = variants.reduce((sum, v) => sum + v.weight, 0) || 1;

  const ask = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (!question.trim()) {
      setError("Type a question first: an empty question cannot be answered.");
      return;
    }
    setBusy(true);
    try {
      const path = chain === "qa" ? "/chain/qa" : `/chain/${encodeURIComponent(chain)}`;
      setReply(await api<QaReply>(path, { body: { question, ...(variant ? { variant } : {}) } }));
    } catch (e) {
      setReply(null);
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="ask-title">
      <h2 id="ask-title">Ask</h2>
      <p className="lead">A question to the knowledge base, answered with citations to its documents.</p>
      <form className="ask-form" onSubmit={ask} noValidate>
        <div className="row">
          <div className="field">
            <label htmlFor="ask-chain">Chain</label>
            <select
              id="ask-chain"
              value={chain}
              onChange={(e) => {
                setChain(e.target.value);
                setVariant("");
              }}
            >
              {(chains ?? [{ name: chain, type: "qa", variants: [] }]).map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="ask-variant">Variant</label>
            <select id="ask-variant" value={variant} onChange={(e) => setVariant(e.target.value)}>
              <option value="">Chosen by weight</option>
              {variants.map((v) => (
                <option key={v.name} value={v.name}>
                  {v.name} ({Math.round((v.weight / total) * 100)}% of traffic)
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="ask-question">Question</label>
          <textarea
            id="ask-question"
            rows={3}
            maxLength={4000}
            value={question}
            aria-describedby={error ? "ask-error" : undefined}
            aria-invalid={error !== null && !question.trim()}
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={(e) => {
              // Ctrl/Cmd+Enter asks, as in most chat boxes; Enter alone makes a new line.
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
            }}
          />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Asking…" : "Ask"}
        </button>
      </form>
      <ErrorAlert id="ask-error" message={error} />
      <div aria-live="polite" aria-busy={busy}>
        {reply ? <Answer reply={reply} /> : null}
      </div>
    </section>
  );
}
