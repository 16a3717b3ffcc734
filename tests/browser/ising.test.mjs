// Browser tests of the Ising view in headless Chromium (run by `cargo xtask test`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, openLab, inkFraction, ISING_CANVASES, ARTIFACTS } from "./harness.mjs";

mkdirSync(ARTIFACTS, { recursive: true });
const LIMIT = 600_000;
// The quality test's training length and bounds (see the README's measured figures).
const QUALITY = { steps: 3000, tvAbsM: 0.06, tvEnergy: 0.06, nn: 0.02 }; // the targets
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

async function waitForViews(page, minStep) {
  await page.waitForFunction((s) => { const st = window.lab.status(); return st.model === "ising" && st.viewsReady && st.viewsStep >= s; }, minStep, { timeout: 240_000, polling: 250 });
}

async function checkDrawn(page, label) {
  for (const id of ISING_CANVASES) {
    const ink = await inkFraction(page, id);
    assert.ok(ink > 0.02, `${id} looks blank on ${label} (${ink})`);
  }
}

test("the Ising view loads from the URL, trains, samples ±1 configurations and draws every plot (CPU)", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?model=ising&play=0");
  assert.equal(await page.evaluate(() => document.body.dataset.model), "ising");
  assert.ok(await page.isVisible("#c-ising-configs"));
  assert.ok(!(await page.isVisible("#c-forward")), "the toy's plots are hidden");
  const r = await page.evaluate(() => lab.train("ising", { steps: 60 }));
  assert.equal(r.steps, 60);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0 && r.loss < 0.7, `loss ${r.loss}`);
  const s = await page.evaluate(async () => {
    const s = await lab.sample("ising", { n: 50, steps: 10, seed: 1 });
    return { shape: s.shape, f32: s.data instanceof Float32Array, pm1: s.data.every((v) => v === 1 || v === -1), n: s.data.length };
  });
  assert.deepEqual(s, { shape: [50, 64], f32: true, pm1: true, n: 3200 });
  await waitForViews(page, 60);
  await page.waitForTimeout(400);
  await checkDrawn(page, "CPU");
  assert.equal(await page.textContent("#stat-steps"), "60");
  // The exact reference the page uses is the transfer-matrix one: <s_i s_j> = 0.4596 at beta 0.35.
  const st = await page.evaluate(() => lab.status());
  assert.ok(Math.abs(st.exactNnCorrelation - 0.4596) < 1e-4, `exact <ss> ${st.exactNnCorrelation}`);
  console.log(`exact distributions at the first beta (with the density of states): ${st.exactMs.toFixed(0)} ms in the page`);
  await page.screenshot({ path: join(ARTIFACTS, "ising-cpu.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the Ising network downloads as a weights file and loads back, with its settings; bad files change nothing", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?model=ising&play=0&channels=8&beta=0.3");
  await page.evaluate(() => lab.train("ising", { steps: 30 }));
  const file = await page.evaluate(async () => Array.from(await lab.exportWeights()));
  assert.ok(file.length > 5_000, `weights file of ${file.length} bytes`);
  // The page's own button downloads the same file.
  assert.ok(await page.isVisible("#download-weights"), "Save weights is shown in the Ising view");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-weights")]);
  assert.equal(download.suggestedFilename(), "ising.weights");
  const saved = await download.path().then((p) => import("node:fs").then((fs) => Array.from(fs.readFileSync(p))));
  // Same header and size (burn gives every export fresh parameter ids, so not the same bytes);
  // the downloaded file is the one loaded below.
  assert.equal(saved.length, file.length);
  const headerEnd = 12 + new DataView(new Uint8Array(file).buffer).getUint32(8, true);
  assert.deepEqual(saved.slice(0, headerEnd), file.slice(0, headerEnd));
  const before = await page.evaluate(async () => Array.from((await lab.sample("ising", { n: 20, steps: 8, seed: 4 })).data));
  // Elsewhere (the toy on show, other Ising settings), the file brings back the same network.
  await page.evaluate(() => lab.applySettings("model=toy1d&play=0&channels=16&beta=0.5"));
  const bad = await page.evaluate(() => lab.loadWeights(new Uint8Array([68, 73, 70, 70])).then(() => "resolved", (e) => String(e)));
  assert.match(bad, /not a Diffusion Lab weights file/);
  assert.equal(await page.evaluate(() => lab.status().model), "toy1d", "a refused file changes nothing");
  const msg = await page.evaluate((bytes) => lab.loadWeights(new Uint8Array(bytes)), saved);
  assert.match(msg, /Loaded the Ising network .*8 channels.* trained 30 steps at β = 0.3/);
  const st = await page.evaluate(() => lab.status());
  assert.equal(st.model, "ising");
  assert.equal(st.steps, 30);
  assert.match(await page.evaluate(() => lab.settings), /channels=8/);
  assert.match(await page.evaluate(() => lab.settings), /beta=0.3/);
  const after = await page.evaluate(async () => Array.from((await lab.sample("ising", { n: 20, steps: 8, seed: 4 })).data));
  assert.deepEqual(after, before, "the loaded network samples what the saved one did");
  // Training goes on from the loaded weights (the file holds no loss history: the curve restarts).
  const r = await page.evaluate(() => lab.train("ising", { steps: 10 }));
  assert.equal(r.totalSteps, 40);
  await waitForViews(page, 40);
  await checkDrawn(page, "loaded weights");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a new beta regenerates the data and retrains; bad values are refused with a message", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?model=ising&play=0&beta=7");
  const notes = await page.textContent("#messages");
  assert.match(notes, /beta=7 is outside/);
  await page.evaluate(() => lab.train("ising", { steps: 20 }));
  const r = await page.evaluate(() => lab.train("ising", { steps: 20, beta: 0.6 }));
  assert.equal(r.totalSteps, 20, "a new beta starts training afresh");
  assert.match(await page.evaluate(() => lab.settings), /beta=0.6/);
  // Below the critical temperature the exact <s s> is large (0.9545 at beta 0.6).
  const st = await page.evaluate(() => lab.status());
  assert.ok(Math.abs(st.exactNnCorrelation - 0.9545) < 1e-3, `${st.exactNnCorrelation}`);
  console.log(`exact distributions for a new beta: ${st.exactMs.toFixed(0)} ms in the page`);
  const bad = await page.evaluate(() => lab.train("ising", { steps: 5, beta: -1 }).then(() => "resolved", (e) => String(e)));
  assert.match(bad, /beta must be between/);
  // Switching back to the toy in the model picker shows the toy's plots.
  await page.selectOption("#model-select", "toy1d");
  await page.waitForFunction(() => document.body.dataset.model === "toy1d");
  assert.ok(await page.isVisible("#c-forward"));
  assert.deepEqual(errors, []);
  await page.close();
});

