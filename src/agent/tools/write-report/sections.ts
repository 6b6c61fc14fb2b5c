// The Markdown structure of a report: its "# " and "## " sections, and the sections every report must have.

export const REQUIRED_SECTIONS = ["Executive summary", "Findings", "Recommendations"] as const;

/** How each required section's heading may be written ("1. Key findings" is Findings). */
export const SECTION_HEADINGS: Record<(typeof REQUIRED_SECTIONS)[number], RegExp> = {
  "Executive summary": /^(?:\d+[.)]?\s*)?executive summary\b/i,
  Findings: /^(?:\d+[.)]?\s*)?(?:key\s+)?findings\b/i,
  Recommendations: /^(?:\d+[.)]?\s*)?recommendations?\b/i,
};

export interface Section {
  /** 0 for text before the first heading. */
  level: number;
  heading: string;
  body: string;
}

/** The text cut at its `# ` and `## ` headings; deeper headings stay in their section's body. */
export function splitSections(markdown: string): Section[] {
  const sections: Section[] = [{ level: 0, heading: "", body: "" }];
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const heading = fence ? null : /^(#{1,2})[ \t]+(.*?)[ \t#]*$/.exec(line);
    if (heading) sections.push({ level: heading[1].length, heading: heading[2].trim(), body: "" });
    else (sections.at(-1) as Section).body += `${line}\n`;
  }
  return sections.filter((s) => s.level > 0 || s.body.trim());
}
