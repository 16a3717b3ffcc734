// The page's thread: the DOM and nothing heavy. The lab (its session, training and the drawing
// of every figure) runs in a dedicated worker (www/worker.js), on OffscreenCanvases handed over
// from this page, so training never blocks a click, a scroll or a frame. This thread runs the
// module's `Shell` (src/web/shell: the controls, presenter mode, gestures and toolbars as
// messages to the worker), applies the DOM changes the worker sends back, offers downloads and
// answers `window.lab` by forwarding each call to the worker.
//
// Two builds of the module (ARCHITECTURE.md, "Threads"): pkg-threads/ trains on the CPU with a
// pool of Web Workers sharing its memory, which browsers allow only on a cross-origin-isolated
// page (the server sends COOP and COEP headers); pkg/ runs on one thread anywhere. `?threads=1`
// asks for the single-threaded one.
// The threaded one has no WebGPU (wgpu's WebGPU objects cannot be shared between threads), so
// it is loaded only where training runs on the CPU: no WebGPU adapter, or `?device=cpu`.
const params = new URLSearchParams(location.search);

async function webgpuAdapter() {
  try {
    return !!(await navigator.gpu?.requestAdapter());
  } catch {
    return false;
  }
}

/// [the module's folder, why one thread (when it is the single-threaded module)]
async function pickModule() {
  if (params.get("threads") === "1") return ["pkg", "?threads=1"];
  if (globalThis.crossOriginIsolated !== true) {
    return ["pkg", "not cross-origin isolated: its server sends no COOP/COEP headers, so the browser allows no shared memory for threads"];
  }
  if (params.get("device") !== "cpu" && (await webgpuAdapter())) return ["pkg", "training runs on the GPU"];
  return ["pkg-threads", null];
}

function fatal(message, link) {
  const el = document.getElementById("fatal");
  el.textContent = message;
  if (link?.href) {
    const a = document.createElement("a");
    a.href = link.href;
    a.textContent = link.label;
    el.append(a, ".");
  }
  el.style.display = "";
}

// Show the right model's controls before the module has loaded (the lab keeps this up to date).
const shown = params.get("model");
document.body.dataset.model = ["ising", "mnist"].includes(shown) ? shown : "toy1d";

let worker = null;
let shell = null;
let status = null; // the lab's last status (lab.status())
let settings = ""; // its settings as a query string (lab.settings)
let panic = null;
const early = []; // messages that arrived before the shell was made
const pending = new Map(); // window.lab calls waiting for the worker's answer
let nextCall = 1;
let started = null; // { resolve, reject } of lab.ready's wait for the worker

function call(method, ...args) {
  return new Promise((resolve, reject) => {
    if (!worker) {
      reject(new Error("the lab has not started"));
      return;
    }
    const id = nextCall++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ call: id, method, args });
  });
}

function download(name, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A figure's SVG: the worker recorded its drawing calls; they are replayed here on svgcanvas
// (from the npm registry, copied to www/vendor/ by the build and loaded on first use), which
// turns them into SVG elements: text stays text.
async function svgBytes(record) {
  const { Context } = await import("./vendor/svgcanvas.js");
  const ctx = new Context({ width: record.width, height: record.height });
  // svgcanvas 2.6.0's lineTo searches the whole path string for an "M" on every call, and V8
  // copies the growing string to search it: quadratic in the path's length (the reverse paths'
  // 40,000 points froze the page for 6 s). Same output in linear time: a path's first command is
  // its "M" (the lab's paths start with moveTo, rect or arc, each of which puts one there).
  ctx.lineTo = function (x, y) {
    this.__currentPosition = { x, y };
    const p = this.__matrixTransform(x, y);
    this.__addPathCommand(`${this.__currentDefaultPath === "" ? "M" : "L"} ${p.x} ${p.y}`);
  };
  const drawable = (v) => {
    if (typeof ImageBitmap !== "undefined" && v instanceof ImageBitmap) {
      const c = document.createElement("canvas");
      c.width = v.width;
      c.height = v.height;
      c.getContext("2d").drawImage(v, 0, 0);
      return c;
    }
    return v;
  };
  for (const [kind, key, value] of record.log) {
    if (kind === "set") ctx[key] = value;
    else if (typeof ctx[key] === "function") ctx[key](...value.map(drawable));
  }
  return new TextEncoder().encode(ctx.getSerializedSvg());
}

// A notice (not an error) shown in the messages box is also the slide's notice (style.css shows
// that one in presenter mode, the box otherwise).
function mirrorNotice() {
  const box = document.getElementById("messages");
  const notice = document.getElementById("slide-notice");
  if (!box || !notice) return;
  const text = box.dataset.kind === "notice" && box.style.display !== "none" ? box.textContent : "";
  if (notice.textContent !== text) notice.textContent = text;
  notice.hidden = text === "";
}

function applyOps(ops) {
  let messages = false;
  for (const op of ops) {
    if (op[1] === "messages") messages = true;
    const [kind] = op;
    if (kind === "text") {
      const el = document.getElementById(op[1]);
      if (el) el.textContent = op[2];
    } else if (kind === "attr") {
      const el = document.getElementById(op[1]);
      if (!el) continue;
      if (op[3] === null) el.removeAttribute(op[2]);
      else el.setAttribute(op[2], op[3]);
    } else if (kind === "settings") {
      settings = op[1];
      shell.sync(op[1]);
    } else if (kind === "handles") {
      shell.setHandles(op[1]);
    } else if (kind === "fatal") {
      fatal(op[1], op[2] ? { href: op[2], label: op[3] } : null);
    }
  }
  if (messages) mirrorNotice();
}

function onMessage(m) {
  if (m.ops) applyOps(m.ops);
  if (m.status !== undefined) status = m.status;
  if (m.settings !== undefined) settings = m.settings;
  if (m.panic !== undefined) {
    panic = m.panic;
    console.error(`difflab: the lab stopped because of an internal error: ${m.panic}`);
  }
  if (m.download !== undefined) download(m.download, m.bytes);
  if (m.svgDownload !== undefined) {
    svgBytes(m.svg).then(
      (bytes) => download(m.svgDownload, bytes),
      (e) => console.error("difflab: SVG export failed:", e),
    );
  }
  if (m.reply !== undefined) {
    const p = pending.get(m.reply);
    pending.delete(m.reply);
    if (p) m.ok ? p.resolve(m.value) : p.reject(m.error);
  }
  if (m.ready) {
    lab.device = m.ready.device;
    lab.deviceNote = m.ready.deviceNote;
    lab.threads = m.ready.threads;
    started?.resolve();
  }
  if (m.startError !== undefined) {
    fatal(`The lab could not start: ${m.startError}`);
    started?.reject(new Error(m.startError));
  }
}

// The module compiled once, here, and handed to the worker (a WebAssembly.Module is cloned, not
// compiled again); a server that does not say application/wasm still works.
async function compile(url) {
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
    return WebAssembly.compile(await response.arrayBuffer());
  }
}

