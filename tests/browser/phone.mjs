// The patient's side of the browser tests: a phone-sized Chromium page and waiting for the widget's replies.
import { launch } from "./chromium.mjs";

export const TIMEOUT = 60_000;

/** Debian's Chromium with one 390×844 phone page (Chinese locale); `pageErrors` collects the page's errors. */
export async function phonePage() {
  const browser = await launch();
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  return { browser, context, page, pageErrors };
}

/** Texts of the widget's bot messages after the first `already` ones, once one of them contains `needle`. */
export async function botReplyAfter(page, already, needle = "") {
  await page.waitForFunction(
    ({ already, needle }) => {
      const root = document.querySelector("#hospital-chat-widget").shadowRoot;
      const texts = [...root.querySelectorAll(".hc-message.hc-bot .hc-text")].map((n) => n.textContent);
      return texts.slice(already).some((text) => text.includes(needle));
    },
    { already, needle },
    { timeout: TIMEOUT },
  );
  return (await page.locator(".hc-message.hc-bot .hc-text").allTextContents()).slice(already);
}
