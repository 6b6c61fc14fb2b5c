// Code the advisor generated (generate_code), highlighted, with what the TypeScript checker found: each
// diagnostic's line, column and message. Highlighted by highlight.js with only the languages generate_code writes
// (src/agent/tools/generate-code.ts LANGUAGES), so the bundle carries no others.
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import csharp from "highlight.js/lib/languages/csharp";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import kotlin from "highlight.js/lib/languages/kotlin";
import php from "highlight.js/lib/languages/php";
import python from "highlight.js/lib/languages/python";
import ruby from "highlight.js/lib/languages/ruby";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import { useMemo } from "react";
import type { CodeCheck } from "./messages.ts";

const LANGUAGES = {
  bash,
  c,
  cpp,
  csharp,
  go,
  java,
  javascript,
  kotlin,
  php,
  python,
  ruby,
  rust,
  sql,
  typescript,
};
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);

export function CodeCheckView({ check }: { check: CodeCheck }) {
  const code = check.code ?? "";
  // highlight.js escapes the code and adds only <span class>: no script, no inline style (the CSP allows neither).
  const html = useMemo(
    () =>
      hljs.getLanguage(check.language)
        ? hljs.highlight(code, { language: check.language, ignoreIllegals: true }).value
        : hljs.highlightAuto(code).value,
    [code, check.language],
  );
  const diagnostics = check.diagnostics ?? [];
  const verdict = !check.checked
    ? `Not checked: there is no checker for ${check.language}.`
    : check.problems === 0
      ? `The TypeScript checker found no problems${check.repaired ? " (after a repair)" : ""}.`
      : `The TypeScript checker found ${check.problems} problem${check.problems === 1 ? "" : "s"}${check.repaired ? " (after a repair)" : ""}:`;
  return (
    <div className="code-check">
      {code ? (
        <figure>
          <figcaption className="hint">Generated {check.language} code</figcaption>
          {/* Long lines wrap (chat.css) rather than scroll: nothing is out of a keyboard's or a phone's reach. */}
          <pre>
            {/* biome-ignore lint/security/noDangerouslySetInnerHtml: highlight.js output, escaped by it */}
            <code className={`hljs language-${check.language}`} dangerouslySetInnerHTML={{ __html: html }} />
          </pre>
        </figure>
      ) : (
        <p className="hint">The model returned no code.</p>
      )}
      <p className={check.checked && check.problems > 0 ? "check-problems" : "check-ok"}>{verdict}</p>
      {diagnostics.length > 0 ? (
        <ul className="diagnostics">
          {diagnostics.map((d) => (
            <li key={`${d.line}:${d.column}:${d.code}`}>
              <span className="where">
                line {d.line}, column {d.column}
              </span>
              : {d.message} <span className="hint">(TS{d.code})</span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
