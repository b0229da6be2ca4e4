// The staff console in headless Chromium: log in, see an urgent handoff arrive live, claim a waiting
// conversation, reply, update its ticket, release.
// Run by tests/test_console_browser.py: node tests/browser/console.mjs
// Environment: CONSOLE_URL, STAFF_USER, STAFF_PASSWORD, CONVERSATION_ID (a waiting handoff's conversation),
// URGENT_CONVERSATION_ID (a conversation the test hands over as urgent once this script prints READY),
// MARKUP (a patient message containing HTML that must show as text), FOLLOW_UP (what the patient writes
// once this script prints CLAIMED), TICKET_NUMBER, REPLY, NOTE,
// SCREENSHOT (where to save the queue page), LIVE_SCREENSHOT (the queue after the urgent arrival).
// Prints READY when the queue page listens for live events, CLAIMED when the conversation page does,
// then one JSON line with what it saw;
// exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { recordAlerts } from "./alerts.mjs";
import { launch } from "./chromium.mjs";

const env = process.env;
const TIMEOUT = 30_000;

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  page.setDefaultTimeout(TIMEOUT);
  page.on("dialog", (dialog) => dialog.accept());
  // Record desktop notifications (asked for from the header's button) and the tones of the sound alert.
  await recordAlerts(page);
  const seen = {};

  await page.goto(`${env.CONSOLE_URL}/console/`);
  await page.waitForURL("**/console/login");
  await page.fill("#username", env.STAFF_USER);
  await page.fill("#password", "wrong password");
  await page.click("#login-button");
  await page.locator("#login-error").waitFor();
  seen.wrongPassword = await page.locator("#login-error").innerText();

  await page.fill("#password", env.STAFF_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL("**/console/");
  const row = page.locator("#queue-body tr", { hasText: env.CONVERSATION_ID });
  await row.waitFor();
  const rows = await page.locator("#queue-body tr").evaluateAll((trs) =>
    trs.map((tr) => ({ priority: tr.className, cells: [...tr.cells].map((td) => td.innerText) })),
  );
  seen.queue = rows;
  await page.screenshot({ path: env.SCREENSHOT, fullPage: true });

  const firstWaiting = (await row.locator("td.waiting").innerText()).trim();
  await page.waitForFunction(
    ({ id, before }) => {
      const tr = [...document.querySelectorAll("#queue-body tr")].find((r) => r.innerText.includes(id));
      return tr && tr.querySelector("td.waiting").innerText.trim() !== before;
    },
    { id: env.CONVERSATION_ID, before: firstWaiting },
  );
  seen.waitingUpdatesWithoutReload = true;

  // Live: with the page open and never reloaded, an urgent handoff made now appears with sound and notice.
  await page.waitForFunction(() => document.body.dataset.live === "connected");
  await page.evaluate(() => {
    window.notReloaded = true;
  });
  seen.soundButton = await page.locator("#sound-button").innerText();
  await page.click("#sound-button");
  await page.locator("#sound-button").waitFor({ state: "hidden" });
  seen.notifyButton = await page.locator("#notify-button").innerText();
  await page.click("#notify-button");
  await page.locator("#notify-button").waitFor({ state: "hidden" });
  const tonesBefore = await page.evaluate(() => window.tones);
  console.log("READY");

  const urgentRow = page.locator("#queue-body tr", { hasText: env.URGENT_CONVERSATION_ID });
  await urgentRow.waitFor();
  await page.waitForFunction(() => document.title.startsWith("(!"));
  seen.live = await page.evaluate(
    ({ id, tonesBefore }) => ({
      rows: [...document.querySelectorAll("#queue-body tr")].map((tr) => ({
        classes: tr.className,
        conversation: tr.cells[3].innerText,
      })),
      urgentCells: [...document.querySelectorAll("#queue-body tr")]
        .find((tr) => tr.innerText.includes(id))
        .cells[0].innerText,
      title: document.title,
      notifications: window.shownNotifications,
      tones: window.tones - tonesBefore,
      notReloaded: window.notReloaded === true,
    }),
    { id: env.URGENT_CONVERSATION_ID, tonesBefore },
  );
  await page.screenshot({ path: env.LIVE_SCREENSHOT, fullPage: true });

  await row.locator("button.claim").click();
  await page.waitForURL("**/console/handoffs/*");
  await page.locator("#handoff-status", { hasText: "处理中" }).waitFor();

  const transcript = page.locator("#transcript");
  await transcript.locator("li.patient", { hasText: env.MARKUP }).waitFor();
  seen.markupShownAsText = await transcript.locator("li.patient .text", { hasText: env.MARKUP }).first().innerText();
  seen.injectedElements = await transcript.locator(".text b, .text img, .text script").count();

  await page.waitForFunction(() => document.body.dataset.live === "connected");
  console.log("CLAIMED");
  await transcript.locator("li.patient", { hasText: env.FOLLOW_UP }).waitFor();
  seen.followUpShown = true;

  await page.fill("#reply-text", env.REPLY);
  await page.click("#reply-button");
  await transcript.locator("li.staff", { hasText: env.REPLY }).waitFor();
  seen.replyShown = true;

  const ticket = page.locator(`.ticket[data-number="${env.TICKET_NUMBER}"]`);
  await ticket.waitFor();
  await ticket.locator("select[name=status]").selectOption("in_progress");
  await ticket.locator("textarea[name=note]").fill(env.NOTE);
  await ticket.locator("form.ticket-update button[type=submit]").click();
  await ticket.locator(".history li", { hasText: env.NOTE }).waitFor();
  seen.ticketHeading = await ticket.locator("h3").innerText();

  await page.click("#release-button");
  await page.locator("#handoff-status", { hasText: "已结束" }).waitFor();
  await transcript.locator("li.bot", { hasText: "继续为您解答" }).waitFor();
  seen.released = true;

  assert.equal(seen.injectedElements, 0);
  console.log(JSON.stringify(seen));
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
