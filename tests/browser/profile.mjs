// Where an in-page training step spends its time: the Chrome DevTools CPU profiler (CDP) around
// `lab.train(model, { steps })`, self time aggregated by function, in every thread that runs the
// lab: the page, the lab's worker and, in the threaded module, its pool's workers. Needs a build
// that keeps the wasm function names (`DIFFLAB_WASM_NAMES=1 cargo xtask build`); otherwise wasm
// functions show as indices. Usage: `LAB_URL=… node profile.mjs [model] [steps] [top] [query]
// [fresh]` (`&threads=1` in the query profiles the single-threaded module; `fresh` presses Reset
// first: the MNIST view opens on the pretrained network, whose activation may not be the
// settings'). Time a thread spends waiting (a pool thread parked between jobs, the lab's worker
// blocked in a job it handed to the pool) is left out of the shares (`PROFILE_WAITS=1` keeps it:
// to see how long the threads wait).
//
// The workers are reached by the DevTools protocol's auto-attach in its non-flat form: this
// script's CDP session (Playwright's, to the page) asks the page to attach its workers, and each
// worker its own (the pool's workers are the lab worker's children); commands to a worker travel
// wrapped in `Target.sendMessageToTarget`, once per level, and its answers come back wrapped in
// `Target.receivedMessageFromTarget`.
import { launch, LAB_URL } from "./harness.mjs";

