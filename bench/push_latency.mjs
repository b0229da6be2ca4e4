// Push latency of the live queue (#18), driven by bench/push_latency.py: two staff browsers (li on a desktop,
// wang on a tablet viewport) on the queue page; for each trial this script prints "open <id>", the Python side
// opens an emergency handoff for conversation <id>, and each page notes when the row appears (a
// MutationObserver, Date.now()). Prints one JSON line: {id: {li: ms, wang: ms}}.
// Environment: CONSOLE_URL, STAFF_PASSWORD, TRIALS.
import { launch } from "../tests/browser/chromium.mjs";

const env = process.env;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function staffPage(browser, username, viewport) {
  const page = await browser.newPage({ viewport, locale: "zh-CN" });
  page.setDefaultTimeout(30_000);
  await page.addInitScript(() => {
    window.arrivals = {};
    new MutationObserver(() => {
      for (const cell of document.querySelectorAll("#queue-body td.mono")) {
        const id = cell.firstChild && cell.firstChild.textContent;
        if (id && !(id in window.arrivals)) window.arrivals[id] = Date.now();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${env.CONSOLE_URL}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", env.STAFF_PASSWORD);
  await page.click("#login-button");
  await page.waitForURL("**/console/");
  await page.waitForFunction(() => document.body.dataset.live === "connected");
  return page;
}

const browser = await launch();
try {
  const pages = {
    li: await staffPage(browser, "li", { width: 1280, height: 900 }),
    wang: await staffPage(browser, "wang", { width: 820, height: 1180 }),
  };
  const seen = {};
  for (let trial = 0; trial < Number(env.TRIALS); trial++) {
    const id = `bench-${trial}`;
    // A random phase against the server's one-second look at the database, as a patient's message has.
    await sleep(1000 + Math.floor(Math.random() * 1000));
    console.log(`open ${id}`);
    seen[id] = {};
    for (const [name, page] of Object.entries(pages)) {
      await page.waitForFunction((wanted) => wanted in window.arrivals, id, { polling: 50 });
      seen[id][name] = await page.evaluate((wanted) => window.arrivals[wanted], id);
    }
  }
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
