// Issue 13's from-scratch measure: a fresh MNIST network (Reset) trained in the page for
// MINUTES (5) of wall time with the live views on, then 500 digits (DPM-Solver++(2M), 20 steps,
// seed 11) written as JSON for `difflab mnist-eval`. Usage: LAB_URL=… node mnist-scratch.mjs,
// then `cargo run -- mnist-eval /tmp/mnist-scratch.json` (OUT names another file).
import { launch, LAB_URL } from "./harness.mjs";
import { writeFileSync } from "node:fs";
const MIN = Number(process.env.MINUTES ?? 5);
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(LAB_URL + "?model=mnist&play=0");
await page.evaluate(() => window.lab.ready);
await page.waitForFunction(() => lab.status().dataLoaded, null, { timeout: 60000 });
await page.click("#reset");
await page.waitForFunction(() => lab.status().steps === 0);
const t0 = Date.now();
await page.evaluate(() => lab.setPlaying(true));
for (let m = 1; m <= MIN; m++) {
  await page.waitForTimeout(60000);
  const s = await page.evaluate(() => lab.status());
  console.log(`${m} min: ${s.steps} steps, loss ${s.loss?.toFixed(4)}, ${s.stepsPerSec?.toFixed(2)} steps/s, threads ${await page.evaluate(() => lab.threads)}`);
}
await page.evaluate(() => lab.setPlaying(false));
const s = await page.evaluate(() => lab.status());
console.log(`trained ${s.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const t1 = Date.now();
const r = await page.evaluate(async () => { const r = await lab.sample("mnist", { n: 500, seed: 11 }); return Array.from(r.data); });
console.log(`500 samples in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
writeFileSync(process.env.OUT ?? "/tmp/mnist-scratch.json", JSON.stringify(r));
await browser.close();
