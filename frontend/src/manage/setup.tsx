/** Project setup: create or edit a project and its label schema, and its stance targets.
 * Validation messages from the API appear beside the field they concern. */
import { useState } from "preact/hooks";
import { useLoad } from "./app";
import { api, type FieldErrors, fieldErrors, lines } from "./http";
import { guessMappings, type Kind, type Mappings } from "./codebook";
import type { LabelSchema, ProjectDoc, Target } from "./types";
import { parseTargets, slugify } from "./slug";

const DEFAULT_STANCE = "FAVOR\nAGAINST\nNEUTRAL\nUNRELATED";

export function Errors({ errors, field }: { errors: FieldErrors; field: string }) {
  const msgs = errors[field];
  if (!msgs?.length) return null;
  return (
    <ul class="m-field-errors" role="alert" data-field={field}>
      {msgs.map((m) => <li key={m}>{m}</li>)}
    </ul>
  );
}

interface Form {
  name: string;
  slug: string;
  description: string;
  guidelines: string;
  overlap: string;
  timeout: string;
  reopen_window: string;
  unreviewed: string;
  stance_labels: string;
  stance_ordered: boolean;
  frames: string;
  frames_required: string;
  primary_frame_required: boolean;
  span_labels: string;
  targets: string;
}

function toForm(p: ProjectDoc | null): Form {
  const s: Partial<LabelSchema> = p?.label_schema ?? {};
  return {
    name: p?.name ?? "", slug: p?.slug ?? "", description: p?.description ?? "", guidelines: p?.guidelines ?? "",
    overlap: String(p?.overlap ?? 2), timeout: String(p?.assignment_timeout_minutes ?? 60),
    reopen_window: String(p?.reopen_window_hours ?? 24), unreviewed: p?.unreviewed_suggestions ?? "ask",
    stance_labels: s.stance_labels?.join("\n") ?? DEFAULT_STANCE, stance_ordered: s.stance_ordered ?? false,
    frames: s.frames?.join("\n") ?? "", frames_required: s.frames_required ?? "at_least_one",
    primary_frame_required: s.primary_frame_required ?? true, span_labels: s.span_labels?.join("\n") ?? "",
    targets: "",
  };
}

// A label never has leading spaces (the API refuses them), so this option cannot be a label.
const DROP = " drop";
const KIND_NAMES: Record<Kind, string> = { stance_labels: "stance label", frames: "frame", span_labels: "span label" };
const PLACE_NAMES: Record<string, string> = {
  annotations: "annotations", gold: "gold", annotation_spans: "annotators' spans", gold_spans: "gold spans",
  suggestions: "suggestions",
};

interface LabelUses { kind: Kind; label: string; to?: string | null; action?: string; uses: Record<string, number>;
  total: number }
export interface Preview {
  codebook_version: number; next_version: number; changed: boolean; ok: boolean;
  added: Record<Kind, string[]>; removed: Record<Kind, string[]>; migrate: LabelUses[]; blocked: LabelUses[];
  label_schema: LabelSchema;
}

const usesText = (u: LabelUses) =>
  Object.entries(u.uses).filter(([, n]) => n).map(([p, n]) => `${n} ${PLACE_NAMES[p] ?? p}`).join(", ") || "unused";

/** What the preview shows before a codebook change is saved: per removed label its uses and
 * where they go; the admin picks a new label (rename/merge) or "drop" for each one in use. */
