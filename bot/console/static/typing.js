// While the holder types a reply, the patient's widget shows “客服正在输入…” (POST /api/handoffs/{id}/typing):
// `true` at most every TYPING_REPEAT_MS while keys are pressed, `false` after TYPING_IDLE_MS without a key
// or when the reply is sent. Best effort: a failure is not shown. Uses api of console.js.
"use strict";

const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("reply-text");
  const form = document.getElementById("reply-form");
  const handoffId = document.body.dataset.handoffId;
  if (!box || !form || !handoffId) return;
  let lastSent = 0;
  let typing = false;
  let idle = null;
  const tell = (now) => {
    typing = now;
    api("POST", `/api/handoffs/${handoffId}/typing`, { typing: now }).catch(() => {});
  };
  const stop = () => {
    clearTimeout(idle);
    if (typing) tell(false);
  };
  box.addEventListener("input", () => {
    if (box.disabled) return;
    if (!typing || Date.now() - lastSent >= TYPING_REPEAT_MS) {
      lastSent = Date.now();
      tell(true);
    }
    clearTimeout(idle);
    idle = setTimeout(stop, TYPING_IDLE_MS);
  });
  form.addEventListener("submit", stop);
});
