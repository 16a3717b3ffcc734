// Takes a screenshot of the lab: node shot.mjs [query] [out.png] [trainSteps] [webgpu|-] [model]
// (used while developing to look at the page; LAB_URL points at a running `cargo xtask serve`).
import { launch, openLab } from "./harness.mjs";

const [query = "?play=0", out = "shot.png", steps = "500", gpu = "", model = "toy1d"] = process.argv.slice(2);
const browser = await launch({ webgpu: gpu === "webgpu" });
const { page, errors } = await openLab(browser, query, { width: 1500, height: 2600 });
const r = await page.evaluate(([steps, m]) => lab.train(m, { steps }), [Number(steps), model]);
console.log("train:", JSON.stringify(r), "device:", await page.evaluate(() => lab.device));
await page.waitForFunction((s) => window.lab.status().viewsStep >= s, Number(steps), { timeout: 300000 });
await page.waitForTimeout(500);
console.log("status:", JSON.stringify(await page.evaluate(() => lab.status())));
await page.screenshot({ path: out, fullPage: true });
console.log("errors:", errors);
await browser.close();
