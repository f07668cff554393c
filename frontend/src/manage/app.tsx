/** The admin / reviewer web screens: project setup, import, members, dashboard, adjudication. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Me } from "../api";
import { Account } from "./account";
import { AdjudicateArticle, AdjudicationQueue } from "./adjudicate";
import { ArticleReadOnly, Articles } from "./articles";
import { Assignments } from "./assignments";
import { Audit } from "./audit";
import { Dashboard } from "./dashboard";
import { Exports } from "./exports";
import { api } from "./http";
import { Importer } from "./importer";
import { Members } from "./members";
import { Models } from "./models";
import { go, link, type Tab, useRoute } from "./router";
import { Setup } from "./setup";
import { Stories } from "./stories";
import type { ProjectDoc, Stats } from "./types";

const boot: { username?: string; display_name?: string; is_staff?: boolean } = (() => {
  try {
    return JSON.parse(document.getElementById("sp-manage-boot")?.textContent ?? "{}");
  } catch {
    return {};
  }
})();

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

/** Load data for a screen; `reload()` fetches again (after a write). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data, error: null }),
      (e) => live && setState((s) => ({ data: s.data, error: e instanceof Error ? e.message : String(e) })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

function Shell({ crumbs, children }: { crumbs?: ComponentChildren; children: ComponentChildren }) {
  return (
    <>
      <header class="m-top">
        <a class="m-brand" href="/manage/" onClick={link("/manage/")}>Standpoint <span>manage</span></a>
        <nav class="m-crumbs" aria-label="Breadcrumbs">{crumbs}</nav>
        <div class="m-top-right">
          <a href="/">Annotate</a>
          <a href="/manage/account" onClick={link("/manage/account")}>Account</a>
          <span class="m-muted">{boot.display_name || boot.username}</span>
          <form method="post" action="/logout/">
            <input type="hidden" name="csrfmiddlewaretoken" value={csrf()} />
            <button type="submit" class="m-link">Log out</button>
          </form>
        </div>
      </header>
      <main class="m-page">{children}</main>
    </>
  );
}

const MANAGER_ROLES = ["admin", "reviewer"];
const LISTED_ROLES = [...MANAGER_ROLES, "exporter"];

function Projects() {
  const { data, error } = useLoad(() => api<Me>("GET", "me/"), []);
  const mine = data?.projects.filter((p) => LISTED_ROLES.includes(p.role)) ?? [];
  return (
    <Shell>
      <div class="m-head">
        <h1>Projects you run</h1>
        {(boot.is_staff || (data as any)?.is_staff) && (
          <a class="m-btn m-primary" href="/manage/new" onClick={link("/manage/new")}>New project</a>
        )}
      </div>
      {error && <p class="m-error" role="alert">{error}</p>}
      {!data && !error && <p class="m-muted">Loading…</p>}
      {data && mine.length === 0 && <p class="m-muted">You are not an admin, reviewer or exporter of any project.</p>}
      <ul class="m-cards">
        {mine.map((p) => (
          <li key={p.id} class="m-card">
            <a href={landing(p)} onClick={link(landing(p))}><strong>{p.name}</strong></a>
            <span class="m-badge">{p.role}</span>
            <span class="m-muted">{p.slug}</span>
            {MANAGER_ROLES.includes(p.role) && <CardProgress projectId={p.id} />}
          </li>
        ))}
      </ul>
    </Shell>
  );
}

/** Articles done (every planned annotation submitted) out of all, on a project card. */
function CardProgress({ projectId }: { projectId: number }) {
  const { data } = useLoad(() => api<Stats>("GET", `projects/${projectId}/stats/`), [projectId]);
  if (!data) return null;
  const { complete, partial } = data.articles_by_progress;
  return (
    <span class="m-card-progress">
      <progress max={data.articles || 1} value={complete} aria-label={`${complete} of ${data.articles} articles complete`} />
      {" "}{complete} / {data.articles} articles complete{partial ? `, ${partial} in part` : ""}
    </span>
  );
}

