/** Shapes of the management endpoints (api/CONTRACT.md, /api/v1/projects/{id}/agreement|throughput|adjudication). */

export interface Metric {
  value: number | null;
  items: number;
  reason: string | null;
}

export interface Target {
  id: number;
  key: string;
  name: string;
  description: string;
  position: number;
}

export interface LabelSchema {
  version: number;
  stance_labels: string[];
  stance_ordered: boolean;
  frames: string[];
  frames_required: string;
  primary_frame_required: boolean;
  span_labels: string[];
}

export interface ProjectDoc {
  id: number;
  name: string;
  slug: string;
  description: string;
  guidelines: string;
  label_schema: LabelSchema;
  targets: Target[];
  overlap: number;
  assignment_timeout_minutes: number;
  reopen_window_hours?: number;
  unreviewed_suggestions?: "ask" | "block" | "allow";
  role: string;
}

export interface Stats {
  articles: number;
  overlap: number;
  assignments: Record<string, number>;
  articles_by_progress: { complete: number; partial: number; untouched: number };
  annotators: Array<{ id: number; username: string; assigned: number; in_progress: number; submitted: number;
    skipped: number; time_spent_seconds: number }>;
  stance: Record<string, Record<string, number>>;
  stance_by_source: Record<string, Record<string, Record<string, number>>>;
  frames: Record<string, number>;
}

export interface Throughput {
  days: string[];
  annotators: Array<{ id: number; username: string; submitted: number; median_seconds: number | null;
    mean_seconds: number | null; last_submitted_at: string | null; per_day: number[] }>;
}

export interface Agreement {
  articles: { total: number; with_submissions: number; compared: number; single_annotator_excluded: number };
  annotators: Array<{ id: number; username: string }>;
  stance: Array<{ target: string; name: string; level: string; items: number; single_label_excluded: number;
    alpha: Metric; alpha_nominal: Metric; fleiss_kappa: Metric; percent_agreement: Metric;
    cohen_kappa_pairs: Array<{ a: number; b: number; kappa: Metric }>; cohen_kappa_mean: Metric;
    label_counts: Record<string, number> }>;
  frames: { items: number; mean_jaccard: Metric; primary_frame_alpha: Metric;
    per_frame: Array<{ frame: string; chosen: number; alpha: Metric }> };
  spans: { items: number; per_label: Array<{ label: string; spans: number; exact_f1: Metric; overlap_f1: Metric }> };
  vs_gold: Array<{ annotator: number; username: string; items: number;
    stance: Record<string, { accuracy: Metric; kappa: Metric }>; frames_jaccard: Metric;
    spans_exact_f1: Metric; spans_overlap_f1: Metric }>;
}

export interface QueueItem {
  article_id: number;
  external_id: string | null;
  title: string;
  source: string;
  submitted: number;
  overlap: number;
  annotators: Array<{ id: number; username: string }>;
  disagreements: string[];
  gold: { method: string; decided_at: string | null; decided_by: string | null } | null;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface SpanView {
  id?: number;
  start: number;
  end: number;
  label: string;
  attrs: Record<string, unknown>;
  origin?: string;
  text?: string;
  provenance?: { from: string; annotation?: number; suggestion?: number };
}

export interface GoldDoc {
  id: number;
  method: string;
  version: number;
  stance: Record<string, string>;
  frames: string[];
  primary_frame: string;
  notes: string;
  decided_by: string | null;
  decided_at: string;
  spans: SpanView[];
}

export interface SideBySide {
  article: { id: number; external_id: string | null; title: string; source: string; url: string; text: string };
  targets: Array<{ key: string; name: string; description: string }>;
  label_schema: LabelSchema;
  annotations: Array<{ id: number; annotator: { id: number; username: string }; stance: Record<string, string>;
    frames: string[]; primary_frame: string; notes: string; submitted_at: string | null; spans: SpanView[] }>;
  disagreements: string[];
  comparison: {
    stance: Record<string, { agree: boolean; labels: Record<string, string | null> }>;
    frames: { agree: boolean; votes: Record<string, number> };
    primary_frame: { agree: boolean; labels: Record<string, string> };
    spans: Array<{ start: number; end: number; label: string; text: string; annotations: number[]; all_agree: boolean }>;
  };
  majority: { stance: Record<string, string>; frames: string[]; primary_frame: string; spans: SpanView[] };
  gold: GoldDoc | null;
  suggestions: SpanView[];
}

export interface ImportReport {
  format: string;
  records: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: unknown[];
  invalid: Array<{ line: number; field: string; text: string }>;
  invalid_count: number;
}
