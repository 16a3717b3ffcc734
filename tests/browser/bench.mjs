// In-page benchmarks (run by `cargo xtask bench`): training steps/s on the CPU device (and on
// WebGPU through SwiftShader, which measures the path, not a GPU), sampling throughput, and the
// time from navigation to the first drawn plot, and to the pretrained MNIST digits; the frame
// budget of each view while it trains (frames.mjs).
import { launch, LAB_URL, waitUntil } from "./harness.mjs";
import { printFrameBudget } from "./frames.mjs";

// LAB_URL serves the site cross-origin isolated (the threaded module on the CPU), LAB_URL_PLAIN
// without headers (one thread). `?threads=1` on the isolated one loads the single-threaded module:
// the "1 thread" figures below.
const PLAIN_URL = process.env.LAB_URL_PLAIN;

// The PyTorch yardstick's lines from this same `cargo xtask bench` run (bench/torch_baseline.py):
// { "SoftSilu": { 2: 305, 1: 190 }, "SiLU": {...} } steps/s by activation and threads.
const TORCH = {};
for (const line of (process.env.TORCH_BASELINE ?? "").split("\n")) {
  const m = /\((\w+)\), (\d+) thread\(s\): (\d+) steps\/s/.exec(line);
  if (m) (TORCH[m[1]] ??= {})[Number(m[2])] = Number(m[3]);
}

// A fresh browser on the lab at `query`, ready, and its thread count (close the browser after).
async function openFresh(query) {
  const browser = await launch();
  const page = await browser.newPage();
  await page.goto(LAB_URL + query);
  await page.evaluate(() => window.lab.ready);
  return { browser, page, threads: await page.evaluate(() => lab.threads) };
}

// Training steps/s of `model` in one `lab.train` call of `n` steps, after `warm` steps.
async function trainRate(page, model, warm, n) {
  await page.evaluate(([m, s]) => lab.train(m, { steps: s }), [model, warm]);
  const r = await page.evaluate(([m, s]) => lab.train(m, { steps: s }), [model, n]);
  return n / (r.ms / 1000);
}

const threadsLabel = (n) => `${n} thread${n > 1 ? "s" : ""}`;

async function measure(webgpu, threads = "") {
  const browser = await launch({ webgpu });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const t0 = Date.now();
    await page.goto(LAB_URL + "?play=0&width=128&depth=3&batch=512" + threads);
    await page.evaluate(() => window.lab.ready);
    // First plot: the forward-process canvas has been drawn (not blank).
    await waitUntil(page, async () => {
      const { data: d, width, height } = await lab.canvasPixels("c-forward");
      if (width < 10) return false;
      const i = 4 * (Math.floor(height / 2) * width + Math.floor(width / 2));
      return d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250;
    }, null, { polling: 20, timeout: 120000 });
    const firstPlot = Date.now() - t0;
    const device = await page.evaluate(() => `${lab.device}${lab.device === "cpu" ? `, ${lab.threads} thread${lab.threads > 1 ? "s" : ""}` : ""}`);
    const warm = webgpu ? 20 : 50;
    const n = webgpu ? 40 : 300;
    await page.evaluate((s) => lab.train("toy1d", { steps: s }), warm);
    const r = await page.evaluate((s) => lab.train("toy1d", { steps: s }), n);
    const paths = webgpu ? 1000 : 10000, steps = 100;
    const s = await page.evaluate(async ({ paths, steps }) => {
      const t = performance.now();
      await lab.sample("toy1d", { n: paths, sampler: "sde", steps, seed: 1 });
      return performance.now() - t;
    }, { paths, steps });
    const rate = n / (r.ms / 1000);
    console.log(`bench: in-page (${device}${webgpu ? ", SwiftShader" : ""}) training, MLP 3x128, batch 512: ${rate.toFixed(0)} steps/s`);
    const threadsUsed = await page.evaluate(() => lab.threads);
    const torch = TORCH.SoftSilu?.[threadsUsed];
    if (!webgpu && torch) {
      console.log(`bench: in-page (${device}) toy bench net / PyTorch CPU (soft SiLU, ${threadsUsed} thread${threadsUsed > 1 ? "s" : ""}, ${torch} steps/s, this run) = ${(rate / torch).toFixed(2)}`);
    }
    console.log(`bench: in-page (${device}) sampling, reverse SDE: ${((paths * steps) / (s / 1000)).toFixed(0)} path-steps/s (${paths} paths x ${steps} steps)`);
    console.log(`bench: in-page (${device}) navigation to first drawn plot: ${firstPlot} ms`);
  } finally {
    await browser.close();
  }
}

await measure(false);
await measure(false, "&threads=1");
await measure(true);

// Time to quality with the page's defaults: in a fresh page, one lab.train call of N steps (the
// live plots refresh as they do while a person watches), then 10,000 reverse-SDE samples
// (200 steps) and 10,000 probability-flow ODE samples (Heun, 100 steps). The smallest N whose
// samples both reach W1 <= 0.05, and its training time.
for (const steps of [300, 400, 500, 600, 700, 800, 1000]) {
  const browser = await launch();
  const page = await browser.newPage();
  await page.goto(LAB_URL + "?play=0");
  await page.evaluate(() => window.lab.ready);
  const r = await page.evaluate((s) => lab.train("toy1d", { steps: s }), steps);
  const w = await page.evaluate(async () => ({
    sde: lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "sde", steps: 200, seed: 1 })).data),
    ode: lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "ode", steps: 100, seed: 2 })).data),
  }));
  await browser.close();
  const ok = w.sde <= 0.05 && w.ode <= 0.05;
  console.log(`bench: in-page (cpu) defaults, ${steps} steps in ${(r.ms / 1000).toFixed(1)} s (${(steps / (r.ms / 1000)).toFixed(0)} steps/s with live plots): W1 SDE ${w.sde.toFixed(4)}, ODE ${w.ode.toFixed(4)}${ok ? " (both <= 0.05)" : ""}`);
  if (ok) break;
}

