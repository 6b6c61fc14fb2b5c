// A qa chain's answer as the one turn event stream (contracts/turn-events.ts) that every protocol adapter
// serves: the answer's text as it is generated, then the chunks it cites (numbered as cited), then `done`
// with the recorded run. The same handle answers POST /chain/qa, so the two never retrieve differently.
import type { TurnEvent, TurnSource } from "../contracts/turn-events.ts";
import type { QaInput } from "./qa.ts";
import type { QaChainHandle, QaReply, QaRunOptions } from "./qa-handle.ts";

export async function* qaTurn(
  handle: QaChainHandle,
  input: QaInput,
  options: QaRunOptions,
): AsyncGenerator<TurnEvent> {
  const started = performance.now();
  let firstTokenMs: number | null = null;
  let message = "";
  for await (const chunk of handle.stream(input, options)) {
    if (chunk.answer !== undefined) {
      firstTokenMs ??= performance.now() - started;
      message += chunk.answer;
      yield { event: "token", data: { text: chunk.answer } };
      continue;
    }
    const sources = citedSources(chunk);
    if (sources.length) yield { event: "sources", data: { sources } };
    yield {
      event: "done",
      data: {
        message,
        usage: chunk.usage,
        timings: { firstTokenMs, totalMs: performance.now() - started },
        runId: chunk.runId,
        chain: chunk.chain,
        variant: chunk.variant,
        citations: chunk.citations,
        ...(chunk.verification ? { verification: chunk.verification } : {}),
        ...(chunk.guardrail ? { guardrail: chunk.guardrail } : {}),
      },
    };
  }
}

/** The sources the answer cites, numbered as it cites them ([n] is the n-th retrieved chunk). */
function citedSources(reply: Omit<QaReply, "answer">): TurnSource[] {
  return reply.sources.flatMap((s, i) =>
    s.cited
      ? [
          {
            n: i + 1,
            id: s.id,
            source: s.source,
            page: s.page,
            snippet: s.snippet,
            ...(s.quote ? { quote: s.quote } : {}),
            score: s.score,
          },
        ]
      : [],
  );
}
