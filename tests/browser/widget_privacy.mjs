// The widget's privacy notice, consent and “清除本次对话” in headless Chromium on a phone-sized screen.
// Run by tests/test_widget_privacy.py: node tests/browser/widget_privacy.mjs
// Environment: DEMO_URL (the demo page), SCREENSHOTS (widget-privacy-notice.png, widget-privacy-cleared.png).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { TIMEOUT, botReplyAfter, phonePage } from "./phone.mjs";

const { DEMO_URL, SCREENSHOTS } = process.env;

const widget = (page, selector) => page.locator(`#hospital-chat-widget ${selector}`);
const stored = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("hospitalChat.v1") || "null"));

async function main() {
  const { browser, context, page, pageErrors } = await phonePage();
  const seen = {};

  // Opening the chat: the notice with its link and “同意并继续” above the greeting; chatting works without agreeing.
  await page.goto(DEMO_URL);
  await widget(page, ".hc-launcher").click();
  await botReplyAfter(page, 0, "您好");
  await widget(page, ".hc-privacy .hc-agree").waitFor({ state: "visible" });
  seen.notice = await widget(page, ".hc-privacy-text").textContent();
  seen.link = await widget(page, ".hc-privacy-link").getAttribute("href");
  seen.linkTarget = await widget(page, ".hc-privacy-link").getAttribute("target");
  seen.agreeTitle = await widget(page, ".hc-agree").textContent();
  await page.screenshot({ path: `${SCREENSHOTS}/widget-privacy-notice.png` });
  await widget(page, "textarea.hc-input").fill("你们电话多少");
  await widget(page, "textarea.hc-input").press("Enter");
  await botReplyAfter(page, 1, "热线");

  // Agreeing: the notice folds to one line with the link; the consent is kept with the conversation.
  await widget(page, ".hc-agree").click();
  await widget(page, ".hc-agree").waitFor({ state: "hidden" });
  seen.agreedText = await widget(page, ".hc-privacy-text").textContent();
  const agreed = await stored(page);
  seen.consentVersion = agreed.consent;
  seen.firstSession = agreed.sessionId;
  seen.firstToken = agreed.sessionToken;
  seen.messagesBefore = agreed.messages.length;

  // “清除本次对话”: a confirmation first; “取消” keeps everything.
  await widget(page, ".hc-clear").click();
  await widget(page, ".hc-confirm").waitFor({ state: "visible" });
  seen.confirmText = await widget(page, ".hc-confirm-text").textContent();
  await widget(page, ".hc-confirm-no").click();
  await widget(page, ".hc-confirm").waitFor({ state: "hidden" });
  assert.equal((await stored(page)).sessionId, seen.firstSession, "cancelling keeps the conversation");
  assert.equal(await widget(page, ".hc-message").count(), seen.messagesBefore);

  // Confirming: the transcript, id, token and consent are forgotten and a new conversation greets the patient.
  await widget(page, ".hc-clear").click();
  await widget(page, ".hc-confirm-yes").click();
  await botReplyAfter(page, 0, "您好");
  await page.waitForFunction(
    (first) => {
      const state = JSON.parse(localStorage.getItem("hospitalChat.v1") || "null");
      return state && state.sessionId && state.sessionId !== first;
    },
    seen.firstSession,
    { timeout: TIMEOUT },
  );
  const cleared = await stored(page);
  seen.secondSession = cleared.sessionId;
  seen.clearedConsent = cleared.consent;
  seen.texts = await widget(page, ".hc-message .hc-text").allTextContents();
  seen.storedTexts = cleared.messages.map((message) => message.text);
  seen.agreeShownAgain = await widget(page, ".hc-agree").isVisible();
  await page.screenshot({ path: `${SCREENSHOTS}/widget-privacy-cleared.png` });

  // A reload continues the new conversation, not the cleared one.
  await page.reload();
  await widget(page, ".hc-panel").waitFor({ state: "visible" });
  await page.waitForFunction(() => {
    const root = document.querySelector("#hospital-chat-widget").shadowRoot;
    return root.querySelector(".hc-root").getAttribute("data-connection") === "online";
  });
  seen.afterReload = (await stored(page)).sessionId;
  seen.textsAfterReload = await widget(page, ".hc-message .hc-text").allTextContents();

  // The full notice the link opens.
  const notice = await context.newPage();
  await notice.goto(seen.link);
  seen.fullNoticeTitle = await notice.locator("h1").textContent();
  seen.fullNoticeSections = await notice.locator("h2").allTextContents();

  assert.deepEqual(pageErrors, [], "no errors on the page");
  await browser.close();
  console.log(JSON.stringify(seen));
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
