// Real-browser test of the qunzhu console: node console.mjs URL LOGIN PASSWORD
//
// Signs in, sorts the group table, approves a join request and confirms a person task on the
// 今日 page, saves a rule file with a mistake and sees the error beside the editor (with the typed
// text kept), fixes it, applies an SOP template and finds it in the week calendar, then takes
// desktop (1366x900) and phone (390x844) screenshots of every page in zh-CN and English into
// e2e/out/ (git-ignored).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [base, login, password] = process.argv.slice(2);
if (!base || !login || !password) {
  console.error("usage: node console.mjs URL LOGIN PASSWORD");
  process.exit(2);
}
const out = join(dirname(fileURLToPath(import.meta.url)), "out");
mkdirSync(out, { recursive: true });

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name} ${detail}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const outside = [];
try {
  const desktop = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "zh-CN" });
  const page = await desktop.newPage();
  // Nothing may be loaded from anywhere but the console itself.
  page.on("request", (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith("data:")) outside.push(request.url());
  });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  // Sign in and land on the overview (the page asked for comes back after sign-in).
  await page.goto(`${base}/groups`);
  check("an unsigned visit is sent to sign in", page.url().includes("/login?next=%2Fgroups"), page.url());
  await page.screenshot({ path: join(out, "login.png") });
  await page.fill("#login", login);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  check("signing in returns to the page asked for", new URL(page.url()).pathname === "/groups", page.url());

  // The group table: sort by messages, both ways, by clicking the column header.
  const messages = async () =>
    page.locator("#group-table tbody td[data-messages]").evaluateAll((cells) => cells.map((c) => Number(c.dataset.messages)));
  await Promise.all([page.waitForNavigation(), page.click('#group-table th a[data-sort="messages"]')]);
  const down = await messages();
  check("sorting by messages puts the busiest group first", down.length === 3 && down.every((v, i) => i === 0 || down[i - 1] >= v), JSON.stringify(down));
  await Promise.all([page.waitForNavigation(), page.click('#group-table th a[data-sort="messages"]')]);
  const up = await messages();
  check("a second click reverses the order", JSON.stringify(up) === JSON.stringify([...down].reverse()), JSON.stringify(up));
  check("the nearly full group is marked", (await page.locator("#group-table td.cap.near").count()) === 1);
  await page.fill("#g-q", "VIP");
  await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
  check("searching narrows the table", (await page.locator("#group-table tbody tr[data-group]").count()) === 1);

  // 今日: approve the join request, confirm the person task.
  await page.goto(`${base}/today`);
  check("今日 lists the join request by name", (await page.locator("#join-requests").innerText()).includes("AAA 推广"));
  await Promise.all([page.waitForNavigation(), page.click('#join-requests button[value="approve"]')]);
  check("approving comes back to 今日 with a notice", new URL(page.url()).pathname === "/today" && (await page.locator(".notice.ok").count()) === 1, page.url());
  const decided = page.locator('#join-requests tr[data-member="@newbie:sandbox"]');
  check("the approved request shows its decision instead of buttons", (await decided.innerText()).includes("已批准") && (await decided.locator("button").count()) === 0);
  check("今日 lists the person task", (await page.locator("#person-tasks li[data-task]").count()) === 1);
  await Promise.all([page.waitForNavigation(), page.click("#person-tasks button[type=submit]")]);
  check("the confirmed task leaves the list", (await page.locator("#person-tasks li[data-task]").count()) === 0);
  check("the confirmation is announced", (await page.locator(".notice.ok").count()) === 1);

  await page.goto(`${base}/`);
  const metrics = await page.locator("[data-metric]").count();
  check("overview shows eight metrics", metrics === 8, `got ${metrics}`);
  check("overview draws charts", (await page.locator("figure.chart svg").count()) === 2);
  await page.screenshot({ path: join(out, "overview.png"), fullPage: true });

  // A rule file with a mistake: the error sits beside the editor and the typed text stays.
  await page.goto(`${base}/rules`);
  await page.locator("table a.strong").first().click();
  await page.waitForSelector("#f-source");
  const original = await page.inputValue("#f-source");
  const broken = original.replace(/kind = "keywords"/, 'kind = "keyword"');
  check("the seeded rule file has a keywords rule to break", broken !== original);
  await page.fill("#f-source", broken);
  await Promise.all([page.waitForNavigation(), page.click(".editor-form button[type=submit]")]);
  const problem = page.locator("#source-error li").first();
  check("the mistake is reported beside the editor", await problem.isVisible(), "");
  check("the report names the rule kind", /keyword/.test(await problem.innerText()));
  check("the typed text is kept", (await page.inputValue("#f-source")) === broken);
  check("the bad line is marked in the gutter", (await page.locator(".gutter span.bad").count()) >= 1);
  await page.locator("#source-error [data-goto]").first().click();
  await page.screenshot({ path: join(out, "rule-error.png"), fullPage: true });
  await page.fill("#f-source", original);
  await Promise.all([page.waitForNavigation(), page.click(".editor-form button[type=submit]")]);
  check("the fixed file saves", (await page.locator(".notice.ok").count()) === 1, page.url());

  // A flash plan 快闪群 from the console: a mistake is located beside the editor, the fix saves.
  await page.goto(`${base}/flash`);
  await page.fill("#f-name", "e2e-flash");
  const starter = await page.inputValue("#f-source");
  check("the flash editor starts from a template", starter.includes("platform = "), starter.slice(0, 80));
  const flashPlan = starter.replace(/platform = "[a-z]+"/, 'platform = "sandbox"').replace(/# end = "dissolve"/, 'end = "dissolve"');
  await page.fill("#f-source", flashPlan.replace("days = 3", "days = 9"));
  await Promise.all([page.waitForNavigation(), page.click(".editor-form button[type=submit]")]);
  const flashProblem = page.locator("#source-error li").first();
  check("the flash plan's mistake is reported beside the editor", await flashProblem.isVisible(), "");
  check("the report names the field", /days/.test(await flashProblem.innerText()), await flashProblem.innerText());
  check("the typed plan is kept", (await page.inputValue("#f-source")).includes("days = 9"));
  await page.screenshot({ path: join(out, "flash-error.png"), fullPage: true });
  await page.fill("#f-source", flashPlan);
  await Promise.all([page.waitForNavigation(), page.click(".editor-form button[type=submit]")]);
  check("the flash plan saves", (await page.locator(".notice.ok").count()) === 1, page.url());
  check("the saved plan shows its stage", (await page.locator("[data-flash=e2e-flash] [data-stage]").count()) === 1);

  // Apply an SOP template to a group and find it in the calendar.
  await page.goto(`${base}/sop`);
  const before = await page.locator(".week .event").count();
  await page.check('input[name=template][value="daily-morning"]');
  await page.locator('input[name=groups]').first().check();
  await page.fill("#f-plan", "e2e-morning");
  await Promise.all([page.waitForNavigation(), page.click("form[data-apply] button[type=submit]")]);
  const after = await page.locator(".week .event").count();
  check("the template's posts appear in the week calendar", after >= before + 7, `${before} → ${after}`);
  check("the new plan is listed", (await page.locator('a[href="/sop/e2e-morning"]').count()) === 1);
  await page.screenshot({ path: join(out, "sop-calendar.png"), fullPage: true });

  await page.goto(`${base}/audit`);
  const audit = await page.locator("main").innerText();
  check("the audit log shows the rule and plan saves", audit.includes("rule.save") && audit.includes("plan.apply_template"));
  check("the audit log shows the task confirmation", audit.includes("sop.task_confirm"));
  await page.goto(`${base}/groups`);
  await page.locator("table a.strong").first().click();
  check("a group page opens with its 30-day charts", (await page.locator("main figure.chart").count()) >= 3);
  const group = new URL(page.url()).pathname;

  // English switch.
  await page.click("a.lang");
  check("the English switch translates the page", (await page.locator("html").getAttribute("lang")) === "en");
  await page.screenshot({ path: join(out, "group-en.png"), fullPage: true });

  // A phone: the sidebar folds away behind the menu button.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: await desktop.storageState() });
  const small = await phone.newPage();
  await small.goto(`${base}/`);
  const sideBox = await small.locator("#side").boundingBox();
  check("on a phone the sidebar starts hidden", !sideBox || sideBox.x + sideBox.width <= 1, JSON.stringify(sideBox));
  await small.screenshot({ path: join(out, "phone-overview.png"), fullPage: true });
  await small.click("[data-menu]");
  await small.waitForTimeout(300);
  const opened = await small.locator("#side").boundingBox();
  check("the menu button opens the sidebar", opened && opened.x >= 0, JSON.stringify(opened));
  await small.screenshot({ path: join(out, "phone-menu.png") });
  // Every page, zh-CN and English, desktop and phone: e2e/out/<lang>-<size>-<page>.png.
  const pages = [["/", "overview"], ["/today", "today"], ["/groups", "groups"], [group, "group"], ["/members", "members"], ["/moderation", "moderation"], ["/audit", "audit"], ["/rules", "rules"], ["/sop", "sop"], ["/lotteries", "lotteries"], ["/leaderboards", "leaderboards"], ["/drops", "drops"], ["/settings", "settings"], ["/analytics", "analytics"], ["/analytics/tiers", "tiers"], ["/analytics/kols", "kols"], ["/analytics/lurkers", "lurkers"], ["/analytics/dying", "dying"], ["/offers", "offers"], ["/flash", "flash"], ["/flash/e2e-flash", "flash-edit"], ["/races", "races"]];
  const phoneState = await desktop.storageState();
  for (const lang of ["zh", "en"]) {
    for (const [size, options] of [["desktop", { viewport: { width: 1366, height: 900 } }], ["phone", { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }]]) {
      const context = await browser.newContext({ ...options, storageState: phoneState });
      await context.addCookies([{ name: "lang", value: lang, url: base }]);
      const shot = await context.newPage();
      shot.on("pageerror", (error) => errors.push(String(error)));
      for (const [path, name] of pages) {
        const response = await shot.goto(`${base}${path}`);
        if (!response || response.status() !== 200) check(`${lang} ${size} ${path} renders`, false, String(response && response.status()));
        const overflow = await shot.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 1) check(`${lang} ${size} ${path} does not scroll sideways`, false, `${overflow}px`);
        await shot.screenshot({ path: join(out, `${lang}-${size}-${name}.png`), fullPage: true });
      }
      check(`${lang} ${size}: every page rendered`, (await shot.locator("html").getAttribute("lang")) === (lang === "zh" ? "zh-CN" : "en"));
      await context.close();
    }
  }

  // 秒杀: the stock counter and the swap board on a phone (375px wide).
  const narrow = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: phoneState });
  const offers = await narrow.newPage();
  await offers.goto(`${base}/offers`);
  const offersText = await offers.locator("main").innerText();
  check("the offers page shows the stock left", offersText.includes("7 / 10"), offersText.slice(0, 200));
  check("the offers page lists the swap board", offersText.includes("两张电影票"));
  const offersOverflow = await offers.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check("the offers page fits 375px", offersOverflow <= 1, `${offersOverflow}px`);
  await offers.screenshot({ path: join(out, "phone-offers.png"), fullPage: true });
  await narrow.close();

  check("no script errors", errors.length === 0, errors.join("; "));
  check("nothing loaded from outside the console", outside.length === 0, outside.join(", "));
} catch (error) {
  failed++;
  console.log(`not ok - the run stopped: ${error && error.stack ? error.stack : error}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