// WebGPU (SwiftShader): see the WebGPU test in lab.test.mjs, which runs both models in one browser.

test("quality on the CPU with defaults at beta 0.35: 5,000 generated configurations against the exact Gibbs measure", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?model=ising&play=0");
  const r = await page.evaluate((steps) => lab.train("ising", { steps }), QUALITY.steps);
  const t0 = Date.now();
  const q = await page.evaluate(async () => {
    const s = await lab.sample("ising", { n: 5000, seed: 11 });
    return lab.isingStats(s.data);
  });
  const sampleMs = Date.now() - t0;
  console.log(`Ising: trained ${r.totalSteps} steps in ${(r.ms / 1000).toFixed(1)} s; 5000 samples in ${(sampleMs / 1000).toFixed(1)} s: ` +
    `TV |M| ${q.tvAbsM.toFixed(4)}, TV E ${q.tvEnergy.toFixed(4)}, <s s> ${q.nnCorrelation.toFixed(4)} (exact ${q.exactNnCorrelation.toFixed(4)})`);
  assert.equal(q.n, 5000);
  assert.ok(q.tvAbsM <= QUALITY.tvAbsM, `TV |M| ${q.tvAbsM}`);
  assert.ok(q.tvEnergy <= QUALITY.tvEnergy, `TV energy ${q.tvEnergy}`);
  assert.ok(Math.abs(q.nnCorrelation - q.exactNnCorrelation) <= QUALITY.nn, `<s s> ${q.nnCorrelation} vs ${q.exactNnCorrelation}`);
  assert.deepEqual(errors, []);
  await page.close();
});
