// `npm run policy`: prints the task role's policy as the stack generates it, for the parameters given as
// `-c key=value` (the same names as `cdk deploy -c`), with placeholders for the stack's own ARNs. `--explain`
// prints, instead, which call of Counsel's needs each action, as a Markdown table.
import { readParameters } from "../lib/parameters.ts";
import { counselPolicyDocument, explainTable, placeholderTargets } from "../lib/policy.ts";
import { STAGING_PREFIX } from "../lib/service.ts";

const args = process.argv.slice(2);
const context = new Map<string, string>();
for (let i = 0; i < args.length; i++) {
  if (args[i] === "-c" || args[i] === "--context") {
    const [key, ...value] = (args[++i] ?? "").split("=");
    context.set(key, value.join("="));
  }
}

if (args.includes("--explain")) {
  console.log(explainTable());
} else {
  const parameters = readParameters({ tryGetContext: (key: string) => context.get(key) });
  const document = counselPolicyDocument(placeholderTargets(parameters, STAGING_PREFIX));
  console.log(JSON.stringify(document.toJSON(), null, 2));
}
