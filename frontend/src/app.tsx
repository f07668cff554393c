import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, type AssignmentDoc, type Me, type Progress, type Project } from "./api";
import { AnnotateScreen } from "./annotate";
import { MyWork } from "./mywork";
import { navigate, useRoute } from "./router";

const boot: { username: string; display_name: string } = (() => {
  try {
    return JSON.parse(document.getElementById("sp-boot")?.textContent ?? "{}");
  } catch {
    return { username: "", display_name: "" };
  }
})();

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export function Header({ children, right }: { children?: ComponentChildren; right?: ComponentChildren }) {
  return (
    <header class="topbar">
      <a class="brand" href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }}>
        <span class="brand-mark" aria-hidden="true" />Standpoint
      </a>
      <nav class="crumbs" aria-label="Breadcrumbs">{children}</nav>
      <div class="topbar-right">
        {right}
        <a class="nav-link" href="/work/" onClick={(e) => { e.preventDefault(); navigate("/work/"); }}>My work</a>
        <a class="account-link" href="/manage/account">Account</a>
        <span class="user" title="Logged in">{boot.display_name || boot.username}</span>
        <form method="post" action="/logout/" class="logout">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrf()} />
          <button type="submit" class="btn-link">Log out</button>
        </form>
      </div>
    </header>
  );
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    let live = true;
    setState({ data: null, error: null });
    load().then(
      (data) => live && setState({ data, error: null }),
      (e) => live && setState({ data: null, error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

function ProgressBar({ p }: { p: Progress }) {
  const open = p.assigned + p.in_progress;
  const total = p.submitted + p.skipped + open + p.available || 1;
  const pct = (n: number) => `${(100 * n) / total}%`;
  return (
    <div class="progress" role="img" aria-label={`${p.submitted} submitted, ${open} in progress, ${p.available} remaining`}>
      <span class="progress-done" style={{ width: pct(p.submitted + p.skipped) }} />
      <span class="progress-open" style={{ width: pct(open) }} />
    </div>
  );
}

/** Pull the next task and open it; `onEmpty` when the queue has nothing left for me. */
export async function openNextTask(projectId: number, onEmpty: () => void) {
  const a = await api<AssignmentDoc | null>("POST", `projects/${projectId}/tasks/next/`);
  if (a) navigate(`/assignments/${a.id}/`);
  else onEmpty();
}

function Home() {
  const { data, error } = useLoad(async () => {
    const me = await api<Me>("GET", "me/");
    const progress = await Promise.all(
      // An exporter has no queue (the API answers 403): not asked, so the console stays clean.
      me.projects.map((p) => p.role === "exporter" ? null
        : api<Progress>("GET", `projects/${p.id}/tasks/progress/`).catch(() => null)),
    );
    return { me, progress };
  }, []);
  useEffect(() => {
    document.title = "My projects · Standpoint";
  }, []);
  return (
    <>
      <Header><span>My projects</span></Header>
      <main class="page">
        <h1 class="page-title">My projects</h1>
        {error && <p class="banner banner-error" role="alert">{error}</p>}
        {!data && !error && <p class="muted">Loading…</p>}
        {data && data.me.projects.length === 0 && (
          <p class="empty">You are not a member of any project yet. Ask a project admin to add you.</p>
        )}
        <ul class="project-list">
          {data?.me.projects.map((p, i) => {
            const pr = data.progress[i];
            const open = pr ? pr.assigned + pr.in_progress : 0;
            return (
              <li class="project-card" key={p.id}>
                <div class="project-card-main">
                  <h2>{p.role === "exporter" ? <a href={`/manage/projects/${p.id}/exports`}>{p.name}</a>
                    : <a href={`/projects/${p.id}/`} onClick={(e) => { e.preventDefault(); navigate(`/projects/${p.id}/`); }}>{p.name}</a>}</h2>
                  <span class="role">{p.role}</span>
                  {(p.role === "admin" || p.role === "reviewer") && <a class="manage-link" href={`/manage/projects/${p.id}/`}>Manage</a>}
                </div>
                {pr && (
                  <>
                    <ProgressBar p={pr} />
                    <p class="counts">
                      <b>{pr.submitted}</b> submitted · <b>{open}</b> in progress · <b>{pr.available}</b> remaining
                    </p>
                  </>
                )}
                {/* Exporters have no queue: their screen is the project's Exports tab. */}
                <button class="btn btn-primary" onClick={() => p.role === "exporter"
                  ? location.assign(`/manage/projects/${p.id}/exports`) : navigate(`/projects/${p.id}/`)}>
                  {open ? "Continue" : "Open"}
                </button>
              </li>
            );
          })}
        </ul>
      </main>
    </>
  );
}

function Queue({ id }: { id: number }) {
  const [reload, setReload] = useState(0);
  const { data, error } = useLoad(async () => {
    const [project, progress] = await Promise.all([
      api<Project>("GET", `projects/${id}/`),
      api<Progress>("GET", `projects/${id}/tasks/progress/`),
    ]);
    return { project, progress };
  }, [id, reload]);
  const [empty, setEmpty] = useState(false);
  const [busy, setBusy] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const start = async () => {
    setBusy(true);
    setStartError(null);
    try {
      await openNextTask(id, () => {
        setEmpty(true);
        setReload((n) => n + 1);
      });
    } catch (e) {
      setStartError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (data) document.title = `${data.project.name} · Standpoint`;
    const onKey = (e: KeyboardEvent) => {
      const control = e.target instanceof HTMLElement && e.target.closest("input, select, textarea, button, a[href]");
      if (e.key === "Enter" && !control && data && !busy) void start();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [data, busy]);
  const p = data?.progress;
  const open = p ? p.assigned + p.in_progress : 0;
  return (
    <>
      <Header><span>{data?.project.name ?? "…"}</span></Header>
      <main class="page">
        {error && <p class="banner banner-error" role="alert">{error}</p>}
        {data && p && (
          <>
            <h1 class="page-title">{data.project.name}</h1>
            {data.project.description && <p class="muted">{data.project.description}</p>}
            <section class="queue-card" aria-label="My progress">
              <div class="stats">
                <div class="stat"><span class="stat-n">{p.submitted}</span><span class="stat-l">submitted</span></div>
                <div class="stat"><span class="stat-n">{open}</span><span class="stat-l">in progress</span></div>
                <div class="stat"><span class="stat-n">{p.available}</span><span class="stat-l">remaining</span></div>
                {p.skipped > 0 && <div class="stat"><span class="stat-n">{p.skipped}</span><span class="stat-l">skipped</span></div>}
              </div>
              <ProgressBar p={p} />
              {empty || (open === 0 && p.available === 0) ? (
                <p class="done-msg">Nothing left for you in this project. Thank you!</p>
              ) : (
                <button class="btn btn-primary btn-big" onClick={start} disabled={busy}>
                  {open ? "Continue" : "Start annotating"} <kbd>Enter</kbd>
                </button>
              )}
              {startError && <p class="banner banner-error" role="alert">{startError}</p>}
            </section>
            {data.project.guidelines_html && (
              <section class="guidelines-page">
                <h2>Guidelines</h2>
                {/* Rendered from Markdown and sanitised (nh3) by the server. */}
                <div class="prose" dangerouslySetInnerHTML={{ __html: data.project.guidelines_html }} />
              </section>
            )}
          </>
        )}
        {!data && !error && <p class="muted">Loading…</p>}
      </main>
    </>
  );
}

export function App() {
  const route = useRoute();
  switch (route.name) {
    case "home":
      return <Home />;
    case "project":
      return <Queue id={route.id} />;
    case "assignment":
      return <AnnotateScreen key={route.id} id={route.id} />;
    case "work":
      return <MyWork />;
    default:
      return (
        <>
          <Header />
          <main class="page"><h1 class="page-title">Page not found</h1><a href="/">Back to my projects</a></main>
        </>
      );
  }
}
