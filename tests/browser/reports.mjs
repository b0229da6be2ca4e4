// The reports page in headless Chromium on a desktop and a tablet viewport: every chart drawn by ECharts, its
// table, and the CSV downloads of two charts (complaint categories, satisfaction scores).
// Run by tests/test_console_desk_browser.py: node tests/browser/reports.mjs
// Environment: CONSOLE_URL, STAFF_USER, STAFF_PASSWORD, FROM, TO (the range), RESULTS (screenshot folder).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import { readFile } from "node:fs/promises";
import { launch } from "./chromium.mjs";

const env = process.env;
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, tablet: { width: 820, height: 1180 } };
const seen = {};

const browser = await launch();
try {
  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    const page = await browser.newPage({ viewport, locale: "zh-CN", acceptDownloads: true });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    await page.goto(`${env.CONSOLE_URL}/console/login`);
    await page.fill("#username", env.STAFF_USER);
    await page.fill("#password", env.STAFF_PASSWORD);
    await page.click("#login-button");
    await page.waitForURL("**/console/");
    // The first touch of a page unlocks its sound and hides the header's sound button, which moves the header's
    // links on a narrow screen: touch it first, as staff do, then follow the link.
    await page.click("#sound-button");
    await page.locator("#sound-button").waitFor({ state: "hidden" });
    await page.click("a.nav[href='/console/reports']");
    await page.waitForURL("**/console/reports**");
    // The page first shows the last 30 days; the range is chosen once that is drawn.
    await page.waitForSelector("body[data-report-loaded]", { state: "attached" });
    await page.fill("#report-from", env.FROM);
    await page.fill("#report-to", env.TO);
    await page.click("#report-range button[type=submit]");
    await page.waitForSelector(`body[data-report-loaded="${env.FROM}/${env.TO}"]`, { state: "attached" }).catch(async (error) => {
      throw new Error(`${error.message}; notice: ${await page.locator("#notice").textContent()}; loaded: ${await page.evaluate(() => document.body.dataset.reportLoaded)}`);
    });
    const charts = await page.locator("#report-charts section.report").evaluateAll((cards) =>
      cards.map((card) => ({
        id: card.dataset.chart,
        canvas: Boolean(card.querySelector(".chart canvas")),
        rows: [...card.querySelectorAll("tbody tr")].map((row) => [...row.cells].map((cell) => cell.textContent)),
      })),
    );
    const totals = await page.locator("#report-totals dd").evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.dataset.total, item.textContent])),
    );
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('section[data-chart="ticket-categories"] a.csv'),
    ]);
    const csv = await readFile(await download.path(), "utf8");
    const [scores] = await Promise.all([
      page.waitForEvent("download"),
      page.click('section[data-chart="satisfaction-scores"] a.csv'),
    ]);
    const scoresCsv = await readFile(await scores.path(), "utf8");
    seen[name] = { charts, totals, csv, csvName: download.suggestedFilename(), scoresCsv, scoresCsvName: scores.suggestedFilename() };
    await page.screenshot({ path: `${env.RESULTS}/console-reports-${name}.png`, fullPage: true });
    await page.close();
  }
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
