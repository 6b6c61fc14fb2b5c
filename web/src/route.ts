// Which view is open, from the URL's hash (#/ask): the server's paths belong to the API (GET /documents is
// JSON), so the console's own places live after the #. Other hashes (#source-2) stay in-page anchors.
import { useEffect, useState } from "react";

export const VIEWS = [
  { id: "chat", label: "Chat" },
  { id: "ask", label: "Ask" },
  { id: "documents", label: "Documents" },
  { id: "experiments", label: "Experiments" },
] as const;

export type ViewId = (typeof VIEWS)[number]["id"];

/** Ask: it answers with the embedded defaults, where Chat needs a model that can call tools. */
const DEFAULT: ViewId = "ask";

function fromHash(hash: string, current: ViewId): ViewId {
  if (!hash.startsWith("#/")) return hash ? current : DEFAULT;
  const id = hash.slice(2).split("/")[0];
  return VIEWS.find((view) => view.id === id)?.id ?? DEFAULT;
}

export function useView(): ViewId {
  const [view, setView] = useState<ViewId>(() => fromHash(window.location.hash, DEFAULT));
  useEffect(() => {
    const update = () => setView((current) => fromHash(window.location.hash, current));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return view;
}
