// A hand-run look at the built page: open a query, wait, print status and errors, screenshot.
// LAB_URL=… node smoke.mjs "?model=mnist" out.png [waitMs]
import { launch, openLab } from "./harness.mjs";
const [query = "", out = "/tmp/shots/smoke.png", wait = "5000"] = process.argv.slice(2);
const browser = await launch();
try {
  const t0 = Date.now();
  const { page, errors } = await openLab(browser, query, { width: 1400, height: 1800 });
  console.log(`ready after ${Date.now() - t0} ms`);
  await page.waitForTimeout(Number(wait));
  console.log(JSON.stringify(await page.evaluate(() => lab.status())));
  console.log("device:", await page.textContent("#device"));
  console.log("messages:", await page.textContent("#messages"));
  console.log("fatal:", await page.textContent("#fatal"));
  await page.screenshot({ path: out, fullPage: false });
  console.log("errors:", errors);
} finally {
  await browser.close();
}
