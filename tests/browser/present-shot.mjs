// Screenshots of presenter-mode slides while developing: node present-shot.mjs W H "1,2,8" outdir
// (TRAIN=ising:1500 trains that model first; WAIT ms before each shot, 1500 by default)
import { launch, openLab } from "./harness.mjs";
const [w = "1280", h = "720", which = "1", out = "/tmp/present"] = process.argv.slice(2);
const browser = await launch();
const { page, errors } = await openLab(browser, `?present=${which.split(",")[0]}&play=0`, { width: Number(w), height: Number(h) });
if (process.env.TRAIN) {
  const [m, n] = process.env.TRAIN.split(":");
  await page.evaluate(([m, n]) => lab.train(m, { steps: n }), [m, Number(n)]);
}
for (const k of which.split(",")) {
  await page.evaluate((k) => lab.applySettings(`present=${k}&play=0`), k);
  await page.waitForTimeout(Number(process.env.WAIT ?? 1500));
  await page.screenshot({ path: `${out}-${w}x${h}-${k}.png` });
}
console.log("errors:", errors);
await browser.close();
