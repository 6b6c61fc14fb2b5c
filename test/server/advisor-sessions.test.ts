// GET /advisor/sessions end to end, in memory (the embedded store) and in Redis (the test run's real Redis 8): a
// tenant's conversations from POST /advisor/chat and from POST /advisor/ui with a sessionId, newest first, each
// titled by its first message; never another tenant's; a bad limit refused with a 400.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { startService, tempDataDir } from "../helpers/services.ts";

const BEDROCK = { MODEL_PROVIDER: "bedrock", MODEL_ID: "us.amazon.nova-micro-v1:0", SSE_HEARTBEAT_MS: "0" };
const LONG_QUESTION =
  "Which shipments of the January 2023 relief effort arrived late, and what did the memo recommend for next time?";

interface Listed {
  id: string;
  title: string;
  messages: number;
  updatedAt: string;
}

describe.each([
  ["in memory", () => ({})],
  [
    "in Redis",
    () => ({ REDIS_URL: inject("redisUrl"), REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}` }),
  ],
])("the advisor's sessions %s", (_, backend) => {
  const emulator = useBedrockEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: Awaited<ReturnType<typeof startService>>;
  let keys: Record<"acme" | "globex", string>;

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, {
      acme: { tenant: "acme", scopes: ["chat"] },
      globex: { tenant: "globex", scopes: ["chat"] },
    });
    keys = written.keys;
    service = await startService(path.join(data.dir, "state"), {
      ...BEDROCK,
      ...backend(),
      API_KEYS_FILE: written.file,
    });
  });
  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });

  const chat = async (key: string, message: string, sessionId?: string) => {
    const res = await fetch(`${service.url}/advisor/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(key) },
      body: JSON.stringify({ message, ...(sessionId ? { sessionId } : {}) }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { sessionId: string }).sessionId;
  };
  /** A useChat request to POST /advisor/ui that names its session; `texts` alternate user, assistant, user… */
  const postUi = (sessionId: string, texts: string[]) =>
    fetch(`${service.url}/advisor/ui`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(keys.acme) },
      body: JSON.stringify({
        id: sessionId,
        sessionId,
        messages: texts.map((text, i) => ({
          id: `m${i}`,
          role: i % 2 === 0 ? "user" : "assistant",
          parts: [{ type: "text", text }],
        })),
      }),
    });
  const list = async (key: string, query = "") => {
    const res = await fetch(`${service.url}/advisor/sessions${query}`, { headers: bearer(key) });
    return { status: res.status, body: (await res.json()) as { sessions: Listed[]; detail?: string } };
  };

  it("lists a tenant's conversations newest first, titled by their first message, with their sizes", async () => {
    const first = await chat(keys.acme, "How many laptops were delivered?");
    const second = await chat(keys.acme, LONG_QUESTION);
    await chat(keys.acme, "And the blankets?", first); // the first conversation is now the newest

    const { status, body } = await list(keys.acme);
    expect(status).toBe(200);
    expect(body.sessions.map((s) => s.id)).toEqual([first, second]);
    expect(body.sessions[0]).toEqual({
      id: first,
      title: "How many laptops were delivered?",
      messages: 4,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const { title, messages } = body.sessions[1];
    expect(messages).toBe(2);
    expect(title.length).toBeLessThanOrEqual(80);
    expect(title).toMatch(/^Which shipments of the January 2023 relief effort .*…$/);
    expect(LONG_QUESTION.startsWith(title.slice(0, -1))).toBe(true);
    expect(Date.parse(body.sessions[0].updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(body.sessions[1].updatedAt),
    );

    expect((await list(keys.acme, "?limit=1")).body.sessions.map((s) => s.id)).toEqual([first]);
  });

  it("keeps a POST /advisor/ui turn in the session it names, which the list then shows first", async () => {
    const sessionId = `ui-${crypto.randomUUID()}`;
    const res = await postUi(sessionId, ["What is the weather in Paris?"]);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"type":"finish"');
    const { body } = await list(keys.acme);
    expect(body.sessions[0]).toMatchObject({
      id: sessionId,
      title: "What is the weather in Paris?",
      messages: 2,
    });
    const stored = await fetch(`${service.url}/advisor/sessions/${sessionId}`, {
      headers: bearer(keys.acme),
    });
    expect(((await stored.json()) as { messages: { role: string }[] }).messages.map((m) => m.role)).toEqual([
      "user",
      "assistant",
    ]);

    // The next turn's history is the session's: what else the request sends before its message is not read.
    const before = emulator.requests.length;
    const next = await postUi(sessionId, ["Not part of the session", "Nor this", "And in Lyon?"]);
    await next.text();
    const sent = emulator.requests[before].body as { messages: { content: { text?: string }[] }[] };
    expect(sent.messages.map((m) => m.content[0].text ?? "")).toEqual([
      "What is the weather in Paris?",
      expect.any(String),
      "And in Lyon?",
    ]);
    expect((await list(keys.acme)).body.sessions[0]).toMatchObject({ id: sessionId, messages: 4 });
  });

  it("never lists or deletes another tenant's conversations", async () => {
    const acme = (await list(keys.acme)).body.sessions;
    expect(acme.length).toBeGreaterThan(0);
    expect((await list(keys.globex)).body.sessions).toEqual([]);
    const mine = await chat(keys.globex, "A globex question?");
    expect((await list(keys.globex)).body.sessions.map((s) => s.id)).toEqual([mine]);

    // globex deleting acme's id deletes nothing of acme's.
    const del = (key: string, id: string) =>
      fetch(`${service.url}/advisor/sessions/${id}`, { method: "DELETE", headers: bearer(key) });
    expect((await del(keys.globex, acme[0].id)).status).toBe(204);
    expect((await list(keys.acme)).body.sessions.map((s) => s.id)).toEqual(acme.map((s) => s.id));

    // acme deleting it does: the list drops it.
    expect((await del(keys.acme, acme[0].id)).status).toBe(204);
    expect((await list(keys.acme)).body.sessions.map((s) => s.id)).toEqual(acme.slice(1).map((s) => s.id));
  });

  it.each(["?limit=0", "?limit=101", "?limit=ten", "?limit=1.5", "?page=2"])(
    "refuses %s with a 400 problem",
    async (query) => {
      const res = await fetch(`${service.url}/advisor/sessions${query}`, { headers: bearer(keys.acme) });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { detail: string }).detail).toMatch(/limit|additional properties/);
    },
  );

  it("refuses a key without the chat scope", async () => {
    const res = await fetch(`${service.url}/advisor/sessions`);
    expect(res.status).toBe(401);
  });
});
