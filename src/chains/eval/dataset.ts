// Reads an evaluation dataset in BEIR's layout: corpus.jsonl ({_id, title, text}), queries.jsonl ({_id, text},
// optionally with reference answers or marked unanswerable) and qrels/<split>.tsv (query-id, corpus-id, score).
// Streams the corpus, which can be large; queries and qrels are small enough to hold.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { BadRequestError } from "../../errors.ts";

export interface CorpusDocument {
  id: string;
  title: string;
  text: string;
}

export interface EvalQuery {
  id: string;
  text: string;
  /**
   * Reference answers, when the dataset has them (`answers` or `answer`, a string or a list, on the query or in
   * its `metadata`): an answer is scored against the closest one.
   */
  answers?: string[];
  /** The knowledge base does not answer it (`unanswerable: true`, on the query or in its metadata). */
  unanswerable?: boolean;
}

/** query id -> (document id -> graded relevance). */
export type QrelsByQuery = Map<string, Map<string, number>>;

export interface EvalDataset {
  /** The folder's base name, e.g. "scifact". */
  name: string;
  dir: string;
  split: string;
  corpusFile: string;
  /** The queries that have judgements in this split, in file order, at most `limit`. */
  queries: EvalQuery[];
  qrels: QrelsByQuery;
}

/** The dataset cannot be read as BEIR: names the file, the line and what was expected. */
export class DatasetError extends BadRequestError {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}

const LAYOUT = "a BEIR dataset folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv";

/** Opens a BEIR folder: checks its files, reads the split's qrels and the queries judged in them. */
export async function openDataset(
  dir: string,
  options: { split?: string; limit?: number } = {},
): Promise<EvalDataset> {
  const split = options.split ?? "test";
  const absolute = path.resolve(dir);
  const corpusFile = path.join(absolute, "corpus.jsonl");
  const queriesFile = path.join(absolute, "queries.jsonl");
  const qrelsFile = path.join(absolute, "qrels", `${split}.tsv`);
  for (const file of [corpusFile, queriesFile, qrelsFile]) {
    await access(file).catch(() => {
      throw new DatasetError(`${file}: no such file (${LAYOUT})`);
    });
  }
  const qrels = await readQrels(qrelsFile);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const queries: EvalQuery[] = [];
  // Only judged queries can be scored; BEIR ships one queries file for all splits.
  for await (const query of readQueries(queriesFile)) {
    if (queries.length >= limit) break;
    if (qrels.has(query.id)) queries.push(query);
  }
  if (queries.length === 0)
    throw new DatasetError(`${queriesFile}: no query has judgements in qrels/${split}.tsv`);
  return { name: path.basename(absolute), dir: absolute, split, corpusFile, queries, qrels };
}

/** The non-empty lines of a text file, with their 1-based numbers (for error messages). */
async function* numberedLines(file: string): AsyncGenerator<[number, string]> {
  const lines = createInterface({
    input: createReadStream(file, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (line.trim()) yield [number, line];
  }
}

/** Parses one JSON object per non-empty line; a bad line is reported with its number. */
export async function* jsonLines<T>(file: string): AsyncGenerator<T> {
  for await (const [number, line] of numberedLines(file)) {
    try {
      yield JSON.parse(line) as T;
    } catch (error) {
      throw new DatasetError(`${file}, line ${number}: not JSON (${(error as Error).message})`);
    }
  }
}

export async function* readCorpus(file: string): AsyncGenerator<CorpusDocument> {
  for await (const doc of jsonLines<{ _id?: unknown; title?: unknown; text?: unknown }>(file)) {
    if (doc._id === undefined || doc._id === null || doc._id === "")
      throw new DatasetError(`${file}: a document has no _id`);
    yield {
      id: String(doc._id),
      title: typeof doc.title === "string" ? doc.title : "",
      text: typeof doc.text === "string" ? doc.text : "",
    };
  }
}

/** The text a corpus document is indexed as: title, then body, as the retrieval benchmark ingests it. */
export function corpusText(doc: CorpusDocument): string {
  return [doc.title, doc.text].filter(Boolean).join("\n");
}

export async function* readQueries(file: string): AsyncGenerator<EvalQuery> {
  type Fields = { answers?: unknown; answer?: unknown; unanswerable?: unknown };
  type Line = Fields & { _id?: unknown; text?: unknown; metadata?: Fields };
  for await (const q of jsonLines<Line>(file)) {
    if (q._id === undefined || q._id === null || typeof q.text !== "string")
      throw new DatasetError(`${file}: expected {"_id", "text"} on every line`);
    const answers = [
      ...referenceAnswers(q.answers),
      ...referenceAnswers(q.answer),
      ...referenceAnswers(q.metadata?.answers),
      ...referenceAnswers(q.metadata?.answer),
    ];
    const unanswerable = q.unanswerable === true || q.metadata?.unanswerable === true;
    if (unanswerable && answers.length > 0)
      throw new DatasetError(`${file}: query ${String(q._id)} is marked unanswerable but has answers`);
    yield {
      id: String(q._id),
      text: q.text,
      ...(answers.length ? { answers: [...new Set(answers)] } : {}),
      ...(unanswerable ? { unanswerable } : {}),
    };
  }
}

/** The non-empty strings of a reference answer field. SciFact's metadata holds evidence objects: not answers. */
function referenceAnswers(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((answer): answer is string => typeof answer === "string" && answer.trim() !== "");
}

/** Reads a qrels TSV (query-id, corpus-id, score), with or without its header line. */
export async function readQrels(file: string): Promise<QrelsByQuery> {
  const qrels: QrelsByQuery = new Map();
  for await (const [number, line] of numberedLines(file)) {
    const [queryId, docId, score] = line.split("\t").map((cell) => cell.trim());
    const value = Number(score);
    if (number === 1 && !Number.isFinite(value)) continue; // the "query-id corpus-id score" header
    if (!queryId || !docId || !Number.isFinite(value))
      throw new DatasetError(
        `${file}, line ${number}: expected query-id, corpus-id and a score, tab-separated`,
      );
    let relevant = qrels.get(queryId);
    if (!relevant) {
      relevant = new Map();
      qrels.set(queryId, relevant);
    }
    relevant.set(docId, value);
  }
  return qrels;
}

/** SHA-256 of a file's bytes, streamed: identifies a corpus without holding it. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
