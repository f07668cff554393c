/** Management screens' transport: the shared JSON client plus multipart upload, and the
 * mapping of API validation details ({"label_schema.frames[3]": [...]}) onto form fields. */
import { ApiError, NetworkError, api } from "../api";

export { ApiError, NetworkError, api };

function csrfToken(): string {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

/** POST a multipart form (file upload). Same error shape as `api`. */
export async function upload<T>(path: string, form: FormData): Promise<T> {
  const res = await fetch(`/api/v1/${path}`, {
    method: "POST", body: form, credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  const data: any = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error ?? {};
    throw new ApiError(res.status, err.code ?? "error", err.message ?? `HTTP ${res.status}`, err.details ?? null);
  }
  return data as T;
}

export type FieldErrors = Record<string, string[]>;

/**
 * Group an error's `details` by form field. A path `label_schema.frames[3]` belongs to the field
 * `label_schema.frames` and reads "line 4: …" (lists are edited one item per line); `stance.x`
 * stays as is. Anything that is not a field map lands under "" (shown at the top of the form).
 */
export function fieldErrors(err: unknown): FieldErrors {
  const out: FieldErrors = {};
  const add = (field: string, msg: string) => (out[field] ??= []).push(msg);
  if (!(err instanceof ApiError)) {
    add("", err instanceof Error ? err.message : String(err));
    return out;
  }
  const details = err.details;
  if (!details || typeof details !== "object" || Array.isArray(details)) {
    add("", err.message);
    return out;
  }
  for (const [path, value] of Object.entries(details as Record<string, unknown>)) {
    const msgs = Array.isArray(value) ? value.map(String) : [typeof value === "string" ? value : JSON.stringify(value)];
    const m = path.match(/^(.*)\[(\d+)\](?:\.(.*))?$/);
    if (m) {
      const line = Number(m[2]) + 1;
      for (const msg of msgs) add(m[1], `line ${line}${m[3] ? ` (${m[3]})` : ""}: ${msg}`);
    } else if (path === "non_field_errors") {
      for (const msg of msgs) add("", msg);
    } else {
      for (const msg of msgs) add(path, msg);
    }
  }
  return out;
}

/** One list item per non-blank line, trimmed: how label lists are edited. */
export const lines = (text: string): string[] => text.split("\n").map((s) => s.trim()).filter(Boolean);

export const fmtSeconds = (s: number | null | undefined): string => {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
};

export const fmtMetric = (m: { value: number | null; reason: string | null } | undefined): string =>
  !m || m.value === null ? "–" : m.value.toFixed(3);
