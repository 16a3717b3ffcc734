// Browser tests of figures and samples leaving the page (src/web/export.rs, src/export.rs):
// every figure of every model exports as a PNG of twice its on-screen size that decodes to a
// drawn image, and as SVG that parses and holds the figure's text; the toolbar's buttons download; CSV and NPY hold exactly the samples `lab.sample`
// returned (and a sample figure's CSV the samples it shows); misuse is refused with a reason.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launch, openLab, pageBytes, CANVASES, ISING_CANVASES, MNIST_CANVASES } from "./harness.mjs";

const LIMIT = 300_000;
let cpu;
before(async () => { cpu = await launch(); });
after(async () => { await cpu?.close(); });

/// PNG bytes → { width, height, ink } decoded by the browser (ink: fraction of non-white pixels).
async function decodePng(page, bytes) {
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext("2d");
    ctx.drawImage(bmp, 0, 0);
    const { data } = ctx.getImageData(0, 0, bmp.width, bmp.height);
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) ink++;
    return { width: bmp.width, height: bmp.height, ink: ink / (data.length / 4) };
  }, Buffer.from(bytes).toString("base64"));
}

/// An NPY file → { descr, shape, data } (format 1.0, as numpy.save writes it).
function parseNpy(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [0x93, ...Buffer.from("NUMPY"), 1, 0], "NPY magic and version");
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString("latin1");
  assert.equal((10 + len) % 64, 0, "data aligned to 64 bytes");
  assert.ok(header.endsWith("\n"));
  const descr = /'descr': '([^']+)'/.exec(header)[1];
  assert.match(header, /'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(10 + len);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { descr, shape, data };
}

/// A piece of each figure's title (or label) that its SVG must hold as text.
const TITLES = {
  "c-forward": "forward paths", "c-data": "Data p₀(x)", "c-terminal": "Terminal marginal", "c-score": "Score F(x, t)",
  "c-field": "exact score", "c-reverse": "reverse SDE", "c-samples": "(to the true density)", "c-loss": "Training loss",
  "c-schedule": "Schedule", "c-ising-configs": "Training data", "c-ising-runs": "Forward", "c-ising-hist": "Magnetisation",
  "c-ising-loss": "Training loss", "c-mnist-digits": "Training digits", "c-mnist-nearest": "Memorisation check",
  "c-mnist-strip": "Progressive denoising", "c-mnist-loss": "Training loss",
};

