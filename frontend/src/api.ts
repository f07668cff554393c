/** Thin fetch wrapper for /api/v1 (CONTRACT.md): session cookie + CSRF header, typed errors. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

/** The request never reached the server (offline, DNS, reset): safe to retry later. */
export class NetworkError extends Error {}

function csrfToken(): string {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export type Fetch = typeof fetch;
let fetchImpl: Fetch = (...args) => fetch(...args);
/** Tests swap the transport. */
export const setFetch = (f: Fetch) => {
  fetchImpl = f;
};

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let res: Response;
  try {
    res = await fetchImpl(`/api/v1/${path}`, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new NetworkError(String(e));
  }
  if (res.status === 204) return null as T;
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 || (res.status === 403 && data?.error?.code === "not_authenticated")) {
      window.location.href = `/login/?next=${encodeURIComponent(location.pathname)}`;
    }
    // 502/503/504 from a proxy mean the server is away for a moment, like a network blip.
    if (res.status >= 502 && res.status <= 504) throw new NetworkError(`HTTP ${res.status}`);
    const err = data?.error ?? {};
    throw new ApiError(res.status, err.code ?? "error", err.message ?? `HTTP ${res.status}`, err.details ?? null);
  }
  return data as T;
}

// ------------------------------------------------------------------ shapes (CONTRACT.md)

export interface ProjectRef {
  id: number;
  name: string;
  slug: string;
  role: string;
}

export interface Me {
  id: number;
  username: string;
  display_name: string;
  projects: ProjectRef[];
}

export interface Target {
  id: number;
  key: string;
  name: string;
  description: string;
}

export interface LabelSchema {
  version: number; // the codebook version: bumped by every change of the labels
  stance_labels: string[];
  frames: string[];
  frames_required: string;
  primary_frame_required: boolean;
  span_labels: string[];
}

export interface Project {
  id: number;
  name: string;
  slug: string;
  description: string;
  guidelines: string;
  guidelines_html: string;
  label_schema: LabelSchema;
  targets: Target[];
  role: string;
  reopen_window_hours?: number; // 0: only reviewers may reopen a submission
  unreviewed_suggestions?: "ask" | "block" | "allow";
}

export interface Progress {
  assigned: number;
  in_progress: number;
  submitted: number;
  skipped: number;
  available: number;
  total_articles: number;
}

export interface ServerSpan {
  id?: number;
  start: number;
  end: number;
  label: string;
  attrs: Record<string, unknown>;
  origin?: string;
  suggestion?: number | null;
}

export interface AnnotationDoc {
  id: number;
  version: number;
  stance: Record<string, string>;
  frames: string[];
  primary_frame: string;
  notes: string;
  spans: ServerSpan[];
  rejected_suggestions: number[];
  updated_at?: string;
}

export interface ArticleDoc {
  id: number;
  external_id: string | null;
  title: string;
  source: string;
  url: string;
  published: string | null;
  text: string;
}

export interface AssignmentDoc {
  id: number;
  project: number;
  status: string;
  article: ArticleDoc;
  annotation: AnnotationDoc;
  suggestions: Array<ServerSpan & { id: number; origin: "model" | "import" | "human" }>;
  hidden_suggestions?: number; // suggestions whose label is not a span label of the project (not shown)
}

export interface MyWorkItem {
  id: number; // the assignment
  project: { id: number; name: string };
  article: { id: number; external_id: string | null; title: string; source: string };
  status: "submitted" | "skipped";
  skip_reason: string;
  submitted_at: string | null;
  closed_at: string;
  can_reopen: boolean;
  reopen_until: string | null;
  reopen_refusal: string | null;
}

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}
