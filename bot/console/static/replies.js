// Canned replies in the reply box of a conversation: "/" and a few characters list the matching replies of
// bot/console/replies.yml (GET /api/replies); ↑ ↓ choose, Enter or a click fills the box, Esc closes the list.
// Uses el and api of console.js (loaded after this file: used only once the document has loaded).
"use strict";

const REPLY_TRIGGER = "/";
const REPLY_SEARCH_DELAY_MS = 150;

function cannedReplies(box, list) {
  let found = [];
  let chosen = 0;
  let timer = null;
  let asked = 0;

  function close() {
    list.hidden = true;
    found = [];
  }

  function show() {
    list.replaceChildren(
      ...found.map((reply, index) => {
        const item = el(
          "li",
          { role: "option", "data-key": reply.key, "aria-selected": String(index === chosen) },
          el("strong", {}, reply.title),
          el("span", { class: "topic" }, ` · ${reply.topic_label} · /${reply.key}`),
          el("p", { class: "preview" }, reply.text),
        );
        item.addEventListener("mousedown", (event) => {
          event.preventDefault();
          pick(index);
        });
        return item;
      }),
    );
    if (!found.length) list.append(el("li", { class: "empty" }, "没有找到常用回复"));
    list.hidden = false;
  }

  function pick(index) {
    box.value = found[index].text;
    close();
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  async function lookUp(term) {
    const call = ++asked;
    const replies = await api("GET", `/api/replies?q=${encodeURIComponent(term)}`);
    if (call !== asked || !box.value.startsWith(REPLY_TRIGGER)) return;
    found = replies;
    chosen = 0;
    show();
  }

  box.addEventListener("input", () => {
    clearTimeout(timer);
    if (!box.value.startsWith(REPLY_TRIGGER) || box.value.length > 41) return close();
    const term = box.value.slice(REPLY_TRIGGER.length);
    timer = setTimeout(() => lookUp(term).catch((error) => notify(error.message, true)), REPLY_SEARCH_DELAY_MS);
  });
  box.addEventListener("keydown", (event) => {
    if (list.hidden || !found.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
      show();
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(chosen);
    } else if (event.key === "Escape") {
      close();
    }
  });
  box.addEventListener("blur", close);
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("reply-text");
  const list = document.getElementById("reply-suggestions");
  if (box && list) cannedReplies(box, list);
});
