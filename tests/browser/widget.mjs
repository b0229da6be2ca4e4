// The patient chat widget in headless Chromium, as a patient on a phone uses it.
// Run by tests/test_widget.py: node tests/browser/widget.mjs
// Environment: DEMO_URL (the demo page), RASA_URL and RASA_TOKEN (to push a staff message with
// buttons), SCREENSHOTS (a directory for phone-sized screenshots: widget-phone-page.png, widget-phone-chat.png).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { botReplyAfter, phonePage } from "./phone.mjs";

const { DEMO_URL, RASA_URL, RASA_TOKEN, SCREENSHOTS } = process.env;

const botMessages = (page) => page.locator(".hc-message.hc-bot .hc-text");
const userMessages = (page) => page.locator(".hc-message.hc-user .hc-text");
const input = (page) => page.locator("textarea.hc-input");

async function sessionId(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("hospitalChat.v1")).sessionId);
}

async function pushStaffMessageWithButtons(conversationId) {
  const url =
    `${RASA_URL}/conversations/${encodeURIComponent(conversationId)}/tracker/events` +
    `?token=${encodeURIComponent(RASA_TOKEN)}&output_channel=socketio&execute_side_effects=true`;
  const buttons = [
    { title: "好的，谢谢", payload: "/thank" },
    { title: "转人工", payload: "/request_human" },
  ];
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify([{ event: "bot", text: "还有什么需要帮忙的吗？", data: { buttons } }]),
  });
  assert.equal(response.status, 200, `Rasa refused the staff message: ${await response.text()}`);
}

async function main() {
  const { browser, context, page, pageErrors } = await phonePage();
  const seen = {};

  // The demo page with the widget's launcher; opening it greets the patient, full screen on a phone.
  await page.goto(DEMO_URL);
  await page.locator(".hc-launcher").waitFor({ state: "visible" });
  await page.screenshot({ path: `${SCREENSHOTS}/widget-phone-page.png` });
  await page.locator(".hc-launcher").click();
  await botReplyAfter(page, 0, "您好");
  const panel = await page.locator(".hc-panel").boundingBox();
  assert.deepEqual([panel.width, panel.height], [390, 844], "the open panel fills a phone's screen");

  // Enter while an IME is composing must not send; after compositionend it does.
  const textarea = input(page);
  await textarea.click();
  await textarea.dispatchEvent("compositionstart", { data: "" });
  await page.keyboard.insertText("我想退款");
  await page.keyboard.press("Enter");
  await textarea.dispatchEvent("compositionend", { data: "我想退款" });
  await textarea.evaluate((node) =>
    node.dispatchEvent(
      new KeyboardEvent("keydown", { key: "Enter", keyCode: 229, isComposing: true, bubbles: true, cancelable: true }),
    ),
  );
  await page.waitForTimeout(300);
  assert.equal(await userMessages(page).count(), 0, "Enter during IME composition sent the message");
  assert.match(await textarea.inputValue(), /^我想退款/, "the composed text is still in the input");

  await textarea.evaluate((node) => {
    const typing = node.getRootNode().querySelector(".hc-typing");
    new MutationObserver(() => {
      if (!typing.hidden) window.hcTypingShown = true;
    }).observe(typing, { attributes: true });
  });
  const before = await botMessages(page).count();
  await page.keyboard.press("Enter");
  assert.deepEqual(await userMessages(page).allTextContents(), ["我想退款"]);
  assert.equal(await textarea.inputValue(), "", "sending clears the input");
  const refundReplies = await botReplyAfter(page, before, "退款");
  seen.refundReply = refundReplies.join("\n");
  assert.ok(await page.evaluate(() => window.hcTypingShown), "a typing indicator showed while waiting");
  assert.ok(await page.locator(".hc-typing").isHidden(), "the typing indicator goes away with the reply");
  const times = await page.locator(".hc-message .hc-time").allTextContents();
  assert.ok(times.length > 0 && times.every((time) => /^\d{2}:\d{2}/.test(time)), `timestamps: ${times}`);
  await page.screenshot({ path: `${SCREENSHOTS}/widget-phone-chat.png` });

  // Text is shown as text, never interpreted as HTML.
  const hostile = '<img src=x onerror="window.hcPwned=1">你好';
  const beforeHostile = await botMessages(page).count();
  await textarea.fill(hostile);
  await page.keyboard.press("Enter");
  assert.equal((await userMessages(page).allTextContents()).at(-1), hostile);
  assert.equal(await page.locator(".hc-messages img").count(), 0);
  await botReplyAfter(page, beforeHostile);
  assert.equal(await page.evaluate(() => window.hcPwned), undefined);

  // A reload keeps the conversation: same session, history shown.
  const session = await sessionId(page);
  const history = await page.locator(".hc-message .hc-text").allTextContents();
  await page.reload();
  await page.locator(".hc-panel").waitFor({ state: "visible" });
  assert.deepEqual(await page.locator(".hc-message .hc-text").allTextContents(), history);
  assert.equal(await sessionId(page), session);
  await page.locator(".hc-root[data-connection=online]").waitFor();

  // Buttons (here from staff, via Rasa's API as the console sends them) become quick replies.
  const beforeButtons = await botMessages(page).count();
  await pushStaffMessageWithButtons(session);
  await botReplyAfter(page, beforeButtons, "还有什么需要帮忙");
  const quick = page.locator(".hc-quick-reply");
  assert.deepEqual(await quick.allTextContents(), ["好的，谢谢", "转人工"]);
  const beforeThanks = await botMessages(page).count();
  await quick.first().click();
  assert.equal((await userMessages(page).allTextContents()).at(-1), "好的，谢谢");
  assert.equal(await quick.count(), 0, "quick replies disappear once one is chosen");
  seen.thanksReply = (await botReplyAfter(page, beforeThanks, "不客气")).join("\n");

  // A network drop: the widget says it is reconnecting, keeps what the patient types, and sends it
  // once it is back online.
  await context.setOffline(true);
  await page.locator(".hc-notice", { hasText: "重新连接中" }).waitFor({ state: "visible" });
  seen.reconnectingNotice = await page.locator(".hc-notice").textContent();
  const beforeAfterDrop = await botMessages(page).count();
  await textarea.fill("你们医院的电话是多少");
  await page.keyboard.press("Enter");
  await page.locator(".hc-message.hc-user .hc-pending").waitFor({ state: "visible" });
  await context.setOffline(false);
  await page.locator(".hc-root[data-connection=online]").waitFor();
  assert.ok(await page.locator(".hc-notice").isHidden());
  seen.afterReconnectReply = (await botReplyAfter(page, beforeAfterDrop, "400")).join("\n");
  assert.equal(await page.locator(".hc-pending").count(), 0, "the queued message was sent");

  assert.deepEqual(pageErrors, [], "no JavaScript errors on the page");
  seen.sessionId = session;
  await browser.close();
  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
