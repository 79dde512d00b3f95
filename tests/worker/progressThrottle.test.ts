import { describe, expect, it } from "vitest";
import { throttledProgress } from "../../src/worker/progressThrottle.ts";

describe("throttledProgress", () => {
  it("sends at most one report per interval, but always a new step's first and every step's last", () => {
    let clock = 0;
    const sent: string[] = [];
    const report = throttledProgress<{ step: string; f: number }>(
      (p) => sent.push(`${p.step} ${p.f}`),
      (p) => p.step,
      (p) => p.f >= 1,
      100,
      () => clock,
    );
    // 1,000 units of one step over 500 ms: one report per 100 ms gets through.
    for (let i = 0; i < 1000; i++) {
      clock = i / 2;
      report({ step: "a", f: i / 1000 });
    }
    report({ step: "a", f: 1 });
    clock += 1;
    report({ step: "b", f: 0 });
    report({ step: "b", f: 0.5 });
    expect(sent).toEqual(["a 0", "a 0.2", "a 0.4", "a 0.6", "a 0.8", "a 1", "b 0"]);
  });
});
