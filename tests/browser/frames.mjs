// Frame budget while a view trains by itself with its live plots (issues 12 and 14): over a
// window of N seconds, the animation frames the page drew, the main thread's long tasks
// (> 50 ms, the Long Tasks API), the training steps made, and what one full redraw of the
// view's figures cost (`lab.status().drawMs`, sampled twice a second). Part of `cargo xtask
// bench`; alone: `LAB_URL=… node frames.mjs [seconds] [toy1d,ising,mnist]`.
import { launch, LAB_URL } from "./harness.mjs";
import { pathToFileURL } from "node:url";

/// One view's figures, in a fresh browser at 1400×1000 (a laptop's window), the model playing.
export async function frameBudget(model, seconds = 15, url = LAB_URL) {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    await page.goto(url + `?model=${model}&play=1`);
    await page.evaluate(() => window.lab.ready);
    // Past the start: the first views computed and drawn (MNIST: its pretrained digits).
    await page.waitForFunction(() => lab.status().viewsStep >= 0 && lab.status().drawMs > 0, null, { timeout: 120_000, polling: 100 });
    await page.waitForTimeout(2000);
    return await page.evaluate(async (ms) => {
      const tasks = [];
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push(e.duration);
      });
      observer.observe({ type: "longtask" });
      let frames = 0, on = true;
      const frame = () => { frames++; if (on) requestAnimationFrame(frame); };
      requestAnimationFrame(frame);
      const draws = [];
      const poll = setInterval(() => draws.push(lab.status().drawMs), 500);
      const s0 = lab.status().steps, t0 = performance.now();
      await new Promise((done) => setTimeout(done, ms));
      on = false;
      clearInterval(poll);
      const elapsed = (performance.now() - t0) / 1000;
      const steps = lab.status().steps - s0;
      const threads = lab.threads;
      observer.disconnect();
      draws.sort((a, b) => a - b);
      return {
        elapsed,
        fps: frames / elapsed,
        longTasks: tasks.length,
        longSum: tasks.reduce((a, b) => a + b, 0) / 1000,
        worst: tasks.length ? Math.max(...tasks) : 0,
        steps,
        threads,
        drawMedian: draws.length ? draws[Math.floor(draws.length / 2)] : 0,
        drawMax: draws.length ? draws[draws.length - 1] : 0,
      };
    }, seconds * 1000);
  } finally {
    await browser.close();
  }
}

/// Prints one line per view.
export async function printFrameBudget(seconds = 15, models = ["toy1d", "ising", "mnist"], url = LAB_URL, how = "") {
  for (const model of models) {
    const r = await frameBudget(model, seconds, url);
    console.log(
      `bench: frames (cpu, ${r.threads} thread${r.threads > 1 ? "s" : ""}${how ? `, ${how}` : ""}) ${model} training ${r.elapsed.toFixed(1)} s: ${r.fps.toFixed(1)} frames/s, ` +
      `${r.longTasks} main-thread tasks > 50 ms (together ${r.longSum.toFixed(1)} s, worst ${r.worst.toFixed(0)} ms), ` +
      `${r.steps} training steps, one redraw ${r.drawMedian.toFixed(0)} ms median / ${r.drawMax.toFixed(0)} ms max`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 15);
  const models = process.argv[3] ? process.argv[3].split(",") : undefined;
  await printFrameBudget(seconds, models);
}