const landing = (p: { id: number; role: string }) =>
  p.role === "exporter" ? `/manage/projects/${p.id}/exports` : `/manage/projects/${p.id}/`;

const ADMINS = ["admin"];
const DATA_READERS = ["admin", "reviewer", "exporter"];
const TAB_LABELS: Array<[Tab, string, string[]]> = [
  ["dashboard", "Dashboard", MANAGER_ROLES],
  ["adjudication", "Adjudication", MANAGER_ROLES],
  ["setup", "Setup", ADMINS],
  ["import", "Import", ADMINS],
  ["articles", "Articles", MANAGER_ROLES],
  ["assignments", "Assignments", MANAGER_ROLES],
  ["members", "Members", MANAGER_ROLES],
  ["audit", "Audit", MANAGER_ROLES],
  ["exports", "Exports", DATA_READERS],
  ["models", "Models", DATA_READERS],
  ["stories", "Stories", DATA_READERS],
];

function ProjectScreens({ id, tab, article, story, readOnly }: { id: number; tab: Tab; article?: number; story?: number; readOnly?: boolean }) {
  const { data: project, error, reload } = useLoad(() => api<ProjectDoc>("GET", `projects/${id}/`), [id]);
  const base = `/manage/projects/${id}`;
  // Exporters have one screen here: every other tab would only say "no permission".
  const shown: Tab = project?.role === "exporter" ? "exports" : tab;
  return (
    <Shell crumbs={<>
      <a href="/manage/" onClick={link("/manage/")}>Projects</a><span>/</span>
      <span>{project?.name ?? "…"}</span>
    </>}>
      {error && !project && <p class="m-error" role="alert">{error}</p>}
      {project && (
        <>
          <nav class="m-tabs" aria-label="Project sections">
            {TAB_LABELS.filter(([, , roles]) => roles.includes(project.role)).map(([t, label]) => (
              <a key={t} href={`${base}/${t}`} onClick={link(`${base}/${t}`)}
                 aria-current={(article && !readOnly ? t === "adjudication" : t === shown) ? "page" : undefined}>{label}</a>
            ))}
          </nav>
          {article !== undefined && readOnly ? <ArticleReadOnly project={project} articleId={article} />
            : article !== undefined ? <AdjudicateArticle project={project} articleId={article} />
            : shown === "exports" ? <Exports project={project} />
            : tab === "assignments" ? <Assignments project={project} />
            : tab === "articles" ? <Articles project={project} />
            : tab === "dashboard" ? <Dashboard project={project} />
            : tab === "setup" ? <Setup project={project} onSaved={reload} />
            : tab === "import" ? <Importer project={project} />
            : tab === "members" ? <Members project={project} />
            : tab === "audit" ? <Audit project={project} />
            : tab === "models" ? <Models project={project} />
            : tab === "stories" ? <Stories project={project} storyId={story} />
            : <AdjudicationQueue project={project} />}
        </>
      )}
    </Shell>
  );
}

export function ManageApp() {
  const route = useRoute();
  switch (route.name) {
    case "projects":
      return <Projects />;
    case "new":
      return (
        <Shell crumbs={<><a href="/manage/" onClick={link("/manage/")}>Projects</a><span>/</span><span>New</span></>}>
          <Setup project={null} onSaved={(p) => p && go(`/manage/projects/${p.id}/setup`)} />
        </Shell>
      );
    case "account":
      return (
        <Shell crumbs={<><a href="/manage/" onClick={link("/manage/")}>Projects</a><span>/</span><span>Account</span></>}>
          <Account isStaff={!!boot.is_staff} />
        </Shell>
      );
    case "project":
      return <ProjectScreens id={route.id} tab={route.tab} />;
    case "article":
      return <ProjectScreens id={route.id} tab="articles" article={route.article} readOnly />;
    case "adjudicate":
      return <ProjectScreens id={route.id} tab="adjudication" article={route.article} />;
    case "story":
      return <ProjectScreens id={route.id} tab="stories" story={route.story} />;
    default:
      return <Shell><h1>Not found</h1><p><a href="/manage/" onClick={link("/manage/")}>Back to projects</a></p></Shell>;
  }
}
