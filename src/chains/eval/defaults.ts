// Defaults of an evaluation that `counsel eval --help` shows: apart from the runner, so that help loads none of it.

/** Queries in flight at once. */
export const DEFAULT_CONCURRENCY = 4;
