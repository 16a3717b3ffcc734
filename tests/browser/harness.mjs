// Shared helpers for the browser tests and benchmarks: launch Debian's Chromium headless
// (never a downloaded browser) and open the built lab.
import { chromium } from "playwright-core";
import { join } from "node:path";

export const LAB_URL = process.env.LAB_URL ?? "http://127.0.0.1:8080/";
export const ARTIFACTS = process.env.ARTIFACTS ?? join(process.cwd(), "artifacts");

const BASE_FLAGS = [
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/// webgpu: true adds --enable-unsafe-webgpu, which gives a SwiftShader WebGPU adapter on a
/// machine without a GPU; without it, requestAdapter() returns null and the lab uses the CPU.
export async function launch({ webgpu = false } = {}) {
  // Playwright gives every launch a fresh, empty profile directory of its own.
  const args = [...BASE_FLAGS];
  if (webgpu) args.push("--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader");
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args });
}

/// Opens the lab with a query string; collects console errors and page errors.
export async function openLab(browser, query = "", { width = 1400, height = 2400 } = {}) {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(LAB_URL + query);
  await page.evaluate(() => window.lab.ready.then(() => true));
  return { page, errors };
}

/// Polls `fn(arg)` in the page until it is truthy; `fn` may be async (Playwright's
/// waitForFunction takes the promise an async function returns for a truthy answer).
export async function waitUntil(page, fn, arg, { timeout = 30_000, polling = 100 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, polling));
  }
}

/// The bytes (a Uint8Array or ArrayBuffer, or a promise of one) that `fn(arg)` returns in the
/// page, as a Buffer. They cross as base64: `Array.from` of a megabyte crosses as a JSON array of
/// a million numbers, which took seconds per figure.
export async function pageBytes(page, fn, arg) {
  const b64 = await page.evaluate(async ([src, arg]) => {
    const out = await (0, eval)(src)(arg);
    const bytes = out instanceof Uint8Array ? out : new Uint8Array(out);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(bin);
  }, [String(fn), arg]);
  return Buffer.from(b64, "base64");
}

/// Fraction of non-background pixels of a canvas (0 = blank). The lab's worker draws the
/// canvases (OffscreenCanvas), so their pixels come from it: `lab.canvasPixels(id)`.
export async function inkFraction(page, id) {
  return page.evaluate(async (id) => {
    const { data } = await lab.canvasPixels(id);
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245) ink++;
    }
    return ink / (data.length / 4);
  }, id);
}

/// The box around what is drawn on canvas `id` (anything not white), as fractions of the canvas:
/// `{ x0, y0, x1, y1 }` (0…1, top-left origin).
export async function inkBox(page, id) {
  return page.evaluate(async (id) => {
    const { data, width, height } = await lab.canvasPixels(id);
    let [x0, y0, x1, y1] = [width, height, -1, -1];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    return x1 < 0 ? { x0: 0, y0: 0, x1: 0, y1: 0 } : { x0: x0 / width, y0: y0 / height, x1: (x1 + 1) / width, y1: (y1 + 1) / height };
  }, id);
}

export const CANVASES = ["c-data", "c-forward", "c-terminal", "c-score", "c-field", "c-reverse", "c-samples", "c-loss", "c-schedule"];

export const ISING_CANVASES = ["c-ising-configs", "c-ising-runs", "c-ising-hist", "c-ising-loss"];
export const MNIST_CANVASES = ["c-mnist-digits", "c-mnist-nearest", "c-mnist-strip", "c-mnist-loss"];
