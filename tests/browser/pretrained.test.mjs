// Browser tests of the pretrained networks (`pretrained/`, shipped in dist/pretrained/): the MNIST
// view starts from its network and shows digits at once; every view's Pretrained button loads
// its model's network; a missing file is reported and the network trains from scratch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, openLab, inkFraction, MNIST_CANVASES, ARTIFACTS } from "./harness.mjs";

mkdirSync(ARTIFACTS, { recursive: true });
const LIMIT = 300_000;
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

const messages = (page) => page.textContent("#messages");

// A network loaded while paused has its loss measured on one batch, at its step: one point on
// record, the header's loss shows it, and the loss figure (canvas `figure`) draws that point
// and says so. Returns the loss.
async function loadedLoss(page, figure) {
  await page.waitForFunction(() => lab.status().lossPoints === 1, null, { timeout: 30_000 });
  const { loss, playing, steps } = await page.evaluate(() => lab.status());
  assert.equal(playing, false);
  assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
  await page.waitForFunction((l) => document.getElementById("stat-loss").textContent === l.toFixed(4), loss, { timeout: 10_000 });
  const said = `the loaded network's loss at step ${steps}, ${loss.toFixed(4)} (one batch)`;
  await page.waitForFunction(([id, s]) => (document.getElementById(id).getAttribute("aria-label") ?? "").includes(s), [figure, said], { timeout: 10_000 });
  const ink = await inkFraction(page, figure);
  assert.ok(ink > 0.005, `${figure} looks blank with its one point (${ink})`);
  await page.locator(`#${figure}`).screenshot({ path: join(ARTIFACTS, `loaded-loss-${figure}.png`) });
  return loss;
}

