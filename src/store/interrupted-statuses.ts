// A status entry that says a document is being extracted or embedded is only true while someone holds the
// document's lock: the pipeline writes those statuses, and clears or replaces them, under it. An entry left
// behind by a process that died mid-way (a synchronous ingestion killed, a worker lost with its job) would
// otherwise read "extracting" for ever, the stuck "indexing" documents people complain of. Read through this,
// such an entry is a failure a person can act on.
import type { DocumentLock } from "../contracts/document-lock.ts";
import type { DocumentState, DocumentStatusStore } from "../contracts/document-status.ts";

export const INTERRUPTED_MESSAGE =
  "Its ingestion stopped before it finished (the process running it ended): ingest it again, or wait for its job to be retried.";

/** `statuses` as readers should see them: an in-progress entry nobody is working on reads as failed. */
export function withInterruptions(statuses: DocumentStatusStore, lock: DocumentLock): DocumentStatusStore {
  const live = async (state: DocumentState): Promise<DocumentState> => {
    if (state.status !== "extracting" && state.status !== "embedding") return state;
    if (await lock.isHeld(state.source)) return state;
    // The holder may have finished between the two reads: only an entry still the same was left behind.
    const again = await statuses.get(state.source);
    if (!again || again.status !== state.status || again.updatedAt !== state.updatedAt) {
      return again ? live(again) : state;
    }
    return {
      ...state,
      status: "failed",
      error: { step: state.status, code: "interrupted", message: INTERRUPTED_MESSAGE, status: 503 },
    };
  };
  return {
    set: (state) => statuses.set(state),
    setMany: (states) => statuses.setMany(states),
    clear: (source, jobId) => statuses.clear(source, jobId),
    get: async (source) => {
      const state = await statuses.get(source);
      return state && live(state);
    },
    list: async (options) => Promise.all((await statuses.list(options)).map(live)),
  };
}
