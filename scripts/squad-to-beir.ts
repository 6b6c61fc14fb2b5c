// Converts a SQuAD 2.0 file (dev-v2.0.json's layout) into the BEIR folder `counsel eval` reads: one corpus
// document per paragraph, one query per question with its reference answers (or `unanswerable: true`), and
// qrels tying each question to its paragraph. Articles alternate between two splits (even positions: the
// calibration split, odd: the test split), so that a setting tuned on one is reported on articles it never saw.
//   npx tsx scripts/squad-to-beir.ts <dev-v2.0.json> <out dir>
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

interface Squad {
  version: string;
  data: {
    title: string;
    paragraphs: {
      context: string;
      qas: { id: string; question: string; is_impossible?: boolean; answers: { text: string }[] }[];
    }[];
  }[];
}

const [input, out] = process.argv.slice(2);
if (!input || !out) throw new Error("usage: squad-to-beir.ts <dev-v2.0.json> <out dir>");
const squad = JSON.parse(await readFile(input, "utf8")) as Squad;
if (squad.version !== "v2.0") throw new Error(`${input}: not SQuAD 2.0 (version ${squad.version})`);

const corpus: string[] = [];
const queries: string[] = [];
const qrels: Record<string, string[]> = { calibration: [], test: [] };
squad.data.forEach((article, a) => {
  const split = a % 2 === 0 ? "calibration" : "test";
  const title = article.title.replace(/_/g, " ");
  article.paragraphs.forEach((paragraph, p) => {
    const docId = `${article.title}/${p}`;
    corpus.push(JSON.stringify({ _id: docId, title, text: paragraph.context }));
    for (const qa of paragraph.qas) {
      // SQuAD lists each annotator's answer; the same span is often given several times.
      const answers = [...new Set(qa.answers.map((answer) => answer.text.trim()))];
      queries.push(
        JSON.stringify({
          _id: qa.id,
          text: qa.question.trim(),
          ...(qa.is_impossible ? { unanswerable: true } : { answers }),
          metadata: { article: title },
        }),
      );
      qrels[split].push(`${qa.id}\t${docId}\t1`);
    }
  });
});

await mkdir(path.join(out, "qrels"), { recursive: true });
await writeFile(path.join(out, "corpus.jsonl"), `${corpus.join("\n")}\n`);
await writeFile(path.join(out, "queries.jsonl"), `${queries.join("\n")}\n`);
for (const [split, lines] of Object.entries(qrels))
  await writeFile(
    path.join(out, "qrels", `${split}.tsv`),
    `query-id\tcorpus-id\tscore\n${lines.join("\n")}\n`,
  );
console.log(`${corpus.length} paragraphs, ${queries.length} questions → ${out}`);
