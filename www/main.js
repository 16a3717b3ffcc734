// The page's bootstrap: loads the WebAssembly module and exposes `window.lab`.
// All state, plots and training live in Rust (src/web); this file only wires them up.
import init, { start, panic_message } from "../pkg/difflab.js";

function fatal(message) {
  const el = document.getElementById("fatal");
  el.textContent = message;
  el.style.display = "";
}

const lab = {
  device: null,
  deviceNote: null,
  handle: null,
  async train(model, opts = {}) { return lab.handle.train(model, opts); },
  async sample(model, opts = {}) { return lab.handle.sample(model, opts); },
  status() { return lab.handle.status(); },
  w1(samples) { return lab.handle.w1(samples); },
  isingStats(configs) { return lab.handle.isingStats(configs); },
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
