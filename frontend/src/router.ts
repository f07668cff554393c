/** A tiny history-API router: four screens do not need a library. */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "home" }
  | { name: "project"; id: number }
  | { name: "assignment"; id: number }
  | { name: "work" }
  | { name: "notfound" };

export function parse(path: string): Route {
  if (path === "/" || path === "") return { name: "home" };
  if (/^\/work\/?$/.test(path)) return { name: "work" };
  let m = path.match(/^\/projects\/(\d+)\/?$/);
  if (m) return { name: "project", id: Number(m[1]) };
  m = path.match(/^\/assignments\/(\d+)\/?$/);
  if (m) return { name: "assignment", id: Number(m[1]) };
  return { name: "notfound" };
}

export function navigate(path: string, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new Event("sp:navigate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const on = () => setRoute(parse(location.pathname));
    window.addEventListener("popstate", on);
    window.addEventListener("sp:navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("sp:navigate", on);
    };
  }, []);
  return route;
}
