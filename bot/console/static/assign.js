// Giving work to a colleague: transfer a held conversation, assign a ticket, and the ticket list's assignee
// filter. Uses el, api, notify of console.js; names from the API go in with textContent.
"use strict";

let colleagueList = null;

// The enabled staff accounts, asked once per page.
function colleagues() {
  colleagueList = colleagueList || api("GET", "/api/colleagues");
  return colleagueList;
}

// A <select> of colleagues after `first` options ([value, text]); `chosen` is selected once the list is in.
function colleagueSelect(name, label, first, chosen) {
  const select = el("select", { name, "aria-label": label }, ...first.map(([value, text]) => el("option", { value }, text)));
  select.ready = colleagues().then((list) => {
    for (const colleague of list) select.append(el("option", { value: colleague.username }, colleague.display_name));
    select.value = chosen || "";
  });
  return select;
}

// "转交": the holder (or a supervisor) gives the conversation to a colleague, who replies from then on.
function transferForm(handoffId, onDone) {
  const select = colleagueSelect("to", "转给同事", [["", "转给同事…"]], "");
  const form = el("form", { class: "transfer", id: "transfer-form" }, select, " ", el("button", { type: "submit", class: "secondary" }, "转交"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!select.value) return notify("请先选择要转交的同事。", true);
    try {
      const handoff = await api("POST", `/api/handoffs/${handoffId}/transfer`, { to: select.value });
      notify(`已转交给 ${handoff.assigned_to_name}，由对方继续回复患者。`);
      select.value = "";
      onDone(handoff);
    } catch (error) {
      notify(error.message, true);
    }
  });
  return form;
}

// "指派": who works the ticket (or nobody); written in its history as an internal entry.
function assignForm(ticket, onDone) {
  const select = colleagueSelect("assignee", "负责人", [["", "未指派"]], ticket.assigned_to);
  const form = el("form", { class: "assign" }, el("label", {}, "负责人 ", select), " ", el("button", { type: "submit", class: "secondary" }, "指派"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const changed = await api("POST", `/api/tickets/${encodeURIComponent(ticket.number)}/assign`, { to: select.value || null });
      notify(changed.assigned_to_name ? `工单 ${changed.number} 已指派给 ${changed.assigned_to_name}。` : `工单 ${changed.number} 已取消指派。`);
      await onDone();
    } catch (error) {
      notify(error.message, true);
    }
  });
  return form;
}

// What the live stream says about tickets: a new major-urgent one is alerted like an urgent handoff; one
// assigned to the reader is announced.
const MAJOR_TICKET_ALERT = "重大紧急投诉：有新的重大紧急工单，请立即处理";

function ticketNotice(change) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const notice = new Notification(MAJOR_TICKET_ALERT, {
      body: `工单 ${change.number}（${label(TICKET_KIND, change.kind)}），点击查看`,
      tag: `ticket-${change.number}`,
      requireInteraction: true,
    });
    notice.onclick = () => {
      window.focus();
      location.assign(`/console/tickets/${encodeURIComponent(change.number)}`);
      notice.close();
    };
  } catch (error) {
    // Some browsers (Android) allow notifications only from a service worker: the page's alert remains.
  }
}

// The new major-urgent tickets of a `ticket` event.
function majorArrivals(changes) {
  return changes.filter((change) => change.change === "new" && change.severity === "major");
}

function ticketAlarm(changes, me) {
  const majors = majorArrivals(changes);
  if (majors.length) {
    beep(3);
    notify(`${MAJOR_TICKET_ALERT}（${majors.map((change) => change.number).join("、")}）`, true);
    for (const change of majors) ticketNotice(change);
  }
  for (const change of changes) {
    if (change.change === "assigned" && change.assigned_to === me.username) notify(`工单 ${change.number} 已指派给您。`);
  }
}

// A conversation a colleague transferred to the reader, from a `queue` event.
function transferNotice(changes, me) {
  for (const change of changes) {
    if (change.change === "transferred" && change.assigned_to === me.username) notify(`同事把会话 ${change.conversation_id} 转给了您，请继续回复患者。`);
  }
}
