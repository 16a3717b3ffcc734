// The lab's worker: the session on its device (WebGPU or the CPU), its training loop and the
// drawing of every figure on the page's canvases (handed over as OffscreenCanvases). The page's
// thread (www/main.js) keeps the DOM and sends what the user does; this file only wires
// messages to the WebAssembly module (src/web), which does the rest.
import { store } from "./store.js";

// The MNIST network's IndexedDB store (src/web/store.rs calls difflabStore.put / get).
globalThis.difflabStore = store;

let handle = null;
let bindings = null;
let lost = null; // a GPU loss before the lab started is reported once it has
const early = []; // messages that arrived before the lab started

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

// A lost WebGPU device (a driver reset, the GPU process crashing, the browser reclaiming it)
// ends WebGPU work for good. wgpu creates the device inside the module, so the adapter's
// requestDevice is wrapped to watch each device's `lost` promise and tell the lab, which stops
// and says so. `difflabGpuDevice` is the last device (lab.loseGpuForTest destroys it).
if (globalThis.GPUAdapter?.prototype?.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    globalThis.difflabGpuDevice = device;
    device.lost.then((info) => {
      const why = [info?.reason, info?.message].filter(Boolean).join(": ").replace(/\.$/, "") || "no reason given";
      console.error(`difflab: GPU device lost (${why})`);
      lost = why;
      if (handle) {
        handle.gpuLost(why);
        handle.flush();
      }
    });
    return device;
  };
}

// SVG export: svgcanvas needs a document, which a worker has not. The figure is drawn on a
// context that records every call and property set (a real OffscreenCanvas context behind it
// answers measureText and every read, so the drawing code sees a canvas) and the page replays
// the record on svgcanvas. Rasters (heatmaps, digit tiles) travel as ImageBitmaps.
function bitmapOf(canvas) {
  const copy = new OffscreenCanvas(canvas.width, canvas.height);
  copy.getContext("2d").drawImage(canvas, 0, 0);
  return copy.transferToImageBitmap();
}
globalThis.difflabSvgRecorder = (width, height) => {
  const real = new OffscreenCanvas(Math.max(1, width), Math.max(1, height)).getContext("2d");
  const log = [];
  const images = [];
  const snap = (v) => {
    if (v instanceof OffscreenCanvas) {
      const b = bitmapOf(v);
      images.push(b);
      return b;
    }
    return v;
  };
  return new Proxy(real, {
    get(target, key) {
      if (key === "__record") return () => ({ log, images, width, height });
      const v = target[key];
      if (typeof v !== "function") return v;
      return (...args) => {
        log.push(["call", key, args.map(snap)]);
        return v.apply(target, args);
      };
    },
    set(target, key, value) {
      log.push(["set", key, value]);
      target[key] = value;
      return true;
    },
  });
};

// What window.lab may call (src/web/handle.rs), answered in order with the lab's state posted
// first, so `lab.status()` on the page is up to date when a call resolves.
const CALLS = new Set([
  "train", "sample", "isingStats", "exportWeights", "loadWeights", "loadPretrained",
  "exportFigure", "exportSamples", "setPlaying", "applySettings", "panicForTest", "canvasPixels",
]);

async function answer(id, method, args) {
  let msg;
  try {
    let value;
    if (method === "sync") {
      value = true; // every message sent before this one has been handled
    } else if (method === "loseGpuForTest") {
      if (!globalThis.difflabGpuDevice) throw new Error("no WebGPU device to lose (the lab runs on the CPU)");
      globalThis.difflabGpuDevice.destroy();
      value = true;
    } else if (CALLS.has(method)) {
      value = await handle[method](...args);
    } else {
      throw new Error(`lab.${method} is not a function of the lab`);
    }
    msg = { reply: id, ok: true, value };
  } catch (e) {
    msg = { reply: id, ok: false, error: typeof e === "string" ? e : String(e?.message ?? e) };
  }
  try {
    handle.flush();
  } catch {
    // the module stopped (a panic): the page already has its message
  }
  const transfer = msg.value?.svg ? msg.value.svg.images : [];
  post(msg, transfer);
}

function dispatch(m) {
  if (m.call !== undefined) {
    answer(m.call, m.method, m.args ?? []);
    return;
  }
  try {
    if (m.shell !== undefined) handle.shell(m.shell);
    else if (m.file !== undefined) handle.loadFile(m.file, m.bytes);
  } catch (e) {
    console.error("difflab: a message from the page failed:", e);
  }
}

// The threaded module's CPU pool: as many Web Workers as `?threads` asks (0, the default: every
// core the browser reports), made before the lab starts; one thread needs none.
async function startPool(search, whyOneThread) {
  if (!bindings.hasThreads()) return [1, whyOneThread];
  const wanted = bindings.threadsWanted(search); // validated by the settings table
  const cores = navigator.hardwareConcurrency || 1;
  const threads = wanted === 0 ? cores : wanted;
  const why = wanted === 0 ? `every core of ${cores}` : `?threads=${wanted}`;
  if (threads > 1) await bindings.initThreadPool(threads);
  return [threads, why];
}

async function start({ module, pkg, search, base, dpr, canvases, whyOneThread }) {
  try {
    bindings = await import(new URL(`../${pkg}/difflab.js`, import.meta.url));
    await bindings.default({ module_or_path: module });
    const [threads, why] = await startPool(search, whyOneThread);
    handle = await bindings.startWorker(search, base, dpr, canvases, threads, why);
    if (lost) handle.gpuLost(lost);
    handle.flush();
    post({ ready: { device: handle.device, deviceNote: handle.deviceNote, threads } });
    for (const m of early.splice(0)) dispatch(m);
  } catch (e) {
    const msg = bindings?.panic_message?.() ?? String(e?.message ?? e);
    post({ startError: msg });
  }
}

self.onmessage = (e) => {
  const m = e.data;
  if (m.init) start(m.init);
  else if (!handle) early.push(m);
  else dispatch(m);
};
