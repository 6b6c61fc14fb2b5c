// One advisor turn with LangChain's fake tool-calling model over a real hybrid searcher: the events in order,
// tokens adding up to the message, sources numbered across the turn, history kept (and trimmed, and redacted),
// the tool-call cap, and an aborted turn kept as far as it went, marked stopped.
import { InMemoryChatMessageHistory } from "@langchain/core/chat_history";
import { Document } from "@langchain/core/documents";
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { describe, expect, it } from "vitest";
import { type AdvisorOptions, alternating, createAdvisor } from "../../src/agent/advisor.ts";
import { stoppedAnswer } from "../../src/agent/stopped.ts";
import { LIMIT_REACHED } from "../../src/agent/tool-call-limit.ts";
import { createSearchTool } from "../../src/agent/tools/search-knowledge-base.ts";
import { parseChainConfig } from "../../src/chains/config.ts";
import type { TurnEvent } from "../../src/contracts/turn-events.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";

const DOCS = [
  ["memo", "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23."],
  ["hours", "The cafeteria opens at 9am and closes at 3pm on weekdays."],
  ["leave", "Employees accrue 25 days of annual leave, and may carry 5 days into the next year."],
];

async function searcher() {
  const store = new LocalVectorStore(new LocalHashEmbeddings());
  await store.addDocuments(
    DOCS.map(([id, text]) => new Document({ id, pageContent: text, metadata: { source: `${id}.txt` } })),
    { ids: DOCS.map(([id]) => id) },
  );
  return new HybridSearcher({ store });
}

/** The searcher over DOCS, telling `onSearch` each query before it searches. */
async function searcherTelling(onSearch: (query: string) => void) {
  const inner = await searcher();
  return {
    search: (query: string, options: Parameters<typeof inner.search>[1]) => {
      onSearch(query);
      return inner.search(query, options);
    },
  };
}

function advisorChain(extra = "") {
  return parseChainConfig(
    `name: advisor\ntype: advisor\nprompt: advisor\nadvisor: { tools: [search_knowledge_base]${extra} }\n`,
    "chains/advisor.yaml",
  );
}

/** An advisor over DOCS with the search tool (k results), the test's model and history, and the chain's `extra`. */
async function searchingAdvisor(
  model: AdvisorOptions["model"],
  history: AdvisorOptions["history"],
  { extra = "", k = 2 }: { extra?: string; k?: number } = {},
) {
  return createAdvisor({
    config: advisorChain(extra),
    model,
    systemPrompt: "You advise.",
    tools: { search_knowledge_base: createSearchTool({ searcher: await searcher(), k }) },
    history,
    turns: new TurnQueue(),
  });
}

