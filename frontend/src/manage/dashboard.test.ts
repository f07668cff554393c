import { describe, expect, it } from "vitest";
import { framesChart } from "./dashboard";

describe("framesChart", () => {
  it("counts frames on an x axis with whole-number ticks", () => {
    const config = framesChart([["Political", 3], ["Economic", 1]]) as any;
    expect(config.options.indexAxis).toBe("y");
    expect(config.options.scales.x.ticks.precision).toBe(0);
    expect(config.data.datasets[0].data).toEqual([3, 1]);
  });
});
