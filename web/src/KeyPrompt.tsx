// Asks for an API key: after the service refused one (401) or found it lacks a scope (403), saying which; or
// when the person opens it from the header.
import { type FormEvent, useEffect, useRef, useState } from "react";
import { type ApiError, apiKey } from "./api.ts";

export function KeyPrompt({ problem, onDone }: { problem?: ApiError; onDone: () => void }) {
  const [key, setKey] = useState("");
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const save = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) apiKey.set(key);
    else apiKey.clear();
    onDone();
  };

  const forbidden = problem?.status === 403;
  return (
    <section className="key-prompt" role="alertdialog" aria-labelledby="key-title" aria-describedby="key-why">
      <h2 id="key-title">
        {!problem ? "API key" : forbidden ? "This key may not do that" : "An API key is needed"}
      </h2>
      <div id="key-why">
        {problem ? (
          <>
            <p>
              {forbidden
                ? "The service knows this key, but the key lacks the scope this action needs. Use a key with that scope."
                : "The service has API keys turned on and refused the request: no key was sent, or the key is unknown, revoked or mistyped."}
            </p>
            <p className="problem-detail">The service said: {problem.message}</p>
          </>
        ) : (
          <p>
            A service with API keys turned on answers only requests that carry one. Leave empty to send none.
          </p>
        )}
        <p className="hint">
          The key is kept in this browser tab only (session storage) and sent as{" "}
          <code>Authorization: Bearer</code>. An administrator creates keys with{" "}
          <code>npx counsel keys create</code>.
        </p>
      </div>
      <form onSubmit={save}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
        />
        <div className="actions">
          <button type="submit">Use this key</button>
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
