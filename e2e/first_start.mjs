// Real-browser test of a first start: node first_start.mjs URL QUNZHU_BINARY
//
// Against a fresh `qunzhu serve` (its QUNZHU_DATA_DIR in the environment): creates the
// first owner with `qunzhu users add`, signs in with the printed password in Chromium, and finds
// the empty overview's next step with its link to connecting Matrix. Screenshots go to e2e/out/.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [base, bin] = process.argv.slice(2);
if (!base || !bin) {
  console.error("usage: QUNZHU_DATA_DIR=… node first_start.mjs URL QUNZHU_BINARY");
  process.exit(2);
}
const out = join(dirname(fileURLToPath(import.meta.url)), "out");
mkdirSync(out, { recursive: true });

let failed = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok" : "not ok"} - ${name}${ok ? "" : ` ${detail}`}`);
  if (!ok) failed++;
}

const printed = execFileSync(bin, ["users", "add", "founder", "--role", "owner"], { encoding: "utf8" });
const password = printed.match(/password \(shown once, keep it safe\): (\S+)/)?.[1];
check("`qunzhu users add` prints a password once", Boolean(password), printed);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  for (const [locale, nextStep, link] of [
    ["zh-CN", "还没有群", "接入 Matrix"],
    ["en", "No groups yet", "Connecting to Matrix"],
  ]) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale });
    if (locale === "en") {
      await context.addCookies([{ name: "lang", value: "en", url: base }]);
    }
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`${base}/`);
    check(`${locale}: a visit is sent to sign in`, page.url().includes("/login"), page.url());
    await page.fill("#login", "founder");
    await page.fill("#password", password ?? "");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    check(`${locale}: signing in lands on the overview`, new URL(page.url()).pathname === "/", page.url());
    const card = page.locator("[data-next-step]");
    check(`${locale}: the empty overview says what to do next`, (await card.count()) === 1 && (await card.innerText()).includes(nextStep), await page.content());
    await page.screenshot({ path: join(out, `first-start-${locale}.png`), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: link }).click()]);
    check(`${locale}: the next step opens how to connect Matrix`, new URL(page.url()).pathname === "/help/matrix" && (await page.locator("pre").innerText()).includes("[matrix]"), page.url());
    check(`${locale}: no script errors`, errors.length === 0, errors.join("; "));
    await context.close();
  }
} finally {
  await browser.close();
}
if (failed > 0) {
  console.log(`${failed} check(s) failed`);
  process.exit(1);
}
