// The console's one door to the service: fetch with the API key from this tab's session, and the service's
// application/problem+json errors turned into an ApiError whose message a person can read.

const KEY = "counsel.apiKey";

/** The key this tab uses; sessionStorage, so that it leaves with the tab and is never written to disk by us. */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

/** A failed call: the HTTP status, the problem's code, and a readable message (its detail). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The key is missing, wrong (401) or lacks the scope (403): the person can fix it by giving another. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

type AuthListener = (error: ApiError) => void;
const authListeners = new Set<AuthListener>();

/** Called on every 401/403, so that the shell can ask for a key whichever view made the call. */
export function onAuthProblem(listener: AuthListener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  errors?: { path?: string; message?: string }[];
}

/** "detail" when the service gave one, with each invalid field named; else the status line. */
function readable(status: number, statusText: string, problem: Problem | undefined): string {
  if (!problem?.detail) return `${status} ${problem?.title ?? statusText}`.trim();
  const fields = (problem.errors ?? [])
    .map((e) => [e.path, e.message].filter(Boolean).join(": "))
    .filter(Boolean);
  return fields.length > 0 ? `${problem.detail} (${fields.join("; ")})` : problem.detail;
}

/** The Authorization header of this tab's key, if it has one. */
export function authHeaders(): Record<string, string> {
  const key = apiKey.get();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * fetch() for the service: the key added, and a non-2xx (or a network failure) thrown as ApiError, 401/403 told to
 * the shell. Returns the response to read as the caller needs (JSON, Markdown, a stream); also the fetch of the
 * Chat view's AI SDK transport, so that its errors read as every other call's.
 */
export async function apiFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders())) if (!headers.has(name)) headers.set(name, value);
  let res: Response;
  try {
    res = await fetch(input, { ...init, headers });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(
      0,
      "network",
      "The service could not be reached: is it running, and is the network up?",
    );
  }
  if (res.ok) return res;
  const type = res.headers.get("content-type") ?? "";
  const problem = /json/.test(type)
    ? ((await res.json().catch(() => undefined)) as Problem | undefined)
    : undefined;
  const error = new ApiError(
    res.status,
    problem?.code ?? "http_error",
    readable(res.status, res.statusText, problem),
  );
  if (error.isAuth) for (const listener of authListeners) listener(error);
  throw error;
}

/** GET or POST a JSON resource of the service; throws ApiError on any non-2xx or a network failure. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await apiFetch(path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  // A 204 (DELETE) has no body to read.
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** The message to show for anything a call threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
