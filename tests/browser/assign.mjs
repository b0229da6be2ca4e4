// Assignment and major-urgent alerts (#18) with two staff in two browsers (li on a desktop, wang on a tablet):
// li claims a conversation and transfers it to wang, who is told live and may reply; li assigns a ticket to wang,
// whose "我的" list shows it without a reload; the conversation page lists the patient's earlier conversation; tags on the conversation and the ticket; a major-urgent ticket the bot opens appears highlighted in both
// lists with the sound and a desktop notification.
// Run by tests/test_console_assign_browser.py: node tests/browser/assign.mjs
// Environment: CONSOLE_URL, STAFF_PASSWORD, HANDOFF_ID (a waiting handoff), TICKET (a normal ticket),
// EARLIER_TICKET (the patient's ticket from an earlier conversation, same phone),
// MAJOR_TICKET (the number the test opens when this script prints "open-major"), RESULTS (screenshots).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import { recordAlerts } from "./alerts.mjs";
import { launch } from "./chromium.mjs";

const env = process.env;
const seen = {};

async function staffPage(browser, username, viewport) {
  const page = await browser.newPage({ viewport, locale: "zh-CN" });
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (error) => console.error(`page error (${username}): ${error.message}`));
  await recordAlerts(page, "granted");
  await page.goto(`${env.CONSOLE_URL}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", env.STAFF_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL("**/console/");
  await page.click("#sound-button"); // the click that lets the page play sound
  return page;
}

const live = (page) => page.waitForFunction(() => document.body.dataset.live === "connected");
const browser = await launch();
try {
  const li = await staffPage(browser, "li", { width: 1280, height: 900 });
  const wang = await staffPage(browser, "wang", { width: 820, height: 1180 });
  await live(wang);

  // li takes the conversation and gives it to wang, who sits on the queue page.
  await li.goto(`${env.CONSOLE_URL}/console/handoffs/${env.HANDOFF_ID}`);
  await wang.locator(`#queue-body tr[data-handoff-id="${env.HANDOFF_ID}"]`).waitFor();
  await li.click("#claim-button");
  // wang's queue shows the claim (its own change) before the transfer, as it would between two people.
  await wang.locator(`#queue-body tr[data-handoff-id="${env.HANDOFF_ID}"]`).waitFor({ state: "detached" });
  await li.locator("#transfer:not([hidden]) select option[value=wang]").waitFor({ state: "attached" });
  await li.selectOption("#transfer select", "wang");
  await li.click("#transfer button[type=submit]");
  await li.waitForFunction(() => document.getElementById("handoff-assignee").textContent === "王医生");
  seen.li_reply_disabled = await li.locator("#reply-text").isDisabled();
  seen.li_transfer_hidden = await li.locator("#transfer").isHidden();
  await wang.locator("#notice", { hasText: "转给了您" }).waitFor();
  seen.wang_transfer_notice = await wang.locator("#notice").innerText();
  await wang.goto(`${env.CONSOLE_URL}/console/handoffs/${env.HANDOFF_ID}`);
  await wang.waitForFunction(() => !document.getElementById("reply-text").disabled);
  seen.wang_may_reply = true;
  // Beside the transcript: the same patient's earlier conversation (same phone on a ticket) and its ticket.
  await wang.locator(`#history-tickets li[data-number="${env.EARLIER_TICKET}"]`).waitFor();
  seen.history_conversations = await wang.locator("#history-conversations > li").evaluateAll((items) =>
    items.map((item) => [item.dataset.conversationId, item.querySelector("strong").textContent]),
  );
  seen.history_tickets = await wang.locator("#history-tickets li").allInnerTexts();
  // wang tags the conversation under its heading.
  await wang.locator("#conversation-tags button.tag", { hasText: "医疗纠纷风险" }).click();
  await wang.locator("#conversation-tags button.tag.on", { hasText: "医疗纠纷风险" }).waitFor();
  seen.conversation_tags = await wang.locator("#conversation-tags button.tag.on").allInnerTexts();
  await wang.screenshot({ path: `${env.RESULTS}/console-patient-history-tablet.png`, fullPage: true });

  // li assigns the ticket to wang; wang's "我的" list gets it without a reload.
  await wang.goto(`${env.CONSOLE_URL}/console/tickets?assignee=me`);
  await wang.locator("#tickets-list-empty:not([hidden])").waitFor();
  await live(wang);
  await li.goto(`${env.CONSOLE_URL}/console/tickets/${env.TICKET}`);
  const card = li.locator("#ticket-card article.ticket");
  await card.locator("form.assign select option[value=wang]").waitFor({ state: "attached" });
  await card.locator("form.assign select").selectOption("wang");
  await card.locator("form.assign button[type=submit]").click();
  await card.locator(".history li", { hasText: "指派给 王医生" }).waitFor();
  // li tags the ticket; the list filtered by that tag shows it alone.
  await card.locator(".tags button.tag", { hasText: "退款" }).click();
  await card.locator(".tags button.tag.on", { hasText: "退款" }).waitFor();
  await wang.locator(`#tickets-body tr[data-number="${env.TICKET}"]`).waitFor();
  seen.wang_mine = await wang.locator("#tickets-body tr").evaluateAll((rows) => rows.map((row) => row.dataset.number));
  seen.wang_assignee_cell = await wang.locator(`#tickets-body tr[data-number="${env.TICKET}"] td.assignee`).innerText();
  await wang.locator("#notice", { hasText: "已指派给您" }).waitFor();
  seen.wang_assigned_notice = await wang.locator("#notice").innerText();
  await li.goto(`${env.CONSOLE_URL}/console/tickets?tag=${encodeURIComponent("退款")}`);
  await li.locator(`#tickets-body tr[data-number="${env.TICKET}"]`).waitFor();
  seen.li_by_tag = await li.locator("#tickets-body tr").evaluateAll((rows) => rows.map((row) => row.dataset.number));
  seen.li_tag_filter = await li.locator("#filter-tag").inputValue();
  seen.li_row_tags = await li.locator(`#tickets-body tr[data-number="${env.TICKET}"] .tag-badges`).innerText();

  // A major-urgent ticket opened by the bot: both lists show it highlighted, with sound and a desktop notification.
  await li.goto(`${env.CONSOLE_URL}/console/tickets`);
  await wang.goto(`${env.CONSOLE_URL}/console/tickets`);
  await Promise.all([live(li), live(wang)]);
  for (const page of [li, wang]) {
    await page.click("#sound-button"); // each page needs a click before it may play sound
    await page.evaluate(() => { window.tones = 0; });
  }
  console.log("open-major");
  for (const [name, page] of [["li", li], ["wang", wang]]) {
    const row = page.locator(`#tickets-body tr[data-number="${env.MAJOR_TICKET}"]`);
    await row.waitFor();
    await page.waitForFunction(() => window.shownNotifications.length > 0);
    seen[`${name}_major_class`] = await row.getAttribute("class");
    seen[`${name}_notifications`] = await page.evaluate(() => window.shownNotifications);
    seen[`${name}_tones`] = await page.evaluate(() => window.tones);
    seen[`${name}_notice`] = await page.locator("#notice").innerText();
  }
  await li.screenshot({ path: `${env.RESULTS}/console-major-ticket-alert-desktop.png`, fullPage: true });
  await wang.screenshot({ path: `${env.RESULTS}/console-major-ticket-alert-tablet.png`, fullPage: true });
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
