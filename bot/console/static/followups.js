// Follow-ups in the console (docs/followups.md): on the queue, the tickets whose time limit is near or past;
// on a conversation, its tickets' limits and the patient's follow-ups. Uses el, api, clock, label of console.js.
"use strict";

const FOLLOWUP_KIND = { postop_checkin: "术后回访", ticket_update: "工单进展", deadline_notice: "时限说明", satisfaction_survey: "满意度" };
const FOLLOWUP_STATUS = { scheduled: "待发送", sent: "已发送", answered: "已回复", failed: "发送失败", cancelled: "已取消" };
const DEADLINE_STATE = { ok: "未到期", due_soon: "即将到期", overdue: "已超时" };
const DEADLINE_REFRESH_MS = 60_000;

function deadlineItem(deadline) {
  const late = deadline.new_due_at ? ` · 新时间 ${clock(deadline.new_due_at)} 前` : "";
  return el(
    "li",
    { class: `deadline deadline-${deadline.state}`, "data-number": deadline.number },
    el("strong", {}, label(DEADLINE_STATE, deadline.state)),
    ` ${deadline.number} · ${label(TICKET_KIND, deadline.kind)} · ${deadline.steps} · 时限 ${clock(deadline.due_at)}${late} · 会话 ${deadline.conversation_id}`,
  );
}

async function showDeadlines(box, conversationId) {
  const query = conversationId ? `?conversation_id=${encodeURIComponent(conversationId)}` : "";
  const deadlines = await api("GET", `/api/followups/deadlines${query}`);
  box.replaceChildren(...deadlines.map(deadlineItem));
  box.hidden = deadlines.length === 0;
}

function followupItem(followup) {
  const answer = followup.answer ? ` · 患者回复：${followup.answer}` : "";
  const error = followup.status === "failed" && followup.last_error ? ` · ${followup.last_error}` : "";
  return el(
    "li",
    { class: `followup followup-${followup.status}` },
    `${clock(followup.due_at)} · ${label(FOLLOWUP_KIND, followup.kind)} · ${label(FOLLOWUP_STATUS, followup.status)}${answer}${error}`,
    el("p", { class: "followup-text" }, followup.text),
  );
}

async function showFollowups(conversationId) {
  await showDeadlines(document.getElementById("ticket-deadlines"), conversationId);
  const followups = await api("GET", `/api/followups?conversation_id=${encodeURIComponent(conversationId)}`);
  document.getElementById("followups").replaceChildren(...followups.map(followupItem));
  document.getElementById("followups-empty").hidden = followups.length > 0;
}

document.addEventListener("DOMContentLoaded", () => {
  const queueBox = document.getElementById("deadlines");
  if (queueBox) {
    const load = () => showDeadlines(queueBox, null).catch((error) => notify(error.message, true));
    load();
    setInterval(load, DEADLINE_REFRESH_MS);
  }
  const conversation = document.getElementById("conversation-id");
  if (conversation && document.getElementById("followups")) {
    const load = () => {
      if (conversation.textContent) showFollowups(conversation.textContent).catch((error) => notify(error.message, true));
    };
    new MutationObserver(load).observe(conversation, { childList: true, characterData: true, subtree: true });
    load();
  }
});