function CodebookReview({ preview, mappings, setMapping, schema }: {
  preview: Preview; mappings: Mappings; schema: LabelSchema;
  setMapping: (kind: Kind, label: string, to: string | null | undefined) => void;
}) {
  const rows = [...preview.migrate, ...preview.blocked];
  // A rename's new name is shown on its row below, not as an addition.
  const added = (Object.entries(preview.added) as Array<[Kind, string[]]>)
    .map(([kind, labels]): [Kind, string[]] => [kind, labels.filter((l) => !Object.values(mappings[kind] ?? {}).includes(l))])
    .filter(([, v]) => v.length);
  return (
    <div class="m-preview" role="region" aria-label="Codebook change preview">
      <h3>This change: codebook version {preview.codebook_version} → {preview.next_version}</h3>
      {added.map(([kind, labels]) => (
        <p key={kind}>Adds {KIND_NAMES[kind]}s {labels.map((l) => <code key={l}>{l}</code>)} (nothing to migrate).</p>
      ))}
      {rows.length > 0 && (
        <table class="m-table">
          <thead><tr><th>Removed label</th><th>Used by</th><th>Becomes</th></tr></thead>
          <tbody>
            {rows.map((r) => {
              const value = mappings[r.kind]?.[r.label];
              return (
                <tr key={`${r.kind}:${r.label}`} class={preview.blocked.includes(r) ? "m-invalid" : ""}>
                  <td>{KIND_NAMES[r.kind]} <code>{r.label}</code></td>
                  <td data-uses={r.label}>{usesText(r)}</td>
                  <td>
                    <select aria-label={`New label for ${r.label}`}
                            value={value === undefined ? "" : value === null ? DROP : value}
                            onChange={(e) => {
                              const v = (e.currentTarget as HTMLSelectElement).value;
                              setMapping(r.kind, r.label, v === "" ? undefined : v === DROP ? null : v);
                            }}>
                      <option value="">{r.total ? "— choose —" : "(removed, unused)"}</option>
                      {schema[r.kind].map((l) => <option key={l} value={l}>{l}</option>)}
                      <option value={DROP}>drop its uses</option>
                    </select>
                    {r.action && r.to !== undefined && r.total > 0 &&
                      <small class="m-muted"> {r.action}: {r.total} rewritten</small>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!preview.ok && <p class="m-error" role="alert">Choose what becomes of each removed label that is still in use.</p>}
      {preview.ok && !rows.length && !added.length && <p class="m-muted">Only settings change; nothing to migrate.</p>}
    </div>
  );
}

export function Setup({ project, onSaved }: { project: ProjectDoc | null; onSaved: (p: ProjectDoc | null) => void }) {
  const [form, setForm] = useState<Form>(() => toForm(project));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [mappings, setMappings] = useState<Mappings>({});
  // A new project's slug follows its name until someone types a slug of their own.
  const [slugEdited, setSlugEdited] = useState(false);
  const set = (k: keyof Form) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    const value = el.type === "checkbox" ? el.checked : el.value;
    if (k === "slug") setSlugEdited(true);
    const follow = !project && k === "name" && !slugEdited;
    setForm({ ...form, [k]: value, ...(follow ? { slug: slugify(String(value)) } : {}) });
    setSaved(false);
    setPreview(null);
  };

  function schemaOf(): Record<string, unknown> {
    const schema: Record<string, unknown> = {
      stance_labels: lines(form.stance_labels), stance_ordered: form.stance_ordered,
      frames_required: form.frames_required, primary_frame_required: form.primary_frame_required,
    };
    // Empty lists keep the defaults (Media Frames Corpus, spaCy entity types + QUOTE/SPEAKER).
    if (lines(form.frames).length) schema.frames = lines(form.frames);
    if (lines(form.span_labels).length) schema.span_labels = lines(form.span_labels);
    // The codebook this edit started from: another admin's change in between answers 409.
    if (project) schema.version = project.label_schema.version;
    return schema;
  }

  async function review(maps: Mappings) {
    if (!project) return;
    try {
      const p = await api<Preview>("POST", `projects/${project.id}/codebook/preview/`,
        { label_schema: schemaOf(), mappings: maps });
      setPreview(p);
      setErrors({});
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  }

  function setMapping(kind: Kind, label: string, to: string | null | undefined) {
    const next: Mappings = { ...mappings, [kind]: { ...(mappings[kind] ?? {}) } };
    if (to === undefined) delete next[kind]![label];
    else next[kind]![label] = to;
    setMappings(next);
    review(next);
  }

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    const schema = schemaOf();
    const body: Record<string, unknown> = {
      name: form.name, slug: form.slug, description: form.description, guidelines: form.guidelines,
      overlap: Number(form.overlap), assignment_timeout_minutes: Number(form.timeout), label_schema: schema,
      reopen_window_hours: Number(form.reopen_window), unreviewed_suggestions: form.unreviewed,
    };
    if (!project && form.targets.trim()) body.targets = parseTargets(form.targets);
    try {
      if (project && !preview) {
        // First click: show what the codebook change migrates; saving is the second click.
        const maps = guessMappings(project.label_schema, schema);
        const p = await api<Preview>("POST", `projects/${project.id}/codebook/preview/`,
          { label_schema: schema, mappings: maps });
        if (p.changed) {
          setMappings(maps);
          setPreview(p);
          return;
        }
      }
      if (project) body.mappings = mappings;
      const p = project
        ? await api<ProjectDoc>("PATCH", `projects/${project.id}/`, body)
        : await api<ProjectDoc>("POST", "projects/", body);
      setForm(toForm(p));
      setSaved(true);
      setPreview(null);
      setMappings({});
      onSaved(p);
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setBusy(false);
    }
  }

  const field = (k: keyof Form, label: string, apiField: string, input: preact.JSX.Element, hint?: string) => (
    <div class={`m-field${errors[apiField] ? " m-invalid" : ""}`}>
      <label for={`f-${k}`}>{label}</label>
      {input}
      {hint && <small class="m-muted">{hint}</small>}
      <Errors errors={errors} field={apiField} />
    </div>
  );

  return (
    <section>
      <h2>{project ? "Project setup" : "New project"}</h2>
      <form class="m-form" onSubmit={save} noValidate>
        <Errors errors={errors} field="" />
        <Errors errors={errors} field="label_schema" />
        <div class="m-grid">
          {field("name", "Name", "name", <input id="f-name" name="name" value={form.name} onInput={set("name")} required />)}
          {field("slug", "Slug", "slug", <input id="f-slug" name="slug" value={form.slug} onInput={set("slug")}
            readOnly={!!project} />, project ? "fixed once created" : "letters, digits and dashes")}
          {field("overlap", "Annotators per article", "overlap",
            <input id="f-overlap" name="overlap" type="number" min={1} value={form.overlap} onInput={set("overlap")} />)}
          {field("timeout", "Assignment timeout (minutes)", "assignment_timeout_minutes",
            <input id="f-timeout" name="timeout" type="number" min={1} value={form.timeout} onInput={set("timeout")} />)}
          {field("reopen_window", "Annotators may reopen their submission for (hours)", "reopen_window_hours",
            <input id="f-reopen_window" name="reopen_window" type="number" min={0} value={form.reopen_window}
              onInput={set("reopen_window")} />, "0 = only reviewers may reopen")}
          {field("unreviewed", "Submitting with unreviewed suggestions", "unreviewed_suggestions",
            <select id="f-unreviewed" name="unreviewed" value={form.unreviewed} onChange={set("unreviewed")}>
              <option value="ask">ask once</option>
              <option value="block">refuse</option>
              <option value="allow">allow</option>
            </select>)}
        </div>
        {!project && field("targets", "Targets (one per line: a name, or key: name)", "targets",
          <textarea id="f-targets" name="targets" rows={3} value={form.targets} onInput={set("targets")}
                    placeholder={"Western troops in Ukraine\nsanctions: EU sanctions on Russia"} />,
          "what annotators take a stance on; more can be added later")}
        {field("description", "Description", "description",
          <textarea id="f-description" rows={2} value={form.description} onInput={set("description")} />)}
        {field("guidelines", "Guidelines (Markdown, shown to annotators)", "guidelines",
          <textarea id="f-guidelines" rows={6} value={form.guidelines} onInput={set("guidelines")} />)}
        <h3>Labels</h3>
        <div class="m-grid">
          <div>
            {field("stance_labels", "Stance labels (one per line)", "label_schema.stance_labels",
              <textarea id="f-stance_labels" name="stance_labels" rows={5} value={form.stance_labels}
                        onInput={set("stance_labels")} />)}
            <label class="m-check">
              <input type="checkbox" checked={form.stance_ordered} onChange={set("stance_ordered")} />
              Labels are ordered (agreement uses ordinal alpha)
            </label>
            <Errors errors={errors} field="label_schema.stance_ordered" />
          </div>
          <div>
            {field("frames", "Frame codebook (one per line; empty = Media Frames Corpus)", "label_schema.frames",
              <textarea id="f-frames" name="frames" rows={8} value={form.frames} onInput={set("frames")} />)}
            {field("frames_required", "Frames required", "label_schema.frames_required",
              <select id="f-frames_required" value={form.frames_required} onChange={set("frames_required")}>
                <option value="at_least_one">at least one</option>
                <option value="none">optional</option>
              </select>)}
            <label class="m-check">
              <input type="checkbox" checked={form.primary_frame_required} onChange={set("primary_frame_required")} />
              A primary frame is required
            </label>
          </div>
          <div>
            {field("span_labels", "Span labels (one per line; empty = entities + QUOTE, SPEAKER)",
              "label_schema.span_labels",
              <textarea id="f-span_labels" name="span_labels" rows={8} value={form.span_labels}
                        onInput={set("span_labels")} />)}
          </div>
        </div>
        {preview && <CodebookReview preview={preview} mappings={mappings} setMapping={setMapping}
                                    schema={preview.label_schema} />}
        <div class="m-actions">
          <button class="m-btn m-primary" type="submit" disabled={busy || (preview !== null && !preview.ok)}>
            {!project ? "Create project" : preview ? "Confirm and save" : "Save"}
          </button>
          {preview && <button class="m-btn" type="button" onClick={() => setPreview(null)}>Back to editing</button>}
          {saved && <span class="m-ok" role="status">Saved</span>}
        </div>
      </form>
      {project && <Targets project={project} />}
    </section>
  );
}

function Targets({ project }: { project: ProjectDoc }) {
  const { data, reload } = useLoad(() => api<{ results?: Target[] } | Target[]>("GET", `projects/${project.id}/targets/`),
    [project.id]);
  const targets: Target[] = Array.isArray(data) ? data : data?.results ?? [];
  const [draft, setDraft] = useState({ key: "", name: "", description: "" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [rowErrors, setRowErrors] = useState<Record<number, FieldErrors>>({});

  async function add(e: Event) {
    e.preventDefault();
    setErrors({});
    try {
      await api("POST", `projects/${project.id}/targets/`, { ...draft, position: targets.length });
      setDraft({ key: "", name: "", description: "" });
      reload();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  }
  async function update(t: Target, patch: Partial<Target>) {
    try {
      await api("PATCH", `projects/${project.id}/targets/${t.id}/`, patch);
      setRowErrors({ ...rowErrors, [t.id]: {} });
      reload();
    } catch (err) {
      setRowErrors({ ...rowErrors, [t.id]: fieldErrors(err) });
    }
  }
  async function remove(t: Target) {
    if (!confirm(`Delete target “${t.name}”?`)) return;
    try {
      await api("DELETE", `projects/${project.id}/targets/${t.id}/`);
      reload();
    } catch (err) {
      setRowErrors({ ...rowErrors, [t.id]: fieldErrors(err) });
    }
  }
  return (
    <section class="m-section">
      <h3>Stance targets</h3>
      <table class="m-table">
        <thead><tr><th>Key</th><th>Name</th><th>Description</th><th /></tr></thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.id}>
              <td><code>{t.key}</code></td>
              <td>
                <input aria-label={`Name of ${t.key}`} value={t.name}
                       onChange={(e) => update(t, { name: (e.currentTarget as HTMLInputElement).value })} />
                <Errors errors={rowErrors[t.id] ?? {}} field="name" />
                <Errors errors={rowErrors[t.id] ?? {}} field="key" />
                <Errors errors={rowErrors[t.id] ?? {}} field="" />
              </td>
              <td>
                <input aria-label={`Description of ${t.key}`} value={t.description}
                       onChange={(e) => update(t, { description: (e.currentTarget as HTMLInputElement).value })} />
              </td>
              <td><button class="m-link m-danger" type="button" onClick={() => remove(t)}>Delete</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="m-inline-form" onSubmit={add} aria-label="Add a target">
        <div class="m-field">
          <label for="t-key">Key</label>
          <input id="t-key" name="target_key" value={draft.key} placeholder="western-troops"
                 onInput={(e) => setDraft({ ...draft, key: (e.currentTarget as HTMLInputElement).value })} />
          <Errors errors={errors} field="key" />
        </div>
        <div class="m-field">
          <label for="t-name">Name</label>
          <input id="t-name" name="target_name" value={draft.name} placeholder="Western troops in Ukraine"
                 onInput={(e) => setDraft({ ...draft, name: (e.currentTarget as HTMLInputElement).value })} />
          <Errors errors={errors} field="name" />
        </div>
        <div class="m-field">
          <label for="t-desc">Description</label>
          <input id="t-desc" value={draft.description}
                 onInput={(e) => setDraft({ ...draft, description: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <button class="m-btn" type="submit">Add target</button>
        <Errors errors={errors} field="" />
      </form>
    </section>
  );
}
