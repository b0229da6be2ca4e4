// The complaint desk in headless Chromium (#18), on a desktop and a tablet viewport: the ticket list with its
// filters and search, one ticket moved along with an internal and a patient-visible note; a canned reply found
// with "/" in a claimed conversation's reply box, inserted and sent; an internal note added to it.
// Run by tests/test_console_desk_browser.py: node tests/browser/desk.mjs
// Environment: CONSOLE_URL, STAFF_USER, STAFF_PASSWORD, MAJOR_TICKET (a major-urgent ticket without any handoff),
// OTHER_TICKET (a normal one), MAJOR_PHONE_MASKED, INTERNAL_NOTE, PATIENT_NOTE, HANDOFF_ID (a waiting handoff),
// REPLY_SEARCH (what staff type after "/"), CONVERSATION_NOTE, RESULTS (screenshot folder).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const env = process.env;
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, tablet: { width: 820, height: 1180 } };
const seen = {};

async function loggedIn(browser, viewport) {
  const page = await browser.newPage({ viewport, locale: "zh-CN" });
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${env.CONSOLE_URL}/console/login`);
  await page.fill("#username", env.STAFF_USER);
  await page.fill("#password", env.STAFF_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL("**/console/");
  return page;
}

async function rowNumbers(page) {
  return page.locator("#tickets-body tr").evaluateAll((rows) => rows.map((row) => row.dataset.number));
}

async function ticketList(page, name) {
  await page.click("a.nav[href='/console/tickets']");
  const major = page.locator(`#tickets-body tr[data-number="${env.MAJOR_TICKET}"]`);
  await major.waitFor();
  seen[`${name}_all`] = await rowNumbers(page);
  seen[`${name}_major_class`] = await major.getAttribute("class");
  seen[`${name}_major_background`] = await major.evaluate((row) => getComputedStyle(row).backgroundColor);
  await page.screenshot({ path: `${env.RESULTS}/console-tickets-${name}.png`, fullPage: true });
  await page.selectOption("#filter-severity", "major");
  await page.locator(`#tickets-body tr[data-number="${env.OTHER_TICKET}"]`).waitFor({ state: "detached" });
  seen[`${name}_major_only`] = await rowNumbers(page);
  await page.selectOption("#filter-severity", "");
  await page.locator(`#tickets-body tr[data-number="${env.OTHER_TICKET}"]`).waitFor();
  await page.fill("#ticket-search", env.MAJOR_PHONE_MASKED);
  await page.click("#ticket-filters button[type=submit]");
  await page.waitForURL(/[?&]q=/);
  await page.locator(`#tickets-body tr[data-number="${env.OTHER_TICKET}"]`).waitFor({ state: "detached" });
  seen[`${name}_by_phone`] = await rowNumbers(page);
  seen[`${name}_url`] = new URL(page.url()).search;
}

async function moveTicketAlong(page) {
  await page.click(`#tickets-body a:text("${env.MAJOR_TICKET}")`);
  await page.waitForURL(`**/console/tickets/${env.MAJOR_TICKET}`);
  const card = page.locator(`#ticket-card article.ticket`);
  await card.locator("h3").waitFor();
  seen.story = await card.locator(".description").innerText();
  // The card is drawn first; the page is marked major-urgent once the ticket's time limit is read too.
  await page.locator("#ticket-deadlines li, #ticket-page.major").first().waitFor();
  seen.page_class = await page.locator("#ticket-page").getAttribute("class");
  await card.locator("select[name=status]").selectOption("in_progress");
  await card.locator("textarea[name=note]").fill(env.INTERNAL_NOTE);
  await card.locator("form.ticket-update button[type=submit]").click();
  await card.locator(".history li", { hasText: env.INTERNAL_NOTE }).waitFor();
  await card.locator("textarea[name=note]").fill(env.PATIENT_NOTE);
  await card.locator("input[name=patient_visible]").check();
  await card.locator("form.ticket-update button[type=submit]").click();
  await card.locator(".history li", { hasText: env.PATIENT_NOTE }).waitFor();
  seen.history = await card.locator(".history li").allInnerTexts();
  seen.heading = await card.locator("h3").innerText();
  await page.screenshot({ path: `${env.RESULTS}/console-ticket.png`, fullPage: true });
}

async function cannedReply(page, name) {
  await page.goto(`${env.CONSOLE_URL}/console/handoffs/${env.HANDOFF_ID}`);
  const claim = page.locator("#claim-button");
  await page.locator("#handoff-status").filter({ hasText: /./ }).waitFor();
  if (await claim.isVisible()) await claim.click();
  await page.locator("#reply-text:not([disabled])").waitFor();
  await page.locator("#reply-text").pressSequentially(`/${env.REPLY_SEARCH}`);
  const options = page.locator("#reply-suggestions li[role=option]");
  await options.first().waitFor();
  seen[`${name}_options`] = await options.evaluateAll((items) => items.map((item) => item.dataset.key));
  await page.screenshot({ path: `${env.RESULTS}/console-canned-reply-${name}.png`, fullPage: true });
  await page.keyboard.press("Enter");
  await page.locator("#reply-suggestions").waitFor({ state: "hidden" });
  seen[`${name}_filled`] = await page.inputValue("#reply-text");
  await page.click("#reply-button");
  await page.waitForFunction(() => document.getElementById("reply-text").value === "");
  const note = `${env.CONVERSATION_NOTE}（${name}）`;
  await page.fill("#note-text", note);
  await page.click("#note-button");
  await page.locator("#notes li", { hasText: note }).waitFor();
  seen[`${name}_notes`] = await page.locator("#notes .text").allInnerTexts();
  await page.screenshot({ path: `${env.RESULTS}/console-conversation-${name}.png`, fullPage: true });
}

const browser = await launch();
try {
  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    const page = await loggedIn(browser, viewport);
    await ticketList(page, name);
    if (name === "desktop") await moveTicketAlong(page);
    await cannedReply(page, name);
    await page.close();
  }
  assert.ok(seen.history.length >= 3, "the ticket's history lists the opening and both notes");
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