async function collect(events: AsyncGenerator<TurnEvent>) {
  const out: TurnEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("an advisor turn", () => {
  it("streams tool events, sources and tokens in order; the tokens add up to the message", async () => {
    const seen: BaseMessage[][] = [];
    const model = fakeModel()
      .respondWithTools([{ name: "search_knowledge_base", args: { query: "laptops delivered" } }])
      .respond((messages) => {
        seen.push(messages);
        return new AIMessage("200 laptops were delivered [1].");
      });
    const sessions = new Map<string, InMemoryChatMessageHistory>();
    const history = (id: string) => {
      const found = sessions.get(id) ?? new InMemoryChatMessageHistory();
      sessions.set(id, found);
      return found;
    };
    const advisor = await searchingAdvisor(model, history);

    const events = await collect(advisor.chat({ message: "How many laptops?", sessionId: "s1" }));
    const kinds = events.map((e) => e.event);
    expect(kinds.indexOf("tool_start")).toBeLessThan(kinds.indexOf("tool_end"));
    expect(kinds.indexOf("tool_end")).toBeLessThan(kinds.indexOf("sources"));
    expect(kinds.at(-1)).toBe("done");
    const start = events.find((e) => e.event === "tool_start")?.data;
    expect(start).toEqual({
      id: expect.any(String),
      name: "search_knowledge_base",
      input: { query: "laptops delivered" },
    });
    // The end names the same call, so that a client can pair them.
    expect(events.find((e) => e.event === "tool_end")?.data).toMatchObject({ id: start?.id });
    const sources = events.find((e) => e.event === "sources")?.data as {
      sources: { n: number; id: string }[];
    };
    expect(sources.sources[0]).toMatchObject({ n: 1, id: "memo", source: "memo.txt" });

    const done = events.at(-1)?.data as { message: string };
    const tokens = events.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text);
    expect(tokens.join("")).toBe(done.message);
    expect(done.message).toContain("200 laptops were delivered [1].");
    // The model saw the numbered excerpt in the tool's reply.
    expect(String(seen[0].at(-1)?.content)).toMatch(/\[1\] \(memo\.txt\)\nThere were 20,000 bottles/);

    const kept = await history("s1").getMessages();
    expect(kept.map((m) => m.getType())).toEqual(["human", "ai"]);
    expect(kept[1].content).toBe(done.message);
  });

  it("sends the session's earlier turns, trimmed to the memory budget, oldest dropped first", async () => {
    const history = new InMemoryChatMessageHistory();
    for (let i = 0; i < 30; i++) {
      await history.addMessages([
        new HumanMessage(`old question ${i} ${"word ".repeat(60)}`),
        new AIMessage(`old answer ${i}`),
      ]);
    }
    let sent: BaseMessage[] = [];
    const model = fakeModel().respond((messages) => {
      sent = messages;
      return new AIMessage("ok");
    });
    const advisor = await searchingAdvisor(model, () => history, { extra: ", memoryTokens: 500" });
    await collect(advisor.chat({ message: "And now?", sessionId: "s2" }));
    const text = sent.map((m) => String(m.content)).join("\n");
    expect(text).toContain("old question 29");
    expect(text).not.toContain("old question 0 ");
    expect(String(sent.at(-1)?.content)).toBe("And now?");
  });

  it("takes the earlier messages from the request instead of a session, and stores nothing", async () => {
    const stored = new InMemoryChatMessageHistory();
    let sent: BaseMessage[] = [];
    const model = fakeModel().respond((messages) => {
      sent = messages;
      return new AIMessage("Still 200.");
    });
    const advisor = await searchingAdvisor(model, () => stored);
    const earlier = [new HumanMessage("How many laptops?"), new AIMessage("200 laptops [1].")];
    const events = await collect(advisor.chat({ message: "Are you sure?", history: earlier }));
    expect(events.at(-1)).toMatchObject({ event: "done", data: { message: "Still 200." } });
    expect(sent.slice(-3).map((m) => String(m.content))).toEqual([
      "How many laptops?",
      "200 laptops [1].",
      "Are you sure?",
    ]);
    expect(earlier).toHaveLength(2); // the caller's array is left as it was
    expect(await stored.getMessages()).toEqual([]);
  });

  it("joins messages in a row from one role and drops a question whose answer never came, so roles alternate", () => {
    const history = alternating([
      new HumanMessage("First?"),
      new AIMessage("One."),
      new AIMessage("And more."),
      new HumanMessage("Second?"),
      new AIMessage(""), // the turn failed before any text
    ]);
    expect(history.map((m) => m.getType())).toEqual(["human", "ai"]);
    expect(history[1].text).toBe("One.\n\nAnd more.");
  });

  it("caps tool calls per turn: past maxToolCalls a call is not run, the model is told, and it answers", async () => {
    const searched: string[] = [];
    const counting = await searcherTelling((query) => searched.push(query));
    let toldAtTheEnd: BaseMessage[] = [];
    const model = fakeModel()
      .respondWithTools([{ name: "search_knowledge_base", args: { query: "laptops" } }])
      // Two calls in one reply: the first is the turn's second and runs, the second is refused.
      .respondWithTools([
        { name: "search_knowledge_base", args: { query: "blankets" } },
        { name: "search_knowledge_base", args: { query: "water" } },
      ])
      .respondWithTools([{ name: "search_knowledge_base", args: { query: "tents" } }])
      .respond((messages) => {
        toldAtTheEnd = messages;
        return new AIMessage("Done searching.");
      });
    const advisor = createAdvisor({
      config: advisorChain(", maxToolCalls: 2"),
      model,
      systemPrompt: "You advise.",
      tools: { search_knowledge_base: createSearchTool({ searcher: counting, k: 1 }) },
      history: () => new InMemoryChatMessageHistory(),
      turns: new TurnQueue(),
    });
    const events = await collect(advisor.chat({ message: "Search a lot.", sessionId: "s3" }));
    expect(searched).toEqual(["laptops", "blankets"]);
    expect(events.filter((e) => e.event === "tool_start")).toHaveLength(2);
    const refused = toldAtTheEnd.filter((m) => ToolMessage.isInstance(m) && m.status === "error");
    expect(refused.map((m) => m.content)).toEqual([LIMIT_REACHED, LIMIT_REACHED]);
    expect(events.at(-1)).toMatchObject({ event: "done" });
    // The model's last reply, after being told, is the answer (the fake model also streams its tool-call turns).
    const tokens = events.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text);
    expect(tokens.join("")).toMatch(/Done searching\.$/);
  });

  it("redacts personal data from the user's message before the model and the stored history see it", async () => {
    let sent: BaseMessage[] = [];
    const model = fakeModel().respond((messages) => {
      sent = messages;
      return new AIMessage("Noted.");
    });
    const history = new InMemoryChatMessageHistory();
    const advisor = await searchingAdvisor(model, () => history, {
      extra: ", redactPii: [email, credit_card]",
      k: 1,
    });
    await collect(
      advisor.chat({ message: "I am jane@example.com, card 4111 1111 1111 1111.", sessionId: "s4" }),
    );
    const question = String(sent.at(-1)?.content);
    expect(question).not.toContain("jane@example.com");
    expect(question).not.toContain("4111 1111 1111 1111");
    expect(question).toContain("[REDACTED_EMAIL]");
    const [stored] = await history.getMessages();
    expect(stored.content).toBe(question);
  });

  it("counts a stopped answer as the assistant's turn, even an empty one, and tells the model it was cut off", () => {
    const history = alternating([
      new HumanMessage("First?"),
      stoppedAnswer(""), // stopped before any text
      new HumanMessage("Second?"),
      stoppedAnswer("Two is"),
      new HumanMessage("Third?"),
    ]);
    expect(history.map((m) => [m.getType(), m.text])).toEqual([
      ["human", "First?"],
      ["ai", "[The user stopped this answer here.]"],
      ["human", "Second?"],
      ["ai", "Two is\n\n[The user stopped this answer here.]"],
    ]);
  });

  it("keeps a stopped turn as far as it went: the question as the model saw it and the partial answer, marked stopped", async () => {
    const leave = new AbortController();
    const sent: BaseMessage[][] = [];
    const model = fakeModel()
      .respond(() => {
        leave.abort(new Error("client disconnected"));
        return new AIMessage("too late");
      })
      .respond((messages) => {
        sent.push(messages);
        return new AIMessage("Hello again.");
      });
    const history = new InMemoryChatMessageHistory();
    const advisor = await searchingAdvisor(model, () => history, { k: 1 });
    await expect(
      collect(advisor.chat({ message: "Hi", sessionId: "s5" }, { signal: leave.signal })),
    ).rejects.toThrow();
    const kept = await history.getMessages();
    expect(kept.map((m) => m.getType())).toEqual(["human", "ai"]);
    expect(kept[0].text).toBe("Hi");
    expect(kept[1].response_metadata).toMatchObject({ stopped: true });

    // The next turn of the session sends the stopped answer as the assistant's, saying it was cut off.
    await collect(advisor.chat({ message: "Again?", sessionId: "s5" }));
    expect(sent[0].slice(-3).map((m) => [m.getType(), m.text])).toEqual([
      ["human", "Hi"],
      ["ai", expect.stringMatching(/\[The user stopped this answer here\.\]$/)],
      ["human", "Again?"],
    ]);
  });

  it("keeps nothing of a turn stopped before the model was sent the message", async () => {
    const leave = new AbortController();
    leave.abort(new Error("client disconnected"));
    const history = new InMemoryChatMessageHistory();
    const advisor = await searchingAdvisor(fakeModel().respond(new AIMessage("never")), () => history, {
      k: 1,
    });
    await expect(
      collect(advisor.chat({ message: "Hi", sessionId: "s6" }, { signal: leave.signal })),
    ).rejects.toThrow();
    expect(await history.getMessages()).toEqual([]);
  });

  it("waits for an event-loop turn before and after each model call and each tool call, and leaves the queue when stopped", async () => {
    const log: string[] = [];
    class LoggedTurns extends TurnQueue {
      whenWaiting = () => {};
      override take(signal?: AbortSignal) {
        log.push("turn");
        const turn = super.take(signal);
        this.whenWaiting();
        return turn;
      }
    }
    const logged = await searcherTelling(() => log.push("tool"));
    const model = fakeModel()
      .respond(() => {
        log.push("model");
        return new AIMessage({
          content: "",
          tool_calls: [{ id: "c1", name: "search_knowledge_base", args: { query: "laptops" } }],
        });
      })
      .respond(() => {
        log.push("model");
        return new AIMessage("200 laptops [1].");
      });
    const turns = new LoggedTurns();
    const options = {
      config: advisorChain(),
      model,
      systemPrompt: "You advise.",
      tools: { search_knowledge_base: createSearchTool({ searcher: logged, k: 1 }) },
      history: () => new InMemoryChatMessageHistory(),
      turns,
    };
    const events = await collect(createAdvisor(options).chat({ message: "Laptops?", sessionId: "s7" }));
    expect(events.at(-1)).toMatchObject({ event: "done" });
    expect(log).toEqual(["turn", "model", "turn", "turn", "tool", "turn", "turn", "model", "turn"]);

    // Stopped while waiting in the queue for its turn: the turn ends, its place is given up.
    const leave = new AbortController();
    turns.whenWaiting = () => {
      expect(turns.length).toBe(1);
      leave.abort(new Error("client disconnected"));
    };
    const stopped = createAdvisor({ ...options, model: fakeModel().respond(new AIMessage("never")) }).chat(
      { message: "Hi", sessionId: "s8" },
      { signal: leave.signal },
    );
    await expect(collect(stopped)).rejects.toThrow("client disconnected");
    expect(turns.length).toBe(0);
  });
});
