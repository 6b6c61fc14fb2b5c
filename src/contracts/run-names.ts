// Run names LangChain reports for Counsel's own steps, which callbacks recognise: the evaluation runner (what the
// retrieval returned) and the trace spans (telemetry/genai-spans.ts). Named once, so that renaming a step cannot
// silently blind either.

/** The QA chain's retrieval step; its output has `sources`. */
export const RETRIEVE_STEP = "retrieve";

/** The advisor's agent graph (createAgent's `name`): each of its runs is an agent turn. */
export const ADVISOR_AGENT = "advisor";
