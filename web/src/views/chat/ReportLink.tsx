// A report the advisor wrote (write_report): opened in place, rendered from its Markdown (GET /reports/:id, with
// the tab's key), with a download of that Markdown. The download is a blob of what was fetched: a plain link
// could not carry the API key.
import { useEffect, useState } from "react";
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { apiFetch, messageOf } from "../../api.ts";

export function ReportLink({ url }: { url: string }) {
  const [open, setOpen] = useState(false);
  const [markdown, setMarkdown] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [download, setDownload] = useState<string | null>(null);
  const id = url.split("/").pop() ?? "report";

  useEffect(() => {
    if (!open || markdown !== null) return;
    const controller = new AbortController();
    apiFetch(url, { headers: { accept: "text/markdown" }, signal: controller.signal })
      .then((res) => res.text())
      .then(setMarkdown)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(`The report could not be opened: ${messageOf(e)}`);
      });
    return () => controller.abort();
  }, [open, markdown, url]);

  useEffect(() => {
    if (markdown === null) return;
    const blob = URL.createObjectURL(new Blob([markdown], { type: "text/markdown" }));
    setDownload(blob);
    return () => URL.revokeObjectURL(blob);
  }, [markdown]);

  return (
    <div className="report">
      <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Close the report" : "Open the report"}
      </button>
      {open ? (
        <div className="report-body">
          {error ? (
            <p role="alert" className="error">
              {error}
            </p>
          ) : markdown === null ? (
            <p role="status">Opening the report…</p>
          ) : (
            <>
              {download ? (
                <a className="download" href={download} download={`report-${id}.md`}>
                  Download the report (Markdown)
                </a>
              ) : null}
              <article className="markdown" aria-label="Report">
                <Markdown remarkPlugins={[remarkGfm]}>{markdown}</Markdown>
              </article>
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
