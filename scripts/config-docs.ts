// `npm run docs:config`: rewrites the settings table in docs/configuration.md from the settings schema.
// test/docs/configuration.test.ts fails when the committed file differs from what this would write.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { withSettingsTable } from "./settings-table.ts";

const file = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));
const before = await readFile(file, "utf8");
const after = withSettingsTable(before);
if (after === before) {
  console.log("docs/configuration.md: the settings table is up to date");
} else {
  await writeFile(file, after);
  console.log("docs/configuration.md: settings table rewritten from src/config/settings.ts");
}