for (const [model, canvases, steps] of [["toy1d", CANVASES, 300], ["ising", ISING_CANVASES, 100], ["mnist", MNIST_CANVASES, 2]]) {
  test(`${model}: every figure exports as a PNG at twice its size, drawn; samples as CSV and NPY hold what lab.sample returned (CPU)`, { timeout: LIMIT }, async () => {
    const { page, errors } = await openLab(cpu, `?model=${model}&play=0`, { width: 1400, height: 2400 });
    await page.evaluate(([m, steps]) => lab.train(m, { steps }), [model, steps]);
    await page.waitForFunction((s) => lab.status().viewsStep >= s, steps, { timeout: 120_000 });
    for (const id of canvases) {
      const bytes = await pageBytes(page, (id) => lab.exportFigure(id, "png"), id);
      const box = await page.evaluate((id) => document.getElementById(id).getBoundingClientRect().toJSON(), id);
      const png = await decodePng(page, bytes);
      assert.equal(png.width, Math.round(box.width * 2), `${id} width`);
      assert.equal(png.height, Math.round(box.height * 2), `${id} height`);
      assert.ok(png.ink > 0.01, `${id}: exported PNG looks blank (${png.ink})`);
      const svg = (await pageBytes(page, (id) => lab.exportFigure(id, "svg"), id)).toString("utf8");
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, "image/svg+xml");
        const root = doc.documentElement;
        return {
          error: doc.querySelector("parsererror")?.textContent ?? null,
          tag: root.tagName,
          width: Number(root.getAttribute("width")),
          height: Number(root.getAttribute("height")),
          texts: [...doc.querySelectorAll("text")].map((t) => t.textContent),
          shapes: doc.querySelectorAll("path, rect, image, line, polyline").length,
        };
      }, svg);
      assert.equal(parsed.error, null, `${id}: SVG does not parse`);
      assert.equal(parsed.tag, "svg");
      assert.equal(parsed.width, Math.round(box.width), `${id}: SVG width`);
      assert.equal(parsed.height, Math.round(box.height), `${id}: SVG height`);
      assert.ok(parsed.shapes > 0, `${id}: SVG has no shapes`);
      const title = TITLES[id];
      if (title) assert.ok(parsed.texts.some((t) => t.includes(title)), `${id}: no "${title}" in the SVG's text: ${JSON.stringify(parsed.texts.slice(0, 8))}`);
      else assert.ok(parsed.texts.some((t) => /[A-Za-z]{3}/.test(t)), `${id}: SVG holds no text`);
      // Nothing on the figure cut short at this width (titles, legends, readouts shorten at
      // their details first; presenter mode is checked in present.test.mjs).
      assert.deepEqual(parsed.texts.filter((t) => t.endsWith("…")), [], `${id}: text cut short`);
    }
    // lab.sample's samples, exactly, in both formats.
    const opts = { toy1d: { n: 500, seed: 7 }, ising: { n: 40, seed: 7 }, mnist: { n: 3, seed: 7 } }[model];
    const r = await page.evaluate(async ([m, o]) => { const r = await lab.sample(m, o); return { data: Array.from(r.data), shape: r.shape }; }, [model, opts]);
    const npy = parseNpy(await pageBytes(page, (f) => lab.exportSamples(f), "npy"));
    assert.equal(npy.descr, "<f4");
    assert.deepEqual(npy.shape, r.shape);
    assert.deepEqual(Array.from(npy.data), r.data.map(Math.fround));
    const csv = (await pageBytes(page, (f) => lab.exportSamples(f), "csv")).toString("utf8").trimEnd().split("\n");
    const cols = r.shape.slice(1).reduce((a, b) => a * b, 1);
    assert.equal(csv.length, 1 + r.shape[0], "a header and one row per sample");
    assert.equal(csv[0].split(",").length, cols);
    const values = csv.slice(1).flatMap((row) => row.split(",").map(Number));
    assert.deepEqual(values.map(Math.fround), r.data.map(Math.fround));
    // The sample figure's own samples: as many rows as it shows, its step in the file name.
    const fig = { toy1d: "c-samples", ising: "c-ising-configs", mnist: "c-mnist-digits" }[model];
    const shownCsv = (await pageBytes(page, (id) => lab.exportFigure(id, "csv"), fig)).toString("utf8").trimEnd().split("\n");
    if (model === "toy1d") assert.equal(shownCsv[0], "sde,ode");
    assert.ok(shownCsv.length > 2, `${fig}: ${shownCsv.length} lines`);
    // Each figure's toolbar sits beside its caption, never over the figure (it once covered the
    // right-hand panel's title of two-panel figures).
    const covered = await page.evaluate((ids) => ids.flatMap((id) => {
      const canvas = document.getElementById(id).getBoundingClientRect();
      const bar = document.getElementById(id).closest("figure").querySelector(".fig-tools");
      if (!bar) return [`${id}: no toolbar`];
      const b = bar.getBoundingClientRect();
      const apart = b.bottom <= canvas.top || b.top >= canvas.bottom || b.right <= canvas.left || b.left >= canvas.right;
      return apart && b.width > 0 ? [] : [`${id}: toolbar ${JSON.stringify(b)} over canvas ${JSON.stringify(canvas)}`];
    }), canvases);
    assert.deepEqual(covered, []);
    // The toolbar's buttons download the same things.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`figure:has(#${fig}) .fig-tools [data-export=npy]`)]);
    assert.match(download.suggestedFilename(), new RegExp(`^${model}-samples-step\\d+\\.npy$`));
    const file = parseNpy(readFileSync(await download.path()));
    assert.equal(file.shape[0], shownCsv.length - 1);
    const [pngDownload] = await Promise.all([page.waitForEvent("download"), page.click(`figure:has(#${canvases[0]}) .fig-tools [data-export=png]`)]);
    assert.equal(pngDownload.suggestedFilename(), `${canvases[0]}.png`);
    const [svgDownload] = await Promise.all([page.waitForEvent("download"), page.click(`figure:has(#${canvases[0]}) .fig-tools [data-export=svg]`)]);
    assert.equal(svgDownload.suggestedFilename(), `${canvases[0]}.svg`);
    assert.match(readFileSync(await svgDownload.path(), "utf8"), /^<svg|^<\?xml/);
    // Misuse: a figure without samples, an unknown format, another model's figure.
    const refused = await page.evaluate(async ([loss, other]) => {
      const why = async (p) => { try { await p; return null; } catch (e) { return String(e.message ?? e); } };
      return [
        await why(lab.exportFigure(loss, "csv")),
        await why(lab.exportFigure(loss, "gif")),
        await why(lab.exportFigure(other, "png")),
        await why((async () => lab.exportSamples("xlsx"))()),
      ];
    }, [canvases.find((c) => c.endsWith("loss")), model === "toy1d" ? "c-ising-hist" : "c-forward"]);
    assert.match(refused[0], /shows no samples/);
    assert.match(refused[1], /png, svg, csv or npy/);
    assert.match(refused[2], /not on show/);
    assert.match(refused[3], /csv or npy/);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
