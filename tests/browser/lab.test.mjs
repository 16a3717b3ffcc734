// Browser tests of the built lab in headless Chromium (run by `cargo xtask test`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, openLab, inkFraction, CANVASES, ISING_CANVASES, MNIST_CANVASES, ARTIFACTS } from "./harness.mjs";

mkdirSync(ARTIFACTS, { recursive: true });
// Every test fails rather than hangs (SwiftShader WebGPU is the slowest, about 3 minutes here).
const LIMIT = 420_000;
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

async function waitForViews(page, minStep) {
  await page.waitForFunction((s) => { const st = window.lab.status(); return st.viewsReady && st.viewsStep >= s; }, minStep, { timeout: 120_000, polling: 200 });
}

test("without a WebGPU adapter the lab trains on the CPU, says why, and draws every plot", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  assert.equal(await page.evaluate(() => lab.device), "cpu");
  const badge = await page.textContent("#device");
  assert.match(badge, /CPU/);
  assert.match(badge, /adapter|WebGPU/i, "the page says why it fell back");
  const r = await page.evaluate(() => lab.train("toy1d", { steps: 300 }));
  assert.equal(r.steps, 300);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
  assert.ok(r.ms > 0);
  await waitForViews(page, 300);
  await page.waitForTimeout(300);
  for (const id of CANVASES) {
    const ink = await inkFraction(page, id);
    assert.ok(ink > 0.02, `${id} looks blank (${ink})`);
  }
  assert.equal(await page.textContent("#stat-steps"), "300");
  await page.screenshot({ path: join(ARTIFACTS, "toy1d-cpu.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("after training with defaults on the CPU, 10,000 SDE and 10,000 ODE samples are within W1 0.05 of the mixture", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  const r = await page.evaluate(() => lab.train("toy1d", { steps: 1500 }));
  const out = await page.evaluate(async () => {
    const sde = await lab.sample("toy1d", { n: 10000, sampler: "sde", steps: 200, seed: 1 });
    const ode = await lab.sample("toy1d", { n: 10000, sampler: "ode", steps: 100, seed: 2 });
    const exact = await lab.sample("toy1d", { n: 10000, sampler: "sde", steps: 200, seed: 3, score: "exact" });
    return { sdeShape: sde.shape, sde: lab.w1(sde.data), ode: lab.w1(ode.data), exact: lab.w1(exact.data), isF32: sde.data instanceof Float32Array };
  });
  console.log(`trained 1500 steps in ${r.ms.toFixed(0)} ms; W1 SDE ${out.sde.toFixed(4)}, ODE ${out.ode.toFixed(4)}, exact-score SDE ${out.exact.toFixed(4)}`);
  assert.deepEqual(out.sdeShape, [10000]);
  assert.ok(out.isF32);
  assert.ok(out.sde <= 0.05, `SDE W1 ${out.sde}`);
  assert.ok(out.ode <= 0.05, `ODE W1 ${out.ode}`);
  assert.ok(out.exact <= 0.05, `exact-score W1 ${out.exact}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("with --enable-unsafe-webgpu every model trains, samples and draws on WebGPU", { timeout: LIMIT }, async () => {
  // One browser for both models: SwiftShader's start-up and shader compilation dominate.
  const gpu = await launch({ webgpu: true });
  try {
    // MNIST's network is tiny here: SwiftShader runs convolutions on the CPU.
    const { page, errors } = await openLab(gpu, "?play=0&steps=20&rsteps=8&mch=4&mlevels=1&mbatch=2&msteps=3");
    assert.equal(await page.evaluate(() => lab.device), "webgpu");
    const r = await page.evaluate(() => lab.train("toy1d", { steps: 20 }));
    assert.equal(r.steps, 20);
    assert.ok(Number.isFinite(r.loss), `loss ${r.loss}`);
    const s = await page.evaluate(async () => { const s = await lab.sample("toy1d", { n: 256, sampler: "ode", steps: 10 }); return { n: s.data.length, finite: s.data.every(Number.isFinite) }; });
    assert.deepEqual(s, { n: 256, finite: true });
    await waitForViews(page, 20);
    await page.waitForTimeout(300);
    for (const id of CANVASES) assert.ok((await inkFraction(page, id)) > 0.02, `${id} blank on WebGPU`);
    await page.screenshot({ path: join(ARTIFACTS, "toy1d-webgpu.png"), fullPage: true });
    // The Ising view on the same device.
    const ri = await page.evaluate(() => lab.train("ising", { steps: 10 }));
    assert.equal(ri.steps, 10);
    assert.ok(Number.isFinite(ri.loss), `Ising loss ${ri.loss}`);
    const si = await page.evaluate(async () => { const s = await lab.sample("ising", { n: 40, steps: 8 }); return s.data.length === 40 * 64 && s.data.every((v) => v === 1 || v === -1); });
    assert.ok(si, "Ising samples are ±1 configurations");
    await page.waitForFunction(() => { const st = window.lab.status(); return st.model === "ising" && st.viewsReady && st.viewsStep >= 10; }, null, { timeout: 240_000, polling: 250 });
    await page.waitForTimeout(400);
    for (const id of ISING_CANVASES) assert.ok((await inkFraction(page, id)) > 0.02, `${id} blank on WebGPU`);
    await page.screenshot({ path: join(ARTIFACTS, "ising-webgpu.png"), fullPage: true });
    // The MNIST view on the same device.
    const rm = await page.evaluate(() => lab.train("mnist", { steps: 3 }));
    assert.equal(rm.steps, 3);
    assert.ok(Number.isFinite(rm.loss), `MNIST loss ${rm.loss}`);
    const sm = await page.evaluate(async () => { const s = await lab.sample("mnist", { n: 2, steps: 3, sampler: "ddpm" }); return s.data.length === 2 * 784 && s.data.every((v) => v >= 0 && v <= 1); });
    assert.ok(sm, "MNIST samples are images in [0, 1]");
    await page.waitForFunction(() => { const st = window.lab.status(); return st.model === "mnist" && st.viewsReady && st.viewsStep >= 3; }, null, { timeout: 240_000, polling: 250 });
    await page.waitForTimeout(400);
    const mst = await page.evaluate(() => lab.status());
    console.log(`MNIST on WebGPU: ${JSON.stringify(mst)}`);
    for (const id of MNIST_CANVASES) assert.ok((await inkFraction(page, id)) > 0.02, `${id} blank on WebGPU (${mst.lossPoints} loss points)`);
    // Weights are read back asynchronously: saving works on WebGPU too.
    const exported = await page.evaluate(async () => (await lab.exportWeights()).length);
    assert.ok(exported > 1000, `MNIST weights file of ${exported} bytes on WebGPU`);
    await page.screenshot({ path: join(ARTIFACTS, "mnist-webgpu.png"), fullPage: true });
    assert.deepEqual(errors, []);
    // A lost device (simulated by destroying it) stops the lab with a message and a way on.
    await page.evaluate(async () => { await lab.setPlaying(true); await lab.loseGpuForTest(); });
    await page.waitForFunction(() => getComputedStyle(document.getElementById("fatal")).display !== "none", null, { timeout: 60_000 });
    const fatal = await page.textContent("#fatal");
    assert.match(fatal, /GPU device was lost/);
    assert.match(fatal, /settings are in the address bar/);
    assert.match(await page.getAttribute("#fatal a", "href"), /device=cpu/);
    const refused = await page.evaluate(() => lab.train("toy1d", { steps: 1 }).then(() => "resolved", (e) => String(e)));
    assert.match(refused, /GPU device was lost/);
    await page.screenshot({ path: join(ARTIFACTS, "gpu-lost.png") });
  } finally {
    await gpu.close();
  }
});

test("?device=webgpu without an adapter falls back to the CPU with a message", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?device=webgpu&play=0");
  assert.equal(await page.evaluate(() => lab.device), "cpu");
  assert.match(await page.textContent("#device"), /WebGPU was requested/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("bad URL values are reported in the page and replaced by defaults", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0&lr=abc&width=99999&sampler=bogus&steps=-3&mix=1:2&frobnicate=1&t=NaN");
  await page.waitForSelector("#messages", { state: "visible" });
  const msg = await page.textContent("#messages");
  for (const key of ["lr=abc", "width=99999", "sampler=bogus", "steps=-3", "mix:", "frobnicate", "t=NaN"]) {
    assert.ok(msg.includes(key), `message mentions ${key}: ${msg}`);
  }
  assert.ok(await page.isVisible("#messages"));
  const settings = await page.evaluate(() => lab.settings);
  assert.equal(settings, "play=0", "bad values were replaced by defaults");
  assert.equal(await page.inputValue("input[name=lr]"), "0.02");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the URL round-trips every setting and a changed control updates it", { timeout: LIMIT }, async () => {
  const q = "?play=0&seed=7&mix=0.3%3A-1%3A0.4%2C0.7%3A2.5%3A0.3&schedule=vp-linear&width=32&lr=0.01&loss=score&sampler=family&a=0.75&steps=150&t=0.2&data=fixed&runs=500";
  const { page, errors } = await openLab(cpu, q);
  const settings = await page.evaluate(() => lab.settings);
  const want = new URLSearchParams(q);
  const got = new URLSearchParams(settings);
  for (const [k, v] of want) assert.equal(got.get(k), v, `setting ${k}`);
  assert.equal(await page.inputValue("select[name=schedule]"), "vp-linear");
  // The lab (in its worker) applies a control and the page shows the result: lab.sync() waits
  // for that round trip.
  await page.selectOption("select[name=schedule]", "flow");
  assert.match(await page.evaluate(async () => (await lab.sync(), location.search)), /schedule=flow/);
  await page.fill("input[name=steps]", "80");
  await page.press("input[name=steps]", "Enter");
  await page.locator("input[name=steps]").blur();
  assert.match(await page.evaluate(async () => (await lab.sync(), location.search)), /steps=80/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("dragging a mode moves it and scrolling over it changes its width", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  const box = await page.locator("#c-data").boundingBox();
  // The handles are the filled circles drawn at the modes' peaks: find the right one's pixels.
  const handle = await page.evaluate(async () => {
    const c = document.getElementById("c-data");
    const { data, width, height } = await lab.canvasPixels("c-data");
    let sx = 0, sy = 0, n = 0;
    for (let y = 0; y < height; y++) for (let x = width / 2; x < width; x++) {
      const i = 4 * (y * width + x);
      if (Math.abs(data[i] - 214) < 12 && Math.abs(data[i + 1] - 51) < 12 && Math.abs(data[i + 2] - 108) < 12) { sx += x; sy += y; n++; }
    }
    const scale = width / c.getBoundingClientRect().width;
    return n ? { x: sx / n / scale, y: sy / n / scale, n } : null;
  });
  assert.ok(handle && handle.n > 20, `the right mode's handle is drawn: ${JSON.stringify(handle)}`);
  const comps = () => page.evaluate(async () => (await lab.sync(), new URLSearchParams(location.search).get("mix"))).then((m) => (m ?? "0.5:-2:0.5,0.5:2:0.5").split(",").map((c) => c.split(":").map(Number)));
  await page.mouse.move(box.x + handle.x, box.y + handle.y);
  await page.mouse.down();
  for (let k = 1; k <= 8; k++) await page.mouse.move(box.x + handle.x + 5 * k, box.y + handle.y);
  await page.mouse.up();
  const moved = await comps();
  assert.equal(moved.length, 2, "still two modes");
  assert.equal(moved[0][1], -2, "the left mode stays");
  assert.ok(moved[1][1] > 2.2 && moved[1][1] < 4, `the right mode moved right: ${moved[1][1]}`);
  // Scrolling over it narrows or widens it; the drawn plot and the exact references follow.
  const x = box.x + handle.x + 40;
  await page.mouse.move(x, box.y + box.height * 0.5);
  await page.mouse.wheel(0, -200);
  await page.waitForFunction(() => /0\.5:2\.\d+:0\.(?!5(\D|$))/.test(new URLSearchParams(location.search).get("mix") ?? ""), null, { timeout: 10_000 });
  const widened = await comps();
  assert.notEqual(widened[1][2], 0.5, "the width changed");
  assert.equal(widened[1][1], moved[1][1]);
  const w1 = await page.evaluate(async () => lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "ode", steps: 100, seed: 3, score: "exact" })).data));
  assert.ok(w1 <= 0.05, `exact-score ODE W1 to the edited mixture ${w1}`);
  // Every sampler of the table serves the toy too: DPM-Solver++ in 20 evaluations.
  const dpm = await page.evaluate(async () => lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "dpm2m", steps: 20, seed: 3, score: "exact" })).data));
  assert.ok(dpm <= 0.05, `exact-score DPM-Solver++(2M) W1 to the edited mixture ${dpm}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("drawing on the data plot replaces the mixture with the drawn density, and the exact references follow it", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  const box = await page.locator("#c-data").boundingBox();
  // A stroke across the middle of the plot, away from the two modes at ±2, at about half height.
  const y = box.y + box.height * 0.45;
  const from = 0.55;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  for (let k = 1; k <= 12; k++) await page.mouse.move(box.x + box.width * (from + 0.006 * k), y);
  await page.mouse.up();
  const search = () => page.evaluate(async () => (await lab.sync(), location.search));
  const mix = new URLSearchParams(await search()).get("mix");
  assert.ok(mix && mix.split(",").length > 10, `the drawn density is a mixture of many bins: ${mix}`);
  // Mass now sits near x = 0, where the default mixture has none.
  const means = mix.split(",").map((c) => c.split(":").map(Number));
  assert.ok(means.some(([w, m]) => Math.abs(m) < 0.6 && w > 0.01), "a component near the stroke");
  // The plot has been redrawn for the drawn density (its axes may have moved) before the next
  // stroke, as a person's next stroke would find it.
  await page.waitForFunction(() => Number(/mixture of (\d+)/.exec(document.getElementById("c-data").getAttribute("aria-label") ?? "")?.[1]) > 10);
  // On a drawn density every drag draws: a stroke along the bottom over the left mode erases it.
  const low = box.y + box.height * 0.86;
  await page.mouse.move(box.x + box.width * 0.2, low);
  await page.mouse.down();
  for (let k = 1; k <= 20; k++) await page.mouse.move(box.x + box.width * (0.2 + 0.01 * k), low);
  await page.mouse.up();
  const erased = new URLSearchParams(await search()).get("mix").split(",").map((c) => c.split(":").map(Number));
  const total = erased.reduce((a, [w]) => a + w, 0);
  const left = erased.filter(([, m]) => m < -1).reduce((a, [w]) => a + w, 0) / total;
  assert.ok(left < 0.1, `mass left of x = -1 after erasing: ${left}`);
  // The exact score of the drawn mixture generates it.
  const w1 = await page.evaluate(async () => lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "ode", steps: 100, seed: 5, score: "exact" })).data));
  assert.ok(w1 <= 0.05, `exact-score ODE W1 to the drawn density ${w1}`);
  await page.screenshot({ path: join(ARTIFACTS, "drawn-density.png") });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a diverging learning rate stops training with a message, restores weights and shows no NaN", { timeout: LIMIT }, async () => {
  // With the default decay and times, a rate of 10 explodes (seed 2) or settles far above the
  // untrained network's loss without growing (seed 4): both count as divergence.
  const { page, errors } = await openLab(cpu, "?play=0&lr=10&loss=score&seed=2");
  for (const seed of [2, 4]) {
    await page.evaluate((q) => lab.applySettings(q), `play=0&lr=10&loss=score&seed=${seed}`);
    const outcome = await page.evaluate(() => lab.train("toy1d", { steps: 2000 }).then(() => "resolved", (e) => String(e)));
    assert.match(outcome, /diverged/i, `seed ${seed}`);
  }
  const st = await page.evaluate(() => lab.status());
  assert.equal(st.playing, false);
  assert.match(await page.textContent("#messages"), /diverged/i);
  const shown = await page.textContent("header");
  assert.ok(!/NaN|Infinity/.test(shown), `header shows ${shown}`);
  // The page still works afterwards.
  await page.evaluate(() => lab.applySettings("play=0&lr=0.003"));
  const r = await page.evaluate(() => lab.train("toy1d", { steps: 50 }));
  assert.ok(Number.isFinite(r.loss));
  assert.deepEqual(errors.filter((e) => !/diverged/i.test(e)), []);
  await page.close();
});

test("API misuse is rejected with a clear message", { timeout: LIMIT }, async () => {
  const { page } = await openLab(cpu, "?play=0");
  const msgs = await page.evaluate(async () => {
    const fail = (p) => p.then(() => "resolved", (e) => String(e));
    return [
      await fail(lab.train("nope", { steps: 1 })),
      await fail(lab.train("toy1d", { steps: -5 })),
      await fail(lab.sample("toy1d", { n: 10, sampler: "magic" })),
    ];
  });
  assert.match(msgs[0], /unknown model/);
  assert.match(msgs[1], /steps must be/);
  assert.match(msgs[2], /unknown sampler/);
  await page.close();
});

test("a panic shows its message in the page and the console", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  // A panic aborts the wasm call in the lab's worker: start it, do not await it.
  await page.evaluate(() => { lab.panicForTest().catch(() => {}); });
  await page.waitForSelector("#fatal", { state: "visible" });
  assert.match(await page.textContent("#fatal"), /internal error[\s\S]*deliberate test panic/);
  assert.ok(errors.some((e) => /deliberate test panic/.test(e)), "console has the panic");
  await page.close();
});

test("the header fits the window: one line on a 1024-px screen, two at 800 px, never wider than the window (every model)", { timeout: LIMIT }, async () => {
  for (const [model, steps] of [["toy1d", 100], ["ising", 50], ["mnist", 1]]) {
    for (const [width, lines] of [[1024, 1], [800, 2]]) {
      const { page, errors } = await openLab(cpu, `?model=${model}&play=0`, { width, height: 768 });
      // Trained, so that every stat (the W₁ or TV readout the widest) holds a value.
      await page.evaluate(([m, s]) => lab.train(m, { steps: s }), [model, steps]);
      await waitForViews(page, 1);
      await page.waitForTimeout(500);
      const r = await page.evaluate(() => {
        const header = document.querySelector("header");
        const right = Math.max(...[...header.querySelectorAll(":scope > *")].map((e) => e.getBoundingClientRect().right));
        const metric = document.getElementById("stat-w1").textContent;
        return { scroll: document.documentElement.scrollWidth, width: innerWidth, right, height: header.getBoundingClientRect().height, metric };
      });
      const what = `${model} at ${width} px: ${JSON.stringify(r)}`;
      assert.notEqual(r.metric, "–", `${what}: the metric has no value yet`);
      assert.ok(r.scroll <= r.width, `${what}: the page scrolls sideways`);
      assert.ok(r.right <= r.width, `${what}: the header runs past the window`);
      assert.ok(r.height <= 58 * lines, `${what}: the header takes more than ${lines} line(s)`);
      if (width === 1024) await page.locator("header").screenshot({ path: join(ARTIFACTS, `header-1024-${model}.png`) });
      assert.deepEqual(errors, []);
      await page.close();
    }
  }
});
