// What a scripted model writes as write_report's report on the memo fixture (fake-memo.pdf / .txt): four
// sections, each citing the memo as [1]. Shared by the tests that drive the advisor's write_report.
export const MEMO_REPORT = [
  "# Relief shipment of January 2023",
  "## Executive summary",
  "The January delivery included 200 laptops [1].",
  "## Findings",
  "- 20,000 bottles of water and 10,000 blankets were delivered on January 23, 2023 [1].",
  "## Recommendations",
  "- Keep the delivery records with the memo [1].",
].join("\n\n");
