import { describe, expect, it } from "vitest";
import { parse } from "./router";

describe("manage routes", () => {
  it("parses every screen", () => {
    expect(parse("/manage/")).toEqual({ name: "projects" });
    expect(parse("/manage/new")).toEqual({ name: "new" });
    expect(parse("/manage/projects/3/")).toEqual({ name: "project", id: 3, tab: "dashboard" });
    expect(parse("/manage/projects/3/members")).toEqual({ name: "project", id: 3, tab: "members" });
    expect(parse("/manage/projects/3/adjudication/41/")).toEqual({ name: "adjudicate", id: 3, article: 41 });
    expect(parse("/manage/account")).toEqual({ name: "account" });
    expect(parse("/manage/projects/3/exports")).toEqual({ name: "project", id: 3, tab: "exports" });
    expect(parse("/manage/projects/3/assignments")).toEqual({ name: "project", id: 3, tab: "assignments" });
    expect(parse("/manage/projects/3/articles/41")).toEqual({ name: "article", id: 3, article: 41 });
  });
  it("refuses unknown tabs", () => {
    expect(parse("/manage/projects/3/secrets")).toEqual({ name: "notfound" });
    expect(parse("/elsewhere")).toEqual({ name: "notfound" });
  });
});
