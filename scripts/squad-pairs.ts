// Makes a multi-part question set from the SQuAD 2.0 BEIR folder (bench/datasets/squad2): pairs of its test
// split's answerable questions from different articles, joined into one question that asks both ("In what
// country is Normandy located and who was the Norse leader?"), each pair judged relevant to both paragraphs.
// Seeded, so that it is made the same every time. The corpus is squad2's (a symbolic link).
//   npx tsx scripts/squad-pairs.ts [bench/datasets/squad2] [bench/datasets/squad2-pairs] [300]
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";

const [source = "bench/datasets/squad2", out = "bench/datasets/squad2-pairs", count = "300"] =
  process.argv.slice(2);
type Query = { _id: string; text: string; answers?: string[]; metadata: { article: string } };
const queries = new Map<string, Query>();
for (const line of (await readFile(path.join(source, "queries.jsonl"), "utf8")).split("\n"))
  if (line.trim()) {
    const query = JSON.parse(line) as Query;
    queries.set(query._id, query);
  }
const paragraph = new Map<string, string>();
for (const line of (await readFile(path.join(source, "qrels/test.tsv"), "utf8")).split("\n").slice(1)) {
  const [id, doc] = line.split("\t");
  if (id && doc) paragraph.set(id, doc);
}
const answerable = [...paragraph.keys()].filter(
  (id) => queries.get(id)?.answers && /\?$/.test(queries.get(id)?.text ?? ""),
);

// Mulberry32, as the evaluation's bootstrap: the same pairs every time.
let state = 20261207;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const pick = () => answerable[Math.floor(random() * answerable.length)];

const lines: string[] = [];
const qrels: string[] = ["query-id\tcorpus-id\tscore"];
const used = new Set<string>();
while (lines.length < Number(count)) {
  const [a, b] = [pick(), pick()].map((id) => queries.get(id) as Query);
  if (a.metadata.article === b.metadata.article || used.has(a._id) || used.has(b._id)) continue;
  used.add(a._id);
  used.add(b._id);
  const text = `${a.text.replace(/\?$/, "")} and ${b.text[0].toLowerCase()}${b.text.slice(1)}`;
  const id = `${a._id}+${b._id}`;
  lines.push(JSON.stringify({ _id: id, text, metadata: { parts: [a.text, b.text] } }));
  qrels.push(`${id}\t${paragraph.get(a._id)}\t1`, `${id}\t${paragraph.get(b._id)}\t1`);
}
await mkdir(path.join(out, "qrels"), { recursive: true });
await writeFile(path.join(out, "queries.jsonl"), `${lines.join("\n")}\n`);
await writeFile(path.join(out, "qrels/test.tsv"), `${qrels.join("\n")}\n`);
await symlink(path.relative(out, path.join(source, "corpus.jsonl")), path.join(out, "corpus.jsonl")).catch(
  (error) => {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  },
);
console.log(`${lines.length} paired questions → ${out}`);
