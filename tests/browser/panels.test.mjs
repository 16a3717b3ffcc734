// Browser tests of the panels' sync and text alternatives: while each model trains as a user
// watches it (train on load), every panel drawn from the network says which training step it
// shows (its title or readout, and `data-step`), and none lags the header's step count by more
// than 2 s of training (the refresh policy, `pacing::Refresh` and `MAX_LAG_MS`); every figure has
// a text alternative saying what it shows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openLab, CANVASES, ISING_CANVASES, MNIST_CANVASES } from "./harness.mjs";

const LIMIT = 300_000;
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

const LEARNED = {
  toy1d: ["c-score", "c-field", "c-reverse", "c-samples"],
  ising: ["c-ising-configs", "c-ising-runs", "c-ising-hist"],
  mnist: ["c-mnist-digits", "c-mnist-nearest", "c-mnist-strip"],
};
const ALL = { toy1d: CANVASES, ising: ISING_CANVASES, mnist: MNIST_CANVASES };

for (const model of ["toy1d", "ising", "mnist"]) {
  test(`${model}: every learned panel states its step and lags the header by at most 2 s of training; every figure has a text alternative (CPU)`, { timeout: LIMIT }, async () => {
    const { page, errors } = await openLab(cpu, `?model=${model}`, { width: 1400, height: 1000 });
    // Wait for the first views of the network (MNIST: its digits and pretrained network load).
    await page.waitForFunction((ids) => ids.every((id) => document.getElementById(id).dataset.step !== undefined), LEARNED[model], { timeout: 120_000, polling: 100 });
    const seen = [];
    const started = Date.now();
    while (Date.now() - started < 20_000) {
      // What the user sees at one moment: the header's steps and each panel's step.
      const now = await page.evaluate((ids) => ({
        header: Number(document.getElementById("stat-steps").textContent),
        rate: lab.status().stepsPerSec,
        playing: lab.status().playing,
        panels: ids.map((id) => [id, Number(document.getElementById(id).dataset.step)]),
      }), LEARNED[model]);
      assert.ok(now.playing, "trains on load");
      if (now.rate > 0) {
        for (const [id, step] of now.panels) {
          assert.ok(step <= now.header, `${id} shows step ${step} ahead of the header's ${now.header}`);
          seen.push({ id, lag: (now.header - step) / now.rate, step, header: now.header });
        }
      }
      await page.waitForTimeout(150 + Math.random() * 200);
    }
    const worst = seen.reduce((a, b) => (b.lag > a.lag ? b : a), { lag: 0 });
    const header = seen.at(-1)?.header ?? 0;
    console.log(`${model}: ${seen.length} readings, worst lag ${worst.lag.toFixed(2)} s of training (${worst.id} at step ${worst.step}, header ${worst.header}); header reached ${header}`);
    assert.ok(seen.length >= 20, "enough readings");
    assert.ok(worst.lag <= 2.0, `${worst.id} lagged ${worst.lag.toFixed(2)} s of training: step ${worst.step} vs header ${worst.header}`);
    // The panels moved with training (not one refresh at the start).
    const steps = new Set(seen.filter((r) => r.id === LEARNED[model][0]).map((r) => r.step));
    assert.ok(steps.size >= 3, `${LEARNED[model][0]} showed only steps ${[...steps]}`);
    // Text alternatives: every figure is an image with a label saying what it shows; a learned
    // panel's names its step.
    const labels = await page.evaluate((ids) => ids.map((id) => {
      const c = document.getElementById(id);
      return [id, c.getAttribute("role"), c.getAttribute("aria-label") ?? "", c.dataset.step];
    }), ALL[model]);
    for (const [id, role, label, step] of labels) {
      assert.equal(role, "img", id);
      assert.ok(label.length > 20, `${id}: "${label}"`);
      if (step !== undefined) assert.match(label, new RegExp(`\\b${step} (training )?steps\\b`), `${id}: "${label}"`);
    }
    // Every control the user can reach has a name a screen reader reads (its label, aria-label
    // or title), and is reachable by Tab (not taken out of the tab order).
    const unnamed = await page.evaluate(() => [...document.querySelectorAll("input, select, button")].filter((e) => {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || getComputedStyle(e).visibility === "hidden") return false;
      const name = [...(e.labels ?? [])].map((l) => l.textContent).join(" ") || e.getAttribute("aria-label") || e.getAttribute("title") || e.textContent;
      return !name.trim() || e.tabIndex < 0;
    }).map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unnamed, [], "controls without a name or out of the tab order");
    if (model === "ising") assert.match(labels.find(([id]) => id === "c-ising-hist")[2], /TV \d\.\d{3}/);
    if (model === "toy1d") assert.match(labels.find(([id]) => id === "c-samples")[2], /W₁ \d\.\d{4}/);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
