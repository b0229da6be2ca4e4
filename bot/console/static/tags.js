// Tags on conversations and tickets (names from bot/console/tags.yml, GET /api/tags): a row of toggles that
// saves at each click, the tag filters of the queue and the ticket list. Uses el, api, notify of console.js.
"use strict";

let tagNames = null;

function allTags() {
  tagNames = tagNames || api("GET", "/api/tags");
  return tagNames;
}

// Toggles for the tags of a conversation (kind "conversation", its id) or a ticket ("ticket", its number).
function tagEditor(kind, target) {
  const box = el("div", { class: "tags", "data-kind": kind, "data-target": target, role: "group", "aria-label": "标签" });
  let current = [];
  async function save(next) {
    try {
      current = (await api("PUT", `/api/tags/${kind}`, { target, tags: next })).tags;
      draw();
    } catch (error) {
      notify(error.message, true);
    }
  }
  async function draw() {
    const names = await allTags();
    box.replaceChildren(
      el("span", { class: "tags-label" }, "标签："),
      ...names.map((name) => {
        const on = current.includes(name);
        const toggle = el("button", { type: "button", class: `tag${on ? " on" : ""}`, "aria-pressed": String(on) }, name);
        toggle.addEventListener("click", () => save(on ? current.filter((other) => other !== name) : [...current, name]));
        return toggle;
      }),
    );
  }
  box.ready = api("GET", `/api/tags/${kind}?target=${encodeURIComponent(target)}`)
    .then((found) => {
      current = found.tags;
      return draw();
    })
    .catch((error) => notify(error.message, true));
  return box;
}

// A tag filter: fills the <select> with the tag names after its first option; `chosen` is selected then.
async function fillTagFilter(select, chosen) {
  for (const name of await allTags()) select.append(el("option", { value: name }, name));
  select.value = chosen || "";
}

// The tags shown in a list row.
function tagBadges(names) {
  return el("span", { class: "tag-badges" }, ...(names || []).map((name) => el("span", { class: "tag on" }, name)));
}

// The conversation page: its tags under the heading, once the page knows which conversation it is.
document.addEventListener("DOMContentLoaded", () => {
  const conversation = document.getElementById("conversation-id");
  const box = document.getElementById("conversation-tags");
  if (!conversation || !box) return;
  let shownFor = "";
  new MutationObserver(() => {
    if (conversation.textContent && conversation.textContent !== shownFor) {
      shownFor = conversation.textContent;
      box.replaceChildren(tagEditor("conversation", shownFor));
    }
  }).observe(conversation, { childList: true, characterData: true, subtree: true });
});
