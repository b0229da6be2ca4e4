// Least privilege in the staff console, in headless Chromium (#14): a trainer's console opens on the NLU inbox and
// shows no other page; an agent sees a ticket's phone masked with no way to reveal it; a supervisor reveals it
// with one click; an admin finds that reveal in the audit log page; a one-time password asks for a new one at
// login. Any Content-Security-Policy violation fails the script.
// Run by tests/test_console_roles_browser.py: node tests/browser/roles.mjs
// Environment: CONSOLE_URL, PASSWORD (of trainer, agent, supervisor, admin), TICKET, PHONE, PHONE_MASKED,
// ONE_TIME_USER, ONE_TIME_PASSWORD, NEW_PASSWORD, RESULTS (screenshot folder).
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failure.
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";

const env = process.env;
const seen = {};

async function logIn(browser, username, password) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  page.setDefaultTimeout(30_000);
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) throw new Error(`CSP violation: ${message.text()}`);
  });
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${env.CONSOLE_URL}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login-button");
  return page;
}

async function visibleNav(page) {
  await page.locator("#who").waitFor();
  return page.locator("a.nav:visible").evaluateAll((links) => links.map((link) => link.getAttribute("href")));
}

const browser = await launch();
try {
  const trainer = await logIn(browser, "trainer", env.PASSWORD);
  await trainer.waitForURL("**/console/nlu");
  seen.trainerNav = await visibleNav(trainer);

  const agent = await logIn(browser, "agent", env.PASSWORD);
  await agent.waitForURL("**/console/");
  seen.agentNav = await visibleNav(agent);
  await agent.goto(`${env.CONSOLE_URL}/console/tickets/${env.TICKET}`);
  await agent.locator(".ticket .phone").waitFor();
  seen.agentPhone = await agent.locator(".ticket .phone").innerText();
  seen.agentRevealButtons = await agent.locator(".reveal-phone").count();

  const supervisor = await logIn(browser, "supervisor", env.PASSWORD);
  await supervisor.waitForURL("**/console/");
  seen.supervisorNav = await visibleNav(supervisor);
  await supervisor.goto(`${env.CONSOLE_URL}/console/tickets/${env.TICKET}`);
  await supervisor.click(".reveal-phone");
  await supervisor.locator(".ticket .phone", { hasText: env.PHONE }).waitFor();
  seen.supervisorPhone = await supervisor.locator(".ticket .phone").innerText();
  await supervisor.screenshot({ path: `${env.RESULTS}/console-phone-revealed.png` });

  const admin = await logIn(browser, "admin", env.PASSWORD);
  await admin.waitForURL("**/console/");
  seen.adminNav = await visibleNav(admin);
  await admin.click("a.nav[href='/console/audit']");
  await admin.locator("#audit-body tr").first().waitFor();
  seen.auditRows = await admin.locator("#audit-body tr").evaluateAll((rows) => rows.map((row) => row.innerText));
  await admin.screenshot({ path: `${env.RESULTS}/console-audit.png`, fullPage: true });

  const newcomer = await logIn(browser, env.ONE_TIME_USER, env.ONE_TIME_PASSWORD);
  await newcomer.locator("#password-form").waitFor();
  seen.loginFormHidden = await newcomer.locator("#login-form").isHidden();
  await newcomer.fill("#new-password", env.NEW_PASSWORD);
  await newcomer.fill("#repeat-password", env.NEW_PASSWORD);
  await newcomer.click("#password-button");
  await newcomer.waitForURL("**/console/");
  seen.newcomerWho = await newcomer.locator("#who").innerText();
  assert.ok(seen.newcomerWho.includes(env.ONE_TIME_USER));
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