const lab = {
  device: null,
  deviceNote: null,
  // The CPU backend's threads (1 on the single-threaded module) and the module's folder.
  threads: null,
  module: null,
  async train(model, opts = {}) { return call("train", model, opts); },
  async sample(model, opts = {}) { return call("sample", model, opts); },
  // The state the worker last posted (after every turn of its loop, and before every answer).
  status() { return status; },
  w1(samples) { return shell.w1(samples); },
  async isingStats(configs) { return call("isingStats", configs); },
  async exportWeights() { return call("exportWeights"); },
  async loadWeights(bytes) { return call("loadWeights", bytes); },
  async loadPretrained() { return call("loadPretrained"); },
  // A figure as "png" (twice its size) or "svg", or a sample figure's samples as "csv" or "npy".
  async exportFigure(id, format = "png") {
    const value = await call("exportFigure", id, format);
    return value?.svg ? svgBytes(value.svg) : value;
  },
  // The samples lab.sample returned last, as "csv" or "npy".
  async exportSamples(format = "csv") { return call("exportSamples", format); },
  async setPlaying(on) { return call("setPlaying", !!on); },
  // Resolves once the lab has handled everything the page sent before (controls, gestures,
  // keys) and the page shows the result (the URL, the controls, the header).
  async sync() { return call("sync"); },
  async applySettings(query) { return call("applySettings", query); },
  // The pixels a figure shows (an ImageData): its canvas is drawn by the worker.
  async canvasPixels(id) { return call("canvasPixels", id); },
  get settings() { return settings; },
  panicMessage: () => panic,
  // For the browser tests: a panic inside the worker, and a lost WebGPU device.
  async panicForTest() { return call("panicForTest"); },
  async loseGpuForTest() { return call("loseGpuForTest"); },
};
window.lab = lab;

lab.ready = (async () => {
  try {
    worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "difflab" });
    worker.onmessage = (e) => (shell ? onMessage(e.data) : early.push(e.data));
    const ready = new Promise((resolve, reject) => (started = { resolve, reject }));
    let running = false;
    worker.onerror = (e) => {
      // A panic has already said why (the trap that follows it lands here too).
      if (panic !== null) return;
      const msg = e.message || "the lab's worker failed to load";
      fatal(running ? `The lab stopped: ${msg}\n\nReload the page to start again (your settings are in the URL).` : `The lab could not start: ${msg}`);
      started.reject(new Error(msg));
    };
    // Every figure's canvas is drawn by the worker from now on.
    const canvases = [...document.querySelectorAll("main canvas")].map((c) => {
      const r = c.getBoundingClientRect();
      return { id: c.id, canvas: c.transferControlToOffscreen(), width: r.width, height: r.height };
    });
    const [pkg, whyOneThread] = await pickModule();
    lab.module = pkg;
    const module = await compile(new URL(`../${pkg}/difflab_bg.wasm`, import.meta.url));
    const init = { module, pkg, search: location.search, base: location.href, dpr: devicePixelRatio, canvases, whyOneThread };
    worker.postMessage({ init }, canvases.map((c) => c.canvas));
    const glue = await import(`../${pkg}/difflab.js`);
    await glue.default({ module_or_path: module });
    shell = new glue.Shell(worker);
    for (const m of early.splice(0)) onMessage(m);
    // A canvas's size changes with the window, presenter mode and the model on show: the
    // worker sizes its backing store to match.
    let queued = false;
    const observer = new ResizeObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        shell.layout();
      });
    });
    for (const c of document.querySelectorAll("main canvas")) observer.observe(c);
    await ready;
    running = true;
    return lab;
  } catch (e) {
    const msg = panic ?? String(e?.message ?? e);
    if (document.getElementById("fatal").style.display === "none") fatal(`The lab could not start: ${msg}`);
    throw e;
  }
})();
