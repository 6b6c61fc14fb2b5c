// The shell: a header with the views, the open view, and the key prompt whenever the service refuses a key.
import { lazy, Suspense, useEffect, useState } from "react";
import { type ApiError, apiKey, onAuthProblem } from "./api.ts";
import { KeyPrompt } from "./KeyPrompt.tsx";
import { useView, VIEWS, type ViewId } from "./route.ts";
import { Ask } from "./views/Ask.tsx";

// Each view but Ask (the first one shown) is its own chunk, loaded when first opened: Chat brings the AI SDK,
// Markdown and highlighting, Experiments its charts, and a page that opens on Ask need not wait for them.
const Chat = lazy(() => import("./views/Chat.tsx").then((m) => ({ default: m.Chat })));
const Documents = lazy(() => import("./views/Documents.tsx").then((m) => ({ default: m.Documents })));
const Experiments = lazy(() => import("./views/Experiments.tsx").then((m) => ({ default: m.Experiments })));

function View({ id }: { id: ViewId }) {
  switch (id) {
    case "chat":
      return <Chat />;
    case "ask":
      return <Ask />;
    case "documents":
      return <Documents />;
    case "experiments":
      return <Experiments />;
  }
}

export function App() {
  const view = useView();
  // Open with the refusal that prompted it, or with none when the person asked to set a key.
  const [prompt, setPrompt] = useState<{ problem?: ApiError } | null>(null);
  // Bumped after a new key is given: the open view mounts again and repeats its calls with it.
  const [attempt, setAttempt] = useState(0);
  const [hasKey, setHasKey] = useState(() => apiKey.get() !== null);

  useEffect(() => onAuthProblem((problem) => setPrompt({ problem })), []);
  const title = VIEWS.find((v) => v.id === view)?.label ?? "";
  useEffect(() => {
    document.title = `${title} · Counsel`;
  }, [title]);

  const keyDone = () => {
    setPrompt(null);
    setHasKey(apiKey.get() !== null);
    setAttempt((n) => n + 1);
  };

  return (
    <>
      {/* #main is not a view (#/ask is): the browser moves focus to <main>, and the view stays. */}
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Counsel</span>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={`#/${v.id}`} aria-current={v.id === view ? "page" : undefined}>
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          className="secondary key-button"
          onClick={() => setPrompt({})}
          aria-label={hasKey ? "Change API key" : "Set API key"}
        >
          {hasKey ? "Key set" : "API key"}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {prompt ? <KeyPrompt problem={prompt.problem} onDone={keyDone} /> : null}
        <Suspense fallback={<p role="status">Loading…</p>}>
          <View key={`${view}-${attempt}`} id={view} />
        </Suspense>
      </main>
    </>
  );
}
