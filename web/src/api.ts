// The console's one door to the service: fetch (XMLHttpRequest for uploads with progress) with the API key from
// this tab's session, and the service's application/problem+json errors turned into an ApiError whose message a
// person can read.

const KEY = "counsel.apiKey";

/** The key this tab uses; sessionStorage, so that it leaves with the tab and is never written to disk by us. */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

/** The service's application/problem+json body, with any extra members a route adds (`failed`, `supported`). */
export interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  errors?: { path?: string; message?: string }[];
  [extra: string]: unknown;
}

/** A failed call: the HTTP status, the problem's code, and a readable message (its detail). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The problem as the service sent it, when it sent one. */
    readonly problem?: Problem,
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

const unreachable = () =>
  new ApiError(0, "network", "The service could not be reached: is it running, and is the network up?");

/** The error for a refused reply (its problem body already parsed, if JSON); a 401/403 opens the key prompt. */
function refusal(status: number, statusText: string, problem: Problem | undefined): ApiError {
  const error = new ApiError(
    status,
    problem?.code ?? "http_error",
    readable(status, statusText, problem),
    problem,
  );
  if (error.isAuth) for (const listener of authListeners) listener(error);
  return error;
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
    throw unreachable();
  }
  if (res.ok) return res;
  const type = res.headers.get("content-type") ?? "";
  const problem = /json/.test(type)
    ? ((await res.json().catch(() => undefined)) as Problem | undefined)
    : undefined;
  throw refusal(res.status, res.statusText, problem);
}

/**
 * GET, POST or DELETE a JSON resource of the service; throws ApiError on any non-2xx or a network failure.
 * A 204 resolves to undefined.
 */
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
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/**
 * POSTs a multipart form (files) with upload progress, as `api` would otherwise: the same key, the same
 * ApiError. XMLHttpRequest, written by hand here, because fetch reports no upload progress (a streamed request
 * body would, but Chromium sends those only over HTTP/2, and the service speaks HTTP/1.1). Resolves with the
 * status beside the body: POST /ingest answers 200 with a report, or 202 with a job to follow.
 */
export function upload<T>(
  path: string,
  form: FormData,
  options: { onProgress?: (sent: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<{ status: number; body: T }> {
  return new Promise<{ status: number; body: T }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("accept", "application/json");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded, event.total);
    };
    xhr.onload = () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body: body as T });
      else {
        const json = /json/.test(xhr.getResponseHeader("content-type") ?? "");
        reject(refusal(xhr.status, xhr.statusText, json ? (body as Problem | undefined) : undefined));
      }
    };
    xhr.onerror = () => reject(unreachable());
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
    options.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The message to show for anything a call threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
