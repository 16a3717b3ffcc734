// The page's bootstrap: loads the WebAssembly module and exposes `window.lab`.
// All state, plots and training live in Rust (src/web); this file only wires them up.
import init, { start, panic_message } from "../pkg/difflab.js";

function fatal(message) {
  const el = document.getElementById("fatal");
  el.textContent = message;
  el.style.display = "";
}

// A small IndexedDB store of byte arrays: the MNIST network survives a reload.
const STORE = "weights";
let opened = null;
function openStore() {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open("difflab", 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return opened;
}
window.difflabStore = {
  async put(key, bytes) {
    const copy = bytes.slice(); // the argument is a view of WebAssembly memory: copy it now
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(copy, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  },
  async get(key) {
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const r = db.transaction(STORE).objectStore(STORE).get(key);
      r.onsuccess = () => resolve(r.result ?? null);
      r.onerror = () => reject(r.error);
    });
  },
};

// A lost GPU device (a driver reset, the GPU process crashing, the browser reclaiming it) ends
// WebGPU work in this page for good. The device is created inside the WebAssembly module (by
// wgpu), so its requests are wrapped here to watch each device's `lost` promise and tell the
// lab, which stops and says so. `window.difflabGpuDevice` is the last device (the browser test
// destroys it to simulate a loss).
if (globalThis.GPUAdapter?.prototype?.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    window.difflabGpuDevice = device;
    device.lost.then((info) => {
      const why = [info?.reason, info?.message].filter(Boolean).join(": ").replace(/\.$/, "") || "no reason given";
      console.error(`difflab: GPU device lost (${why})`);
      lab.ready.then(() => lab.handle?.gpuLost(why), () => {});
    });
    return device;
  };
}

// A 2D-canvas context that records SVG (svgcanvas from the npm registry, copied to www/vendor/
// by the build and loaded on first use): figures export as SVG through the drawing code that
// draws them on screen.
window.difflabSvgContext = async (width, height) => {
  const { Context } = await import("./vendor/svgcanvas.js");
  return new Context({ width, height });
};

const lab = {
  device: null,
  deviceNote: null,
  handle: null,
  async train(model, opts = {}) { return lab.handle.train(model, opts); },
  async sample(model, opts = {}) { return lab.handle.sample(model, opts); },
  status() { return lab.handle.status(); },
  w1(samples) { return lab.handle.w1(samples); },
  isingStats(configs) { return lab.handle.isingStats(configs); },
  async exportWeights() { return lab.handle.exportWeights(); },
  async loadWeights(bytes) { return lab.handle.loadWeights(bytes); },
  async loadPretrained() { return lab.handle.loadPretrained(); },
  // A figure as "png" (twice its size) or "svg", or a sample figure's samples as "csv" or "npy".
  async exportFigure(id, format = "png") { return lab.handle.exportFigure(id, format); },
  // The samples lab.sample returned last, as "csv" or "npy".
  exportSamples(format = "csv") { return lab.handle.exportSamples(format); },
  setPlaying(on) { lab.handle.setPlaying(!!on); },
  applySettings(query) { return lab.handle.applySettings(query); },
  get settings() { return lab.handle.settings; },
  panicMessage: () => panic_message(),
};
window.lab = lab;
// Show the right model's controls before the module has loaded (the lab keeps this up to date).
const shown = new URLSearchParams(location.search).get("model");
document.body.dataset.model = ["ising", "mnist"].includes(shown) ? shown : "toy1d";
lab.ready = (async () => {
  try {
    await init();
    lab.handle = await start();
    lab.device = lab.handle.device;
    lab.deviceNote = lab.handle.deviceNote;
    return lab;
  } catch (e) {
    const msg = panic_message() ?? String(e?.message ?? e);
    fatal(`The lab could not start: ${msg}`);
    throw e;
  }
})();
