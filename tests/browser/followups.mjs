// The console's follow-up views in headless Chromium: the queue lists an overdue ticket under 工单时限提醒.
// Run by tests/test_followups_system.py: node tests/browser/followups.mjs
// Environment: CONSOLE_URL, STAFF_USER, STAFF_PASSWORD, TICKET_NUMBER (an overdue ticket), SCREENSHOT.
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import { launch } from "./chromium.mjs";

const env = process.env;
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  page.setDefaultTimeout(30_000);
  await page.goto(`${env.CONSOLE_URL}/console/login`);
  await page.fill("#username", env.STAFF_USER);
  await page.fill("#password", env.STAFF_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL("**/console/");
  const item = page.locator(`#deadlines li[data-number="${env.TICKET_NUMBER}"]`);
  await item.waitFor();
  const seen = { text: await item.innerText(), className: await item.getAttribute("class") };
  await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
