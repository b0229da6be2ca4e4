// The NLU inbox in headless Chromium: a nurse (no trainer) flags a patient message as misunderstood on the
// conversation page and cannot open the inbox; a trainer sees the message in the inbox and corrects its intent
// with one choice and one click.
// Run by tests/test_console_browser.py: node tests/browser/nlu.mjs
// Environment: CONSOLE_URL, NURSE_USER, NURSE_PASSWORD, TRAINER_USER, TRAINER_PASSWORD, HANDOFF_ID (the
// conversation's handoff), CONVERSATION_ID, MISUNDERSTOOD (the patient message to flag and correct),
// CORRECT_INTENT, SCREENSHOT (the inbox page).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const env = process.env;
const TIMEOUT = 30_000;

async function logIn(browser, username, password) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(`${env.CONSOLE_URL}/console/`);
  await page.waitForURL("**/console/login");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login-button");
  // A trainer's console opens on the NLU inbox (bot/roles.py: the queue is not theirs).
  await page.waitForURL(/\/console\/(nlu)?$/);
  await page.locator("#who").waitFor();
  return page;
}

// The inbox rows of the test's conversation: [{text, reason, predicted, confidence}].
function rowsOf(page) {
  return page.locator(`#inbox-body tr[data-conversation-id="${env.CONVERSATION_ID}"]`).evaluateAll((trs) =>
    trs.map((tr) => ({
      text: tr.querySelector(".text").innerText,
      reason: tr.querySelector("td.reason").dataset.reason,
      reasonShown: tr.querySelector("td.reason").innerText,
      predicted: tr.querySelector("td.predicted").dataset.intent,
      predictedShown: tr.querySelector("td.predicted").innerText,
      confidence: tr.querySelector("td.confidence").innerText,
    })),
  );
}

const browser = await launch();
try {
  const seen = {};

  // A nurse: no inbox link, no inbox, but flags the message in the transcript.
  const nurse = await logIn(browser, env.NURSE_USER, env.NURSE_PASSWORD);
  seen.nurseSeesLink = await nurse.locator("#nlu-link").isVisible();
  await nurse.goto(`${env.CONSOLE_URL}/console/nlu`);
  await nurse.locator("#inbox-error").waitFor();
  seen.nurseInbox = await nurse.locator("#inbox-error").innerText();
  await nurse.goto(`${env.CONSOLE_URL}/console/handoffs/${env.HANDOFF_ID}`);
  const line = nurse.locator("#transcript li.patient", { hasText: env.MISUNDERSTOOD }).first();
  await line.waitFor();
  seen.flagButton = await line.locator("button.flag").innerText();
  seen.botLinesHaveNoFlag = (await nurse.locator("#transcript li.bot button.flag").count()) === 0;
  await line.locator("button.flag").click();
  await line.locator("button.flag", { hasText: "已标记" }).waitFor();
  seen.flagged = await line.locator("button.flag").isDisabled();

  // The trainer: the header's link, the message waiting, one choice and one click to correct it.
  const trainer = await logIn(browser, env.TRAINER_USER, env.TRAINER_PASSWORD);
  await trainer.locator("#nlu-link").waitFor();
  seen.trainerLink = await trainer.locator("#nlu-link").innerText();
  await trainer.click("#nlu-link");
  await trainer.waitForURL("**/console/nlu");
  const row = trainer.locator(`#inbox-body tr[data-conversation-id="${env.CONVERSATION_ID}"]`, { hasText: env.MISUNDERSTOOD });
  await row.waitFor();
  seen.open = await rowsOf(trainer);
  seen.header = await trainer.locator("table.inbox thead").innerText();
  seen.confirmEnabled = await row.locator("button.confirm").isEnabled();
  await trainer.screenshot({ path: env.SCREENSHOT, fullPage: true });

  await row.locator("select[name=intent]").selectOption(env.CORRECT_INTENT);
  await row.locator("button.correct").click();
  await row.waitFor({ state: "detached" });
  seen.notice = await trainer.locator("#notice").innerText();

  await trainer.click('#inbox-tabs button[data-status="corrected"]');
  const corrected = trainer.locator(`#inbox-body tr[data-conversation-id="${env.CONVERSATION_ID}"]`, { hasText: env.MISUNDERSTOOD });
  await corrected.waitFor();
  seen.verdict = await corrected.locator(".verdict").innerText();

  assert.equal(seen.nurseSeesLink, false);
  console.log(JSON.stringify(seen));
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
