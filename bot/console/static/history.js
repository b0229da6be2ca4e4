// Beside a transcript: the same patient's other conversations (the earlier sessions of this one, and those
// linked by the phone on their tickets), their tickets and follow-ups (GET /api/patient-history). Uses el,
// api, clock, label of console.js and followupItem of followups.js; every text goes in with textContent.
"use strict";

const LINKED_BY = { same: "本会话", phone: "同一手机号的工单" };

function conversationItem(conversation, currentHandoffId) {
  const earlier = conversation.handoffs.filter((handoff) => handoff.id !== currentHandoffId);
  const span = conversation.first_message_at
    ? `${clock(conversation.first_message_at)} — ${clock(conversation.last_message_at)}`
    : "无消息记录";
  return el(
    "li",
    { class: `linked linked-${conversation.linked_by}`, "data-conversation-id": conversation.conversation_id },
    el("strong", {}, label(LINKED_BY, conversation.linked_by)),
    " ",
    el("span", { class: "mono" }, conversation.conversation_id),
    el("div", { class: "meta" }, `${conversation.sessions} 次会话 · 患者消息 ${conversation.patient_messages} 条 · ${span}`),
    earlier.length
      ? el(
          "ul",
          { class: "earlier-handoffs" },
          ...earlier.map((handoff) =>
            el(
              "li",
              {},
              el("a", { href: `/console/handoffs/${handoff.id}` }, `转人工 ${clock(handoff.created_at)}`),
              ` · ${label(REASON, handoff.reason)} · ${label(HANDOFF_STATUS, handoff.status)}${handoff.assigned_to_name ? ` · ${handoff.assigned_to_name}` : ""}`,
            ),
          ),
        )
      : null,
  );
}

function otherTicketItem(ticket) {
  return el(
    "li",
    { class: `severity-${ticket.severity}`, "data-number": ticket.number },
    el("a", { href: `/console/tickets/${encodeURIComponent(ticket.number)}` }, ticket.number),
    ` · ${label(TICKET_KIND, ticket.kind)} · ${label(TICKET_SEVERITY, ticket.severity)} · ${label(TICKET_STATUS, ticket.status)} · ${clock(ticket.created_at)} · 会话 ${ticket.conversation_id}`,
  );
}

// Fills the 患者档案 panel of the conversation page; the conversation's own tickets are its cards already.
async function showPatientHistory(conversationId, currentHandoffId) {
  const found = await api("GET", `/api/patient-history?conversation_id=${encodeURIComponent(conversationId)}`);
  document.getElementById("history-conversations").replaceChildren(
    ...found.conversations.map((conversation) => conversationItem(conversation, currentHandoffId)),
  );
  const others = found.tickets.filter((ticket) => ticket.conversation_id !== conversationId);
  document.getElementById("history-tickets").replaceChildren(...others.map(otherTicketItem));
  document.getElementById("history-tickets-empty").hidden = others.length > 0;
  document.getElementById("history-followups").replaceChildren(...found.followups.map(followupItem));
  document.getElementById("history-followups-empty").hidden = found.followups.length > 0;
}

// Loaded once the conversation page has shown which conversation it is.
document.addEventListener("DOMContentLoaded", () => {
  const conversation = document.getElementById("conversation-id");
  if (!conversation || !document.getElementById("history-conversations")) return;
  let shownFor = "";
  new MutationObserver(() => {
    if (conversation.textContent && conversation.textContent !== shownFor) {
      shownFor = conversation.textContent;
      showPatientHistory(shownFor, Number(document.body.dataset.handoffId)).catch((error) => notify(error.message, true));
    }
  }).observe(conversation, { childList: true, characterData: true, subtree: true });
});