test("opening the MNIST view shows the pretrained network's digits within seconds, and Reset trains from scratch (CPU)", { timeout: LIMIT }, async () => {
  // The URL a student opens: every setting at its default (training on load included).
  const { page, errors } = await openLab(cpu, "?model=mnist");
  await page.waitForFunction(() => lab.status().viewsStep >= 1000, null, { timeout: 120_000, polling: 50 });
  const shownAt = await page.evaluate(() => performance.now());
  console.log(`pretrained MNIST digits drawn ${(shownAt / 1000).toFixed(2)} s after navigation (CPU device, this machine)`);
  assert.match(await messages(page), /MNIST started from the pretrained network \(\d+ steps, SiLU,.*Reset trains one from scratch \(soft SiLU\)/);
  // The shipped network is SiLU; the settings keep the soft SiLU that fresh networks take.
  assert.equal(await page.inputValue('select[name="mact"]'), "soft");
  const st = await page.evaluate(() => lab.status());
  assert.equal(st.model, "mnist");
  assert.ok(st.steps >= st.viewsStep && st.viewsStep >= 1000, JSON.stringify(st));
  await page.waitForTimeout(300);
  for (const id of MNIST_CANVASES.filter((id) => id !== "c-mnist-loss")) {
    const ink = await inkFraction(page, id);
    assert.ok(ink > 0.02, `${id} looks blank (${ink})`);
  }
  await page.locator("#c-mnist-digits").screenshot({ path: join(ARTIFACTS, "pretrained-mnist-digits.png") });
  // The shipped network is not saved to this browser again (only training beyond it is).
  await page.click("#play");
  await page.click("#reset");
  await page.waitForFunction(() => lab.status().steps === 0, null, { timeout: 30_000 });
  const r = await page.evaluate(() => lab.train("mnist", { steps: 2 }));
  assert.equal(r.steps, 2, "Reset starts a fresh network");
  // The button brings the pretrained network back.
  await page.click("#pretrained");
  await page.waitForFunction(() => lab.status().steps >= 1000, null, { timeout: 60_000 });
  assert.match(await messages(page), /Loaded the MNIST network from the pretrained network: U-Net \(16 channels, 2 levels, SiLU\).* Reset trains one from scratch/);
  // Loading a file takes its settings, its activation among them.
  assert.equal(await page.inputValue('select[name="mact"]'), "silu");
  assert.match(page.url(), /mact=silu/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the toy's and the Ising view's Pretrained buttons load their networks; the toy's data return to the mixture it learned", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0&mix=0.3:-1:0.4,0.7:2.5:0.3&width=32");
  await page.click("#pretrained");
  await page.waitForFunction(() => lab.status().steps > 0, null, { timeout: 30_000 });
  const msg = await messages(page);
  assert.match(msg, /Loaded weights from the pretrained network: \d+×\d+ network trained \d+ steps/);
  assert.match(msg, /default two modes/);
  assert.ok(!page.url().includes("mix="), `the URL keeps no other mixture: ${page.url()}`);
  await page.waitForFunction(() => { const s = lab.status(); return s.viewsReady && s.viewsStep === s.steps; }, null, { timeout: 60_000 });
  const st = await page.evaluate(() => lab.status());
  console.log(`pretrained toy in the page: ${st.steps} steps, W1 SDE ${st.sdeW1.toFixed(4)}, ODE ${st.odeW1.toFixed(4)}`);
  assert.ok(st.sdeW1 < 0.05 && st.odeW1 < 0.05, JSON.stringify(st));
  // Paused, the loaded network's loss is measured on a batch: the header shows it, not "–".
  await loadedLoss(page, "c-loss");

  await page.evaluate(() => lab.applySettings("model=ising&play=0"));
  await page.waitForFunction(() => lab.status().model === "ising", null, { timeout: 30_000 });
  const m = await page.evaluate(() => lab.loadPretrained());
  assert.match(m, /pretrained network/);
  await page.waitForFunction(() => { const s = lab.status(); return s.viewsReady && s.viewsStep === s.steps && s.steps > 0; }, null, { timeout: 120_000 });
  const is = await page.evaluate(() => lab.status());
  console.log(`pretrained Ising in the page: ${is.steps} steps, TV |M| ${is.tvAbsM.toFixed(3)}, TV E ${is.tvEnergy.toFixed(3)}, <ss> ${is.nnCorrelation.toFixed(4)} (exact ${is.exactNnCorrelation.toFixed(4)})`);
  assert.ok(Math.abs(is.nnCorrelation - is.exactNnCorrelation) < 0.05, JSON.stringify(is));
  // Cross-entropy per spin of the shipped network: it trained at 0.44 nats (README).
  const loss = await loadedLoss(page, "c-ising-loss");
  assert.ok(loss > 0.38 && loss < 0.5, `Ising pretrained loss ${loss}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("while the pretrained network is on its way, the MNIST view shows the training digits and says what it waits for", { timeout: LIMIT }, async () => {
  const page = await cpu.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A slow connection: the network arrives when the test lets it.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route("**/pretrained/mnist.weights", async (route) => { await held; await route.continue(); });
  const { LAB_URL } = await import("./harness.mjs");
  await page.goto(LAB_URL + "?model=mnist&play=0");
  await page.evaluate(() => window.lab.ready);
  const label = () => page.evaluate(() => document.getElementById("c-mnist-digits").getAttribute("aria-label") ?? "");
  await page.waitForFunction(() => (document.getElementById("c-mnist-digits").getAttribute("aria-label") ?? "").includes("training digits"), null, { timeout: 60_000 });
  assert.match(await label(), /training digits; generated digits: loading the pretrained network…$/);
  assert.ok(await inkFraction(page, "c-mnist-digits") > 0.02, "the training digits are drawn while the network loads");
  await page.locator("#c-mnist-digits").screenshot({ path: join(ARTIFACTS, "mnist-loading-pretrained.png") });
  assert.equal(await page.evaluate(() => lab.status().steps), 0);
  release();
  await page.waitForFunction(() => lab.status().viewsStep >= 1000, null, { timeout: 120_000 });
  assert.match(await label(), /beside 16 digits generated after \d+ steps/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("without a pretrained file the MNIST view says so and trains from scratch", { timeout: LIMIT }, async () => {
  const browser = cpu;
  const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.route("**/pretrained/mnist.weights", (route) => route.fulfill({ status: 404, body: "" }));
  const { LAB_URL } = await import("./harness.mjs");
  await page.goto(LAB_URL + "?model=mnist&play=0");
  await page.evaluate(() => window.lab.ready);
  await page.waitForFunction(() => /No pretrained MNIST network .*404.* trains from scratch/.test(document.getElementById("messages").textContent), null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => lab.status().steps), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("weights trained natively on wgpu (the native test's lavapipe run) load in the page and sample the mixture", { timeout: LIMIT }, async (t) => {
  const { existsSync, readFileSync } = await import("node:fs");
  const path = process.env.WGPU_WEIGHTS;
  if (!path || !existsSync(path)) {
    t.skip("no wgpu-trained weights (cargo xtask test writes them in its native tests)");
    return;
  }
  const { page, errors } = await openLab(cpu, "?play=0");
  const bytes = Array.from(readFileSync(path));
  const msg = await page.evaluate((b) => lab.loadWeights(new Uint8Array(b)), bytes);
  assert.match(msg, /trained 300 steps/);
  const w1 = await page.evaluate(async () => lab.w1((await lab.sample("toy1d", { n: 4000, sampler: "sde", steps: 100, seed: 3 })).data));
  console.log(`wgpu-trained toy network (300 steps) in the page: W1 ${w1.toFixed(3)} (4,000 SDE samples)`);
  assert.ok(w1 < 0.15, `W1 ${w1} (a CPU-trained twin: 0.07)`);
  assert.deepEqual(errors, []);
  await page.close();
});
