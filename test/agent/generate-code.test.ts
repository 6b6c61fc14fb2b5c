import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import type { BaseMessage, ToolMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { RunnableConfig } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import {
  createGenerateCodeTool,
  type GeneratedCode,
  loadGenerateCodePrompts,
  parseReply,
} from "../../src/agent/tools/generate-code.ts";
import { parsePrompt } from "../../src/chains/prompts.ts";
import { ROOT } from "../helpers/services.ts";

// The repository's prompts/generate-code*.md, as the service loads them.
const prompts = await loadGenerateCodePrompts(path.join(ROOT, "prompts"));

/** LangChain's fake chat model, keeping the messages of every call it answers. */
class RecordingChatModel extends FakeListChatModel {
  readonly received: BaseMessage[][] = [];

  override async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    this.received.push([...messages]);
    return super._generate(messages, options, runManager);
  }
}

function fakeModel(responses: string[], sleep?: number): RecordingChatModel {
  return new RecordingChatModel({ responses, sleep });
}

/** Calls the tool the way an agent does, with a tool call, so that the artifact comes back too. */
async function callTool(
  model: RecordingChatModel,
  args: Record<string, unknown>,
  config?: RunnableConfig,
  maxRepairs?: number,
): Promise<{ content: string; artifact: GeneratedCode }> {
  const tool = createGenerateCodeTool({ model, prompts, maxRepairs });
  const message = (await tool.invoke(
    { type: "tool_call", id: "call_1", name: "generate_code", args },
    config,
  )) as ToolMessage;
  return { content: message.content as string, artifact: message.artifact as GeneratedCode };
}

const fence = "```";

const VALID_TS = [
  "export function median(values: number[]): number {",
  "  const sorted = [...values].sort((a, b) => a - b);",
  "  const middle = Math.floor(sorted.length / 2);",
  "  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;",
  "}",
].join("\n");
const VALID_TS_EXPLANATION =
  "`median` sorts a copy of the values and averages the middle two when the count is even.";
const VALID_TS_REPLY = `${fence}typescript\n${VALID_TS}\n${fence}\n\n${VALID_TS_EXPLANATION}`;

// The same function with its closing brace missing: the compiler reports "'}' expected." at the end of the code,
// line 4 column 89 (the fourth line has 88 characters).
const MISSING_BRACE_TS = VALID_TS.split("\n").slice(0, -1).join("\n");
const MISSING_BRACE_REPLY = `${fence}ts\n${MISSING_BRACE_TS}\n${fence}\n\nThis returns the median.`;

