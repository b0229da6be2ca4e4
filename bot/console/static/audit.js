// The audit log page (admins): who read which transcript or ticket, revealed a phone, exported or deleted a
// patient's data. Uses el, api, clock, whoAmI, refresher and PAGES of console.js; texts go in as textContent.
"use strict";

const AUDIT_ACTION = {
  transcript_read: "查看对话记录",
  ticket_read: "查看工单",
  phone_revealed: "查看完整手机号",
  patient_export: "导出患者数据",
  patient_delete: "删除患者数据",
};
const AUDIT_TARGET = { conversation: "对话", ticket: "工单", patient: "患者" };

function auditRow(entry) {
  return el(
    "tr",
    { "data-id": String(entry.id) },
    el("td", {}, el("time", { datetime: entry.created_at }, clock(entry.created_at))),
    el("td", {}, entry.actor),
    el("td", {}, AUDIT_ACTION[entry.action] || entry.action),
    el("td", { class: "mono" }, `${AUDIT_TARGET[entry.target_kind] || entry.target_kind} ${entry.target}`),
    el("td", { class: "mono" }, entry.client),
  );
}

async function auditPage() {
  await whoAmI();
  const form = document.getElementById("audit-filters");
  for (const [value, text] of Object.entries(AUDIT_ACTION)) form.elements.action.append(el("option", { value }, text));
  const body = document.getElementById("audit-body");
  const more = document.getElementById("audit-more");
  let oldest = null;

  async function load(next) {
    const query = new URLSearchParams();
    for (const name of ["actor", "action", "target"]) if (form.elements[name].value.trim()) query.set(name, form.elements[name].value.trim());
    if (next && oldest) query.set("before_id", String(oldest));
    const entries = await api("GET", `/api/audit?${query}`);
    const rows = entries.map(auditRow);
    if (next) body.append(...rows);
    else body.replaceChildren(...rows);
    if (entries.length) oldest = entries[entries.length - 1].id;
    document.getElementById("audit-empty").hidden = body.children.length > 0;
    more.hidden = entries.length < 200;
  }
  const refresh = refresher(() => load(false));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  more.addEventListener("click", () => load(true).catch((error) => notify(error.message, true)));
  await refresh();
}

// Runs before console.js's own DOMContentLoaded handler, which starts the page named in <body data-page>.
document.addEventListener("DOMContentLoaded", () => {
  PAGES.audit = auditPage;
});