const [model = "mnist", steps = "10", top = "40", query = "", fresh = ""] = process.argv.slice(2);
const WAITING = process.env.PROFILE_WAITS ? /^\((idle|program)\)$/ : /^\((idle|program|garbage collector)\)$|Condvar>::wait|Mutex>::lock_contended|park|atomics_wait|Atomics\.wait/;
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(LAB_URL + `?model=${model}${query}`);
  await page.evaluate(() => window.lab.ready);
  // Warm up (first step compiles, allocates), then profile.
  await page.evaluate(async ([m]) => { lab.setPlaying(false); await lab.train(m, { steps: 1 }); }, [model]);
  if (fresh === "fresh") {
    await page.click("#reset");
    await page.waitForFunction(() => lab.status().steps === 0);
  }
  await page.evaluate(async ([m]) => { await lab.train(m, { steps: 2 }); }, [model]);
  const cdp = await page.context().newCDPSession(page);

  // Targets by path: the session ids from the page down ([] is the page itself).
  const targets = [{ path: [], title: "page" }];
  const pending = new Map();
  let nextId = 1;
  const key = (path, id) => `${path.join("/")}#${id}`;
  const send = (path, method, params = {}) => {
    if (path.length === 0) return cdp.send(method, params);
    const id = nextId++;
    let message = { id, method, params };
    // Wrap from the innermost level out; the outermost goes through the page's session.
    for (let i = path.length - 1; i >= 1; i--) {
      message = { id: nextId++, method: "Target.sendMessageToTarget", params: { sessionId: path[i], message: JSON.stringify(message) } };
    }
    const answer = new Promise((resolve, reject) => pending.set(key(path, id), { resolve, reject }));
    cdp.send("Target.sendMessageToTarget", { sessionId: path[0], message: JSON.stringify(message) }).catch((e) => pending.get(key(path, id))?.reject(e));
    return answer;
  };
  const attached = [];
  const onAttached = (path, { sessionId, targetInfo }) => {
    const target = { path: [...path, sessionId], title: `${targetInfo.type} ${targetInfo.url.split("/").pop() || targetInfo.title}` };
    targets.push(target);
    attached.push(send(target.path, "Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false }).catch(() => {}));
  };
  const receive = (path, msg) => {
    if (msg.method === "Target.receivedMessageFromTarget") return receive([...path, msg.params.sessionId], JSON.parse(msg.params.message));
    if (msg.method === "Target.attachedToTarget") return onAttached(path, msg.params);
    if (msg.id !== undefined) {
      const p = pending.get(key(path, msg.id));
      if (!p) return;
      pending.delete(key(path, msg.id));
      if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
      else p.resolve(msg.result);
    }
  };
  cdp.on("Target.attachedToTarget", (params) => onAttached([], params));
  cdp.on("Target.receivedMessageFromTarget", ({ sessionId, message }) => receive([sessionId], JSON.parse(message)));
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  // Attach what each worker has attached (nested workers arrive after their parents).
  for (let settled = 0; settled < attached.length || settled === 0; ) {
    const n = attached.length;
    await Promise.all(attached.slice(settled));
    settled = n;
    await new Promise((r) => setTimeout(r, 300));
    if (attached.length === n) break;
  }

  for (const t of targets) {
    await send(t.path, "Profiler.enable");
    await send(t.path, "Profiler.setSamplingInterval", { interval: 200 });
    await send(t.path, "Profiler.start");
  }
  const r = await page.evaluate(async ([m, n]) => await lab.train(m, { steps: n }), [model, Number(steps)]);
  const profiles = [];
  for (const t of targets) profiles.push({ title: t.title, profile: (await send(t.path, "Profiler.stop")).profile });

  // Self time by function, per thread and over all of them, waiting left out (`WAITING`).
  const all = new Map();
  // PROFILE_CALLERS=regex: for functions matching it, who called them (four frames up).
  const callersOf = process.env.PROFILE_CALLERS ? new RegExp(process.env.PROFILE_CALLERS) : null;
  const callers = new Map();
  // PROFILE_UNDER="regexA;regexB;…": working time under each (inclusive: a sample counts for the
  // innermost frame of its stack that one of them matches; "(none)" where none does).
  const under = (process.env.PROFILE_UNDER ?? "").split(";").filter(Boolean).map((r) => [r, new RegExp(r)]);
  const inside = new Map();
  const short = (n) => (n.callFrame.functionName || "?").replace(/\[[0-9a-f]{16}\]/g, "").slice(0, 90);
  let busyAll = 0;
  console.log(`${r.steps} steps in ${r.ms.toFixed(0)} ms (${(r.ms / r.steps).toFixed(1)} ms/step); ${targets.length} threads profiled`);
  for (const { title, profile } of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
    let total = 0, idle = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]);
      const dt = profile.timeDeltas[i] || 0;
      total += dt;
      const name = node.callFrame.functionName || `(${node.callFrame.url.split("/").pop()})`;
      if (callersOf?.test(name)) {
        const chain = [];
        for (let p = parent.get(node.id); p && chain.length < 4; p = parent.get(p.id)) chain.push(short(p));
        const k = chain.join("  <  ");
        callers.set(k, (callers.get(k) || 0) + dt);
      }
      if (WAITING.test(name)) { idle += dt; continue; }
      if (under.length) {
        let hit = "(none)";
        for (let p = node; p && hit === "(none)"; p = parent.get(p.id)) {
          const f = p.callFrame.functionName || "";
          for (const [r, re] of under) if (re.test(f)) { hit = r; break; }
        }
        inside.set(hit, (inside.get(hit) || 0) + dt);
      }
      all.set(name, (all.get(name) || 0) + dt);
    }
    busyAll += total - idle;
    console.log(`  ${title}: working ${((total - idle) / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms profiled`);
  }
  console.log(`self time over every thread (working: ${(busyAll / 1000).toFixed(0)} ms):`);
  const rows = [...all.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
  for (const [name, us] of rows) console.log(`${(100 * us / busyAll).toFixed(1).padStart(5)}%  ${name.slice(0, 150)}`);
  if (under.length) {
    console.log(`working time under (ms, per step):`);
    for (const [k, us] of [...inside.entries()].sort((a, b) => b[1] - a[1])) console.log(`${(us / 1000).toFixed(0).padStart(6)}  ${(us / 1000 / r.steps).toFixed(3)}  ${k}`);
  }
  if (callersOf) {
    console.log(`callers of ${callersOf} (four frames up), ms:`);
    for (const [k, us] of [...callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(us / 1000).toFixed(0).padStart(6)}  ${k}`);
  }
} finally {
  await browser.close();
}
