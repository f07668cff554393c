// The one place that decides whether an article's url may become a link. The server refuses
// non-http(s) urls at import since issue 13, but rows stored before that (or by hand) may hold
// `javascript:` or `data:`: those are shown as text, never as an href.
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}
