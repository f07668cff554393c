/** Routes of the management screens, all under /manage/. */
import { useEffect, useState } from "preact/hooks";

export type Tab = "dashboard" | "setup" | "import" | "members" | "adjudication" | "audit" | "exports" | "assignments" | "articles" | "models" | "stories";
export type Route =
  | { name: "projects" }
  | { name: "new" }
  | { name: "account" }
  | { name: "project"; id: number; tab: Tab }
  | { name: "adjudicate"; id: number; article: number }
  | { name: "article"; id: number; article: number }
  | { name: "story"; id: number; story: number }
  | { name: "notfound" };

const TABS: Tab[] = ["dashboard", "setup", "import", "members", "adjudication", "audit", "exports", "assignments", "articles", "models", "stories"];

export function parse(path: string): Route {
  const p = path.replace(/\/+$/, "");
  if (p === "/manage") return { name: "projects" };
  if (p === "/manage/new") return { name: "new" };
  if (p === "/manage/account") return { name: "account" };
  let m = p.match(/^\/manage\/projects\/(\d+)(?:\/([a-z]+))?$/);
  if (m) {
    const tab = (m[2] ?? "dashboard") as Tab;  // exporters see their exports instead (app.tsx)
    return TABS.includes(tab) ? { name: "project", id: Number(m[1]), tab } : { name: "notfound" };
  }
  m = p.match(/^\/manage\/projects\/(\d+)\/adjudication\/(\d+)$/);
  if (m) return { name: "adjudicate", id: Number(m[1]), article: Number(m[2]) };
  m = p.match(/^\/manage\/projects\/(\d+)\/articles\/(\d+)$/);
  if (m) return { name: "article", id: Number(m[1]), article: Number(m[2]) };
  m = p.match(/^\/manage\/projects\/(\d+)\/stories\/(\d+)$/);
  if (m) return { name: "story", id: Number(m[1]), story: Number(m[2]) };
  return { name: "notfound" };
}

export function go(path: string) {
  history.pushState(null, "", path);
  window.dispatchEvent(new Event("sp:manage-navigate"));
  window.scrollTo(0, 0);
}

/** An <a> click handler that navigates inside the app (new tab / modifier clicks still work). */
export const link = (path: string) => (e: MouseEvent) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  go(path);
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const on = () => setRoute(parse(location.pathname));
    window.addEventListener("popstate", on);
    window.addEventListener("sp:manage-navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("sp:manage-navigate", on);
    };
  }, []);
  return route;
}