describe("generate_code", () => {
  it("returns the code and the explanation of the model's reply, checked, after one model call", async () => {
    const model = fakeModel([VALID_TS_REPLY]);
    const { content, artifact } = await callTool(model, { task: "Median of an array of numbers." });

    expect(artifact).toEqual({
      language: "typescript",
      code: VALID_TS,
      explanation: VALID_TS_EXPLANATION,
      checked: true,
      diagnostics: [],
      repaired: false,
      summary: "Checked with the TypeScript compiler: no errors.",
    });
    expect(content).toBe(
      `${fence}typescript\n${VALID_TS}\n${fence}\n\n${VALID_TS_EXPLANATION}\n\n` +
        "Checked with the TypeScript compiler: no errors.",
    );
    expect(model.received).toHaveLength(1);
    const [system, request] = model.received[0];
    expect(system.type).toBe("system");
    expect(system.text).toMatch(/exactly one fenced code block/);
    expect(system.text).toMatch(/never say or imply that you ran/);
    expect(request.text).toMatch(/^Language: typescript\n/);
    expect(request.text).toMatch(/Median of an array of numbers\.$/);
  });

  it("sends a syntax error back once with the compiler's diagnostic and returns the repaired code", async () => {
    const model = fakeModel([MISSING_BRACE_REPLY, VALID_TS_REPLY]);
    const { content, artifact } = await callTool(model, { task: "Median of an array of numbers." });

    expect(model.received).toHaveLength(2);
    const followUp = model.received[1];
    expect(followUp.map((m) => m.type)).toEqual(["system", "human", "ai", "human"]);
    expect(followUp[2].text).toBe(MISSING_BRACE_REPLY);
    expect(followUp[3].text).toContain("4:89 '}' expected. (TS1005)");
    expect(followUp[3].text).toContain(`one fenced ${fence}typescript block`);

    expect(artifact).toMatchObject({ code: VALID_TS, checked: true, diagnostics: [], repaired: true });
    expect(content).toContain("Checked with the TypeScript compiler: no errors after correction.");
  });

  it("catches a type error and sends its message back", async () => {
    const typeError = `${fence}typescript\nconst n: number = "x";\nconsole.log(n);\n${fence}\nPrints n.`;
    const fixed = `${fence}typescript\nconst n: number = 1;\nconsole.log(n);\n${fence}\nPrints n.`;
    const model = fakeModel([typeError, fixed]);
    const { artifact } = await callTool(model, { task: "Print a number." });

    expect(model.received[1][3].text).toContain(
      "1:7 Type 'string' is not assignable to type 'number'. (TS2322)",
    );
    expect(artifact).toMatchObject({
      code: "const n: number = 1;\nconsole.log(n);",
      diagnostics: [],
      repaired: true,
    });
  });

  it("reports what is still wrong after the one correction, having called the model exactly twice", async () => {
    const stillBroken = `${fence}typescript\nconst n: number = "one";\n${fence}\nSets n.`;
    // A third reply is there to be taken if the tool asked again: it must not.
    const model = fakeModel([MISSING_BRACE_REPLY, stillBroken, VALID_TS_REPLY]);
    const { content, artifact } = await callTool(model, { task: "Median of an array of numbers." });

    expect(model.received).toHaveLength(2);
    expect(artifact).toEqual({
      language: "typescript",
      code: 'const n: number = "one";',
      explanation: "Sets n.",
      checked: true,
      diagnostics: [
        { line: 1, column: 7, message: "Type 'string' is not assignable to type 'number'.", code: 2322 },
      ],
      repaired: true,
      summary: "Checked with the TypeScript compiler: 1 problem remains after correction.",
    });
    expect(content).toMatch(
      /Checked with the TypeScript compiler: 1 problem remains after correction:\n1:7 Type 'string' is not assignable to type 'number'\. \(TS2322\)$/,
    );
  });

  it("reports the first version's problems without asking again when maxRepairs is 0", async () => {
    const model = fakeModel([MISSING_BRACE_REPLY, VALID_TS_REPLY]);
    const { artifact } = await callTool(model, { task: "Median." }, undefined, 0);

    expect(model.received).toHaveLength(1);
    expect(artifact).toMatchObject({ code: MISSING_BRACE_TS, repaired: false });
    expect(artifact.diagnostics).toEqual([{ line: 4, column: 89, message: "'}' expected.", code: 1005 }]);
  });

  it("does not count an import of a package it cannot see as an error", async () => {
    const code =
      'import { z } from "zod-but-not-installed";\n\nexport const User = z.object({ name: z.string() });';
    const model = fakeModel([`${fence}typescript\n${code}\n${fence}\nA zod schema.`]);
    const { content, artifact } = await callTool(model, { task: "A zod schema for a user." });

    expect(model.received).toHaveLength(1);
    expect(artifact).toMatchObject({ code, checked: true, diagnostics: [], repaired: false });
    expect(content).toContain("Checked with the TypeScript compiler: no errors.");
  });

  it("checks JavaScript too", async () => {
    const broken = `${fence}js\nconst total = [1, 2, 3].reduce((a, b) => a + b, 0;\n${fence}\nSums.`;
    const fixed = `${fence}javascript\nconst total = [1, 2, 3].reduce((a, b) => a + b, 0);\n${fence}\nSums.`;
    const model = fakeModel([broken, fixed]);
    const { artifact } = await callTool(model, { task: "Sum 1, 2 and 3.", language: "javascript" });

    expect(model.received[1][3].text).toContain("1:50 ')' expected. (TS1005)");
    expect(artifact).toMatchObject({
      language: "javascript",
      checked: true,
      diagnostics: [],
      repaired: true,
    });
  });

  it("returns Python unchecked after one model call", async () => {
    const code = "def median(values):\n    s = sorted(values)\n    return s[len(s) // 2]";
    const model = fakeModel([`${fence}python\n${code}\n${fence}\nTakes the middle value.`]);
    const { content, artifact } = await callTool(model, { task: "Median.", language: "python" });

    expect(model.received).toHaveLength(1);
    expect(artifact).toEqual({
      language: "python",
      code,
      explanation: "Takes the middle value.",
      checked: false,
      diagnostics: [],
      repaired: false,
      summary: "Not checked: python has no checker here.",
    });
    expect(content).toMatch(/\n\nNot checked: python has no checker here\.$/);
  });

  it("never runs the code: code that writes a file and exits the process leaves no trace", async () => {
    const marker = path.join(tmpdir(), `counsel-generate-code-${randomUUID()}`);
    const ts = [
      'import { writeFileSync } from "node:fs";',
      `writeFileSync(${JSON.stringify(marker)}, "ran");`,
      "process.exit(3);",
    ].join("\n");
    // Broken first, so that the code goes through both checks and a correction.
    const model = fakeModel([
      `${fence}typescript\n${ts}\n{\n${fence}\nWrites a file.`,
      `${fence}typescript\n${ts}\n${fence}\nWrites a file.`,
    ]);
    const { artifact } = await callTool(model, { task: "Write a marker file and exit." });
    expect(artifact).toMatchObject({ code: ts, checked: true, diagnostics: [], repaired: true });

    const python = `import os\nopen(${JSON.stringify(marker)}, "w").write("ran")\nos._exit(3)`;
    const pythonModel = fakeModel([`${fence}python\n${python}\n${fence}\nWrites a file.`]);
    const pythonResult = await callTool(pythonModel, { task: "Write a marker file.", language: "python" });
    expect(pythonResult.artifact.code).toBe(python);

    expect(existsSync(marker)).toBe(false);
  });

  it("asks once for a code block when the reply has none", async () => {
    const model = fakeModel([
      "You can compute it by sorting and taking the middle.",
      `${fence}sql\nSELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM payments;\n${fence}\nPostgreSQL.`,
    ]);
    const { artifact } = await callTool(model, { task: "Median payment.", language: "sql" });

    expect(model.received).toHaveLength(2);
    expect(model.received[1][3].text).toMatch(/no fenced code block/);
    expect(artifact).toMatchObject({ language: "sql", checked: false, repaired: true });
    expect(artifact.code).toMatch(/^SELECT percentile_cont/);
  });

  it("says so when the model gives no code at all", async () => {
    const model = fakeModel(["I would rather not.", "Still no."]);
    const { content, artifact } = await callTool(model, { task: "Anything.", language: "go" });

    expect(model.received).toHaveLength(2);
    expect(artifact).toMatchObject({ code: "", explanation: "I would rather not.", checked: false });
    expect(content).toMatch(/^The model returned no code block\./);
  });

  it("stops with an AbortError before calling the model when the signal is already aborted", async () => {
    const model = fakeModel([VALID_TS_REPLY]);
    const controller = new AbortController();
    controller.abort();

    await expect(callTool(model, { task: "Median." }, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(model.received).toHaveLength(0);
  });

  it("stops when aborted during the model call and never asks for the correction", async () => {
    const model = fakeModel([MISSING_BRACE_REPLY, VALID_TS_REPLY], 200);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    await expect(callTool(model, { task: "Median." }, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the first call's end
    expect(model.received).toHaveLength(1);
  });

  it("makes its model calls children of the tool's run, hidden from the advisor's token stream", async () => {
    const runs: { event: string; runId: string; parentRunId?: string; tags?: string[] }[] = [];
    const handler = BaseCallbackHandler.fromMethods({
      handleToolStart(_tool, _input, runId) {
        runs.push({ event: "tool", runId });
      },
      handleChatModelStart(_llm, _messages, runId, parentRunId, _extra, tags) {
        runs.push({ event: "model", runId, parentRunId, tags });
      },
    });
    const model = fakeModel([MISSING_BRACE_REPLY, VALID_TS_REPLY]);
    await callTool(model, { task: "Median." }, { callbacks: [handler] });
    await awaitAllCallbacks();

    const toolRun = runs.find((run) => run.event === "tool");
    const modelRuns = runs.filter((run) => run.event === "model");
    expect(modelRuns).toHaveLength(2);
    for (const run of modelRuns) {
      expect(run.parentRunId).toBe(toolRun?.runId);
      expect(run.tags).toContain("langsmith:nostream");
    }
  });

  it("validates its input: a task is required and the language defaults to TypeScript", async () => {
    const tool = createGenerateCodeTool({ model: fakeModel([VALID_TS_REPLY]), prompts });
    await expect(tool.invoke({ task: "   " })).rejects.toThrow(/did not match expected schema/);
    await expect(tool.invoke({ task: "x", language: "cobol" })).rejects.toThrow(
      /did not match expected schema/,
    );
    // Called with plain arguments (no tool call), a content-and-artifact tool returns the content only.
    expect(await tool.invoke({ task: "Median." })).toMatch(/^```typescript\n/);
    expect(() => createGenerateCodeTool({ model: fakeModel([""]), prompts, maxRepairs: -1 })).toThrow(
      RangeError,
    );
  });
  it("refuses a prompt without the placeholders the tool fills in", () => {
    const bad = parsePrompt("Fix {diagnostics} in {lang}.", "bad.md", "advisor");
    expect(() =>
      createGenerateCodeTool({ model: fakeModel([""]), prompts: { ...prompts, repair: bad } }),
    ).toThrow(
      /generate-code-repair\.md must use exactly \{problems\} \{diagnostics\} \{language\}; missing \{problems\} \{language\}; unknown \{lang\}/,
    );
  });
});

describe("parseReply", () => {
  it("takes the block in the requested language and leaves the rest as the explanation", () => {
    const reply = [
      "Install the package first:",
      "",
      `${fence}bash`,
      "npm install zod",
      fence,
      "",
      `${fence}ts`,
      "export const x = 1;",
      fence,
      "",
      "Then import it.",
    ].join("\n");
    expect(parseReply(reply, "typescript")).toEqual({
      code: "export const x = 1;",
      explanation: `Install the package first:\n\n${fence}bash\nnpm install zod\n${fence}\n\nThen import it.`,
    });
  });

  it("prefers an unlabelled block to one in another language", () => {
    const reply = `${fence}bash\nnpm install zod\n${fence}\n${fence}\nexport const x = 1;\n${fence}`;
    expect(parseReply(reply, "typescript").code).toBe("export const x = 1;");
  });

  it("keeps a shorter fence inside a longer one as code, and reads an unclosed fence to the end", () => {
    const inner = `const md = \`\n${fence}js\nx\n${fence}\n\`;`;
    expect(parseReply(`\`\`\`\`typescript\n${inner}\n\`\`\`\`\nDone.`, "typescript")).toEqual({
      code: inner,
      explanation: "Done.",
    });
    expect(parseReply(`Here:\n${fence}python\nprint(1)\n`, "python")).toEqual({
      code: "print(1)",
      explanation: "Here:",
    });
  });
});
