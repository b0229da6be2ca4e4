// Internal notes on a conversation (GET/POST /api/conversation-notes): for colleagues, never sent to the patient.
// Uses el, api, clock and notify of console.js (loaded after this file: used only once the document has loaded).
"use strict";

function noteItem(note) {
  return el(
    "li",
    { class: "note" },
    el("span", { class: "who" }, note.staff_name),
    " ",
    el("time", { datetime: note.created_at }, clock(note.created_at)),
    el("p", { class: "text" }, note.text),
  );
}

async function showNotes(conversationId) {
  const notes = await api("GET", `/api/conversation-notes?conversation_id=${encodeURIComponent(conversationId)}`);
  document.getElementById("notes").replaceChildren(...notes.map(noteItem));
  document.getElementById("notes-empty").hidden = notes.length > 0;
}

document.addEventListener("DOMContentLoaded", () => {
  const conversation = document.getElementById("conversation-id");
  const form = document.getElementById("note-form");
  if (!conversation || !form) return;
  const box = document.getElementById("note-text");
  const button = document.getElementById("note-button");
  let shownFor = "";
  new MutationObserver(() => {
    if (conversation.textContent && conversation.textContent !== shownFor) {
      shownFor = conversation.textContent;
      showNotes(shownFor).catch((error) => notify(error.message, true));
    }
  }).observe(conversation, { childList: true, characterData: true, subtree: true });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || !conversation.textContent) return;
    button.disabled = true;
    try {
      await api("POST", "/api/conversation-notes", { conversation_id: conversation.textContent, text });
      box.value = "";
      await showNotes(conversation.textContent);
      notify("内部备注已保存，患者看不到。");
    } catch (error) {
      notify(error.message, true);
    } finally {
      button.disabled = false;
    }
  });
});