// MNIST on the CPU device: Adam steps of a fresh default U-Net (soft SiLU), of the same U-Net
// with SiLU (the shipped pretrained network's activation) and of the MLP, DDIM sampling, and the
// guidance classifier's training; every core, then one thread, and their ratio. Each network is
// a fresh one (Reset: the view opens on the pretrained network).
const mnistRates = {};
for (const [net, query, n] of [["U-Net (defaults, soft SiLU)", "", 20], ["U-Net, SiLU", "&mact=silu", 20], ["MLP 3x512", "&mnet=mlp", 40]]) {
  const rate = {};
  for (const threads of ["", "&threads=1"]) {
    const { browser, page, threads: th } = await openFresh("?model=mnist&play=0" + query + threads);
    await page.evaluate(() => lab.train("mnist", { steps: 1 }));
    await page.click("#reset");
    await page.waitForFunction(() => lab.status().steps === 0, null, { timeout: 30_000 });
    rate[threads] = await trainRate(page, "mnist", 2, n);
    const t = Date.now();
    await page.evaluate(() => lab.sample("mnist", { n: 16, sampler: "ddim", steps: 50, seed: 1 }));
    const sampleS = (Date.now() - t) / 1000;
    const t2 = Date.now();
    await page.evaluate(() => lab.sample("mnist", { n: 16, sampler: "dpm2m", steps: 20, seed: 1 }));
    const dpmS = (Date.now() - t2) / 1000;
    console.log(`bench: in-page (cpu, ${threadsLabel(th)}) MNIST training, ${net}, batch 32: ${rate[threads].toFixed(2)} steps/s; 16 digits x 50 DDIM steps in ${sampleS.toFixed(1)} s, x 20 DPM-Solver++ steps in ${dpmS.toFixed(1)} s`);
    if (!query) {
      const t1 = Date.now();
      await page.evaluate(() => lab.sample("mnist", { n: 1, steps: 2, digit: 3 }));
      console.log(`bench: in-page (cpu, ${threadsLabel(th)}) MNIST guidance classifier, 1,000 steps: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    }
    await browser.close();
  }
  console.log(`bench: in-page (cpu) MNIST ${net}: every core / one thread = ${(rate[""] / rate["&threads=1"]).toFixed(2)}x`);
  mnistRates[net] = rate;
}
{
  const [soft, silu] = [mnistRates["U-Net (defaults, soft SiLU)"], mnistRates["U-Net, SiLU"]];
  console.log(`bench: in-page (cpu) MNIST U-Net, soft SiLU / SiLU steps/s = ${(soft[""] / silu[""]).toFixed(2)}x on every core, ${(soft["&threads=1"] / silu["&threads=1"]).toFixed(2)}x on one thread`);
}

// The Ising network at its defaults (batch 128): steps/s on every core and on one thread, three
// rounds alternating the two (one round's 600 steps take a few seconds: a busy moment of the
// machine moves one ratio by 0.1), each ratio and their median. The order within a round
// alternates too: in scratch A/B runs the first fresh browser of a pair was often the faster.
{
  const ratios = [];
  for (let round = 1; round <= 3; round++) {
    const rate = {};
    for (const threads of round % 2 ? ["", "&threads=1"] : ["&threads=1", ""]) {
      const { browser, page, threads: th } = await openFresh("?model=ising&play=0" + threads);
      rate[threads] = await trainRate(page, "ising", 20, 600);
      console.log(`bench: in-page (cpu, ${threadsLabel(th)}) Ising training, defaults, round ${round}: ${rate[threads].toFixed(1)} steps/s`);
      await browser.close();
    }
    ratios.push(rate[""] / rate["&threads=1"]);
  }
  const median = [...ratios].sort((a, b) => a - b)[1];
  console.log(`bench: in-page (cpu) Ising: every core / one thread = ${ratios.map((r) => r.toFixed(2) + "x").join(", ")} (median ${median.toFixed(2)}x)`);
}

// Opening the MNIST view as a student does (`?model=mnist`, every default, this browser holding
// no saved network): time from navigation to the pretrained network's digits drawn, three fresh
// browsers.
{
  const times = [];
  for (let k = 0; k < 3; k++) {
    const browser = await launch();
    const page = await browser.newPage();
    await page.goto(LAB_URL + "?model=mnist");
    await page.evaluate(() => window.lab.ready);
    await page.waitForFunction(() => lab.status().viewsStep >= 1000, null, { timeout: 120_000, polling: 50 });
    times.push(await page.evaluate(() => performance.now() / 1000));
    await browser.close();
  }
  times.sort((a, b) => a - b);
  console.log(`bench: in-page (cpu) MNIST view opened to pretrained digits drawn: ${times.map((t) => t.toFixed(2)).join(", ")} s (3 loads)`);
}

// Frame budget per view while it trains with its live plots (frames/s, long tasks, redraw cost):
// served cross-origin isolated (every core) and without headers (one thread).
await printFrameBudget(15, undefined, LAB_URL, "isolated");
if (PLAIN_URL) await printFrameBudget(15, undefined, PLAIN_URL, "not isolated");
