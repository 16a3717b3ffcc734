// Where an in-page training step spends its time: the Chrome DevTools CPU profiler (CDP) around
// `lab.train(model, { steps })`, self time aggregated by function. Needs a build that keeps the
// wasm function names (`DIFFLAB_WASM_NAMES=1 cargo xtask build`); otherwise wasm functions show
// as indices. Usage: `LAB_URL=… node profile.mjs [model] [steps] [top] [query]`.
import { launch, LAB_URL } from "./harness.mjs";

const [model = "mnist", steps = "10", top = "40", query = ""] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(LAB_URL + `?model=${model}${query}`);
  await page.evaluate(() => window.lab.ready);
  // Warm up (first step compiles, allocates), then profile.
  await page.evaluate(async ([m]) => { lab.setPlaying(false); await lab.train(m, { steps: 2 }); }, [model]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  const r = await page.evaluate(async ([m, n]) => await lab.train(m, { steps: n }), [model, Number(steps)]);
  const { profile } = await cdp.send("Profiler.stop");
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] || 0;
    total += dt;
    const name = node.callFrame.functionName || `(${node.callFrame.url.split("/").pop()})`;
    self.set(name, (self.get(name) || 0) + dt);
  }
  console.log(`${r.steps} steps in ${r.ms.toFixed(0)} ms (${(r.ms / r.steps).toFixed(1)} ms/step); profile ${(total / 1000).toFixed(0)} ms`);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
  for (const [name, us] of rows) console.log(`${(100 * us / total).toFixed(1).padStart(5)}%  ${name.slice(0, 150)}`);
} finally {
  await browser.close();
}
