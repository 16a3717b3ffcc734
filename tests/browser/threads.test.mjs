// Browser tests of the lab's threads (issue 12): which module a page loads, what the header says
// about it, `?threads=N`, and that training on a pool of workers computes what one thread does.
// `cargo xtask test` runs every browser test twice: against a cross-origin-isolated server
// (LAB_ISOLATED=1: the threaded module on the CPU) and one that sends no headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openLab, inkFraction } from "./harness.mjs";

const LIMIT = 300_000;
const ISOLATED = process.env.LAB_ISOLATED === "1";
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

async function threadsOf(page) {
  return page.evaluate(() => ({
    isolated: crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
    threads: lab.threads,
    module: lab.module,
    badge: document.getElementById("device").textContent,
    title: document.getElementById("device").title,
  }));
}

test("the header says how many threads the CPU trains on and why; ?threads=N chooses, validated like every setting", { timeout: LIMIT }, async () => {
  const { page, errors } = await openLab(cpu, "?play=0");
  const t = await threadsOf(page);
  console.log(`threads: ${JSON.stringify(t)}`);
  assert.equal(t.isolated, ISOLATED, "the server's headers decide cross-origin isolation");
  if (ISOLATED) {
    assert.equal(t.module, "pkg-threads");
    assert.equal(t.threads, t.cores, "every core by default");
    assert.match(t.badge, new RegExp(`${t.cores} threads? \\(every core of ${t.cores}\\)`));
  } else {
    assert.equal(t.module, "pkg");
    assert.equal(t.threads, 1);
    assert.match(t.badge, /1 thread \(not cross-origin isolated/);
  }
  assert.deepEqual(errors, []);
  await page.close();

  const one = await openLab(cpu, "?play=0&threads=1");
  const t1 = await threadsOf(one.page);
  assert.equal(t1.module, "pkg");
  assert.equal(t1.threads, 1);
  assert.match(t1.badge, /1 thread \(\?threads=1\)/);
  assert.match(await one.page.evaluate(() => lab.settings), /threads=1/);
  assert.deepEqual(one.errors, []);
  await one.page.close();

  // Out of range or not a whole number: a message, and the default (every core).
  for (const bad of ["65", "1.5", "lots", "-2"]) {
    const b = await openLab(cpu, `?play=0&threads=${bad}`);
    await b.page.waitForSelector("#messages", { state: "visible" });
    const msg = await b.page.textContent("#messages");
    assert.ok(msg.includes(`threads=${bad}`), `the message names threads=${bad}: ${msg}`);
    const tb = await threadsOf(b.page);
    assert.equal(tb.threads, ISOLATED ? tb.cores : 1, `threads=${bad}`);
    assert.doesNotMatch(await b.page.evaluate(() => lab.settings), /threads=/);
    await b.page.close();
  }
});

test("two threads train the toy to the losses one thread reaches (the same arithmetic, split)", { timeout: LIMIT }, async (t) => {
  if (!ISOLATED) {
    t.skip("one thread only on a page that is not cross-origin isolated");
    return;
  }
  const run = async (threads) => {
    const { page, errors } = await openLab(cpu, `?play=0&threads=${threads}&width=128&batch=1024&seed=3`);
    const r = await page.evaluate(() => lab.train("toy1d", { steps: 200 }));
    const w1 = await page.evaluate(async () => lab.w1((await lab.sample("toy1d", { n: 10000, sampler: "ode", steps: 100, seed: 2 })).data));
    const th = await page.evaluate(() => lab.threads);
    assert.deepEqual(errors, []);
    await page.close();
    return { loss: r.loss, w1, threads: th };
  };
  const one = await run(1);
  const two = await run(2);
  console.log(`toy 200 steps: one thread ${JSON.stringify(one)}, two ${JSON.stringify(two)}`);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  // Parallel sums add in another order: the same run, to rounding.
  assert.ok(Math.abs(one.loss - two.loss) <= 0.02 * one.loss, `loss ${one.loss} vs ${two.loss}`);
  assert.ok(Math.abs(one.w1 - two.w1) <= 0.01, `W1 ${one.w1} vs ${two.w1}`);
});

test("the rasters (heatmaps behind the toy's paths and field) are drawn whichever module runs", { timeout: LIMIT }, async () => {
  // The threaded module's memory is a SharedArrayBuffer, which `new ImageData` refuses to view:
  // a raster not copied out first is silently missing (the paths on top still count as ink).
  const { page, errors } = await openLab(cpu, "?play=0");
  await page.waitForFunction(() => lab.status().drawMs > 0, null, { timeout: 60_000 });
  await page.evaluate(() => lab.sync());
  await page.waitForTimeout(500);
  // Measured: with the density heatmap c-forward is 0.73 ink and c-field 0.45; without, 0.32
  // and 0.08.
  const forward = await inkFraction(page, "c-forward");
  const field = await inkFraction(page, "c-field");
  console.log(`rasters (${await page.evaluate(() => lab.module)}): c-forward ink ${forward.toFixed(3)}, c-field ${field.toFixed(3)}`);
  assert.ok(forward > 0.55, `the forward paths' density heatmap is missing (ink ${forward})`);
  assert.ok(field > 0.3, `the score field's heatmaps are missing (ink ${field})`);
  assert.deepEqual(errors, []);
  await page.close();
});
