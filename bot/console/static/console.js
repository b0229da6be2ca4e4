// The staff console in the browser: login, the live queue, one conversation with its tickets, the NLU inbox.
// All text from patients and the API is put into the page with textContent, never as HTML.
// The pages do not poll: GET /api/events pushes every change of the queue (bot/console/live.py).
"use strict";

const TOKEN_KEY = "console.token";
const EVENTS_PATH = "/api/events";
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30_000;
// The server sends a comment every 15 s: three missed ones mean the connection is dead.
const STALLED_MS = 45_000;
// While the live stream is down, the page still reloads this often.
const SAFETY_REFRESH_MS = 60_000;
const URGENT_ALERT = "紧急：有患者报告危险症状，请立即处理";

const PRIORITY = { urgent: "紧急", high: "高", normal: "普通" };
const REASON = { emergency: "紧急情况", anger: "情绪激动/投诉升级", user_request: "患者要求", fallback: "多次未能理解" };
const CHANNEL = { socketio: "网页", telegram: "Telegram", rest: "REST" };
const HANDOFF_STATUS = { waiting: "等待中", active: "处理中", closed: "已结束" };
const ROLE = { patient: "患者", bot: "机器人", staff: "工作人员" };
const TICKET_KIND = { refund: "退款", complaint: "投诉", revision: "修复", postop: "术后", consultation: "面诊" };
const TICKET_CATEGORY = { surgery: "整形", skin: "皮肤", dental: "口腔", other: "其他" };
const TICKET_SEVERITY = { normal: "普通", major: "重大紧急" };
const TICKET_STATUS = { open: "待处理", in_progress: "处理中", resolved: "已解决", closed: "已关闭" };
const INBOX_REASON = { fallback: "未能理解", low_confidence: "置信度低", handoff: "未能理解，已转人工", flagged: "工作人员标记为误解" };
const INBOX_STATUS = { open: "待审核", confirmed: "已确认", corrected: "已更正", dismissed: "已忽略" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function label(map, value) {
  return map[value] || value || "—";
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.floor(s / 60)} 分 ${s % 60} 秒`;
  return `${Math.floor(s / 3600)} 小时 ${Math.floor((s % 3600) / 60)} 分`;
}

function clock(iso) {
  return new Date(iso).toLocaleString("zh-CN", { hour12: false });
}

function notify(message, isError) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.classList.toggle("error", Boolean(isError));
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function authorization() {
  return { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
}

function loggedOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.assign("/console/login");
}

async function api(method, path, body) {
  const headers = authorization();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && path !== "/api/login") {
    loggedOut();
    throw new ApiError(401, "请重新登录");
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, typeof data.detail === "string" ? data.detail : `请求失败（${response.status}）`);
  return data;
}

async function whoAmI() {
  const me = await api("GET", "/api/me");
  // Logged in with a one-time password not yet replaced: the login page asks for a new one.
  if (me.password_change_required) {
    loggedOut();
    throw new ApiError(401, "请先设置新密码");
  }
  const who = document.getElementById("who");
  who.textContent = `${me.display_name}（${me.username}）`;
  who.hidden = false;
  document.body.dataset.permissions = me.permissions.join(" ");
  for (const link of document.querySelectorAll("[data-permission]")) link.hidden = !me.permissions.includes(link.dataset.permission);
  const logout = document.getElementById("logout");
  logout.hidden = false;
  logout.addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => {});
    loggedOut();
  });
  return me;
}

// A function that runs `load`, never twice at once: called while a load runs, it loads once more after it.
function refresher(load) {
  let running = false;
  let again = false;
  return async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          await load();
        } catch (error) {
          if (error.status !== 401) notify(error.message, true);
        }
      } while (again);
    } finally {
      running = false;
    }
  };
}

// Waiting times count up in the page between loads: a clock, no requests.
function waitingClock() {
  const running = new Map();
  setInterval(() => {
    for (const [node, [seconds, since]] of running) {
      if (node.isConnected) node.textContent = duration(seconds + (Date.now() - since) / 1000);
      else running.delete(node);
    }
  }, 1000);
  return (node, seconds, counting) => {
    node.textContent = duration(seconds);
    if (counting) running.set(node, [seconds, Date.now()]);
    else running.delete(node);
  };
}

// One block of the text/event-stream format: {name, data} or null for a comment.
function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Reads the live stream with fetch() (EventSource cannot send the Authorization header) and reconnects
// with backoff. `onOpen()` at every connection, to catch up on what happened while it was down;
// `onEvent(name, data)` for each event; `onDown()` every SAFETY_REFRESH_MS while there is no connection.
function liveUpdates({ onOpen, onEvent, onDown }) {
  const status = document.getElementById("live-status");
  let safety = null;

  function connected(up) {
    document.body.dataset.live = up ? "connected" : "reconnecting";
    status.hidden = up;
    clearTimeout(safety);
    if (!up) {
      safety = setTimeout(function refresh() {
        onDown();
        safety = setTimeout(refresh, SAFETY_REFRESH_MS);
      }, SAFETY_REFRESH_MS);
    }
  }

  // Resolves when the connection ends: true to reconnect, false when the login is gone. Calls `healthy()`
  // at each event received.
  async function read(healthy) {
    const abort = new AbortController();
    let stalled = null;
    const alive = () => {
      clearTimeout(stalled);
      stalled = setTimeout(() => abort.abort(), STALLED_MS);
    };
    try {
      alive();
      const response = await fetch(EVENTS_PATH, { headers: authorization(), cache: "no-store", signal: abort.signal });
      if (response.status === 401) {
        loggedOut();
        return false;
      }
      if (!response.ok || !response.body) return true;
      connected(true);
      onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        alive();
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) {
            healthy();
            onEvent(event.name, event.data);
          }
        }
      }
    } catch (error) {
      return true; // the network, the server going away or a stall: connect again
    } finally {
      clearTimeout(stalled);
    }
  }

  (async () => {
    let delay = RECONNECT_MIN_MS;
    while (await read(() => { delay = RECONNECT_MIN_MS; })) {
      connected(false);
      await sleep(delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  })();
}

// Sound and desktop notifications for urgent handoffs. Browsers play sound only after the user touched
// the page, and ask for notification permission only from a click: the header offers both.
let audio = null;

function setUpAlerts() {
  const soundButton = document.getElementById("sound-button");
  const notifyButton = document.getElementById("notify-button");
  const events = ["pointerdown", "keydown"];
  const unlock = () => {
    audio = audio || new AudioContext();
    audio.resume().then(() => {
      soundButton.hidden = true;
      for (const name of events) document.removeEventListener(name, unlock, true);
    });
  };
  soundButton.hidden = false;
  soundButton.addEventListener("click", () => {
    unlock();
    beep(1);
  });
  for (const name of events) document.addEventListener(name, unlock, true);

  if ("Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", async () => {
      await Notification.requestPermission();
      notifyButton.hidden = Notification.permission !== "default";
    });
  }
}

function beep(times) {
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime + 0.01;
  for (let i = 0; i < times; i++) {
    const at = start + i * 0.35;
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.0001, at);
    volume.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
    tone.connect(volume).connect(audio.destination);
    tone.start(at);
    tone.stop(at + 0.3);
  }
}

function desktopNotice(handoff) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const notice = new Notification(URGENT_ALERT, {
      body: `${label(REASON, handoff.reason)}，点击查看`,
      tag: `handoff-${handoff.id}`,
      requireInteraction: true,
    });
    notice.onclick = () => {
      window.focus();
      location.assign(`/console/handoffs/${handoff.id}`);
      notice.close();
    };
  } catch (error) {
    // Some browsers (Android) allow notifications only from a service worker: the page's alert remains.
  }
}

// The handoffs of a queue event that became urgent and wait for a person.
function urgentArrivals(changes) {
  return changes.filter(
    (handoff) =>
      ["new", "escalated"].includes(handoff.change) && handoff.priority === "urgent" && handoff.status === "waiting",
  );
}

function alarm(handoffs) {
  if (!handoffs.length) return;
  beep(3);
  notify(URGENT_ALERT, true);
  for (const handoff of handoffs) desktopNotice(handoff);
}

// The waiting count in the page title, e.g. "(3) 转人工队列 · 医院助手", "(!1/3) …" when urgent ones wait.
const BASE_TITLE = document.title;

function showCounts({ waiting, urgent_waiting: urgent }) {
  const prefix = urgent ? `(!${urgent}/${waiting}) ` : waiting ? `(${waiting}) ` : "";
  document.title = prefix + BASE_TITLE;
}

function loginPage() {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      const data = await api("POST", "/api/login", {
        username: form.username.value,
        password: form.password.value,
      });
      sessionStorage.setItem(TOKEN_KEY, data.access_token);
      if (!data.password_change_required) return location.assign("/console/");
      form.hidden = true;
      passwordForm.hidden = false;
      passwordForm.new_password.focus();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  // A one-time password (python -m bot staff reset) is good for one thing: setting the account's own.
  const passwordForm = document.getElementById("password-form");
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      if (passwordForm.new_password.value !== passwordForm.repeat.value) throw new Error("两次输入的新密码不一致");
      await api("POST", "/api/password", { current_password: form.password.value, new_password: passwordForm.new_password.value });
      location.assign("/console/");
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
}

async function queuePage() {
  const me = await whoAmI();
  // A trainer's console is the NLU inbox (bot/roles.py).
  if (!me.permissions.includes("queue")) return location.assign("/console/nlu");
  setUpAlerts();
  let status = "waiting";
  const body = document.getElementById("queue-body");
  const empty = document.getElementById("queue-empty");
  const showWaiting = waitingClock();
  // Urgent handoffs that arrived while the page was open: highlighted until someone takes them.
  const arrived = new Set();

  async function claim(handoff) {
    try {
      await api("POST", `/api/handoffs/${handoff.id}/claim`);
      location.assign(`/console/handoffs/${handoff.id}`);
    } catch (error) {
      notify(error.message, true);
      refresh();
    }
  }

  function row(handoff) {
    const open = el("a", { href: `/console/handoffs/${handoff.id}` }, "查看");
    const actions = el("td", { class: "actions" }, open);
    const waiting = handoff.status === "waiting";
    if (waiting) {
      actions.prepend(el("button", { type: "button", class: "claim", onclick: () => claim(handoff) }, "接手"), " ");
    } else {
      arrived.delete(handoff.id);
    }
    const waited = el("td", { class: "waiting" });
    showWaiting(waited, handoff.waiting_seconds, waiting);
    const highlight = arrived.has(handoff.id) ? " alert" : "";
    return el(
      "tr",
      { class: `priority-${handoff.priority}${highlight}`, "data-handoff-id": handoff.id },
      el("td", {}, el("span", { class: `badge ${handoff.priority}` }, label(PRIORITY, handoff.priority))),
      el("td", {}, label(REASON, handoff.reason)),
      el("td", {}, label(CHANNEL, handoff.channel)),
      el("td", { class: "mono" }, handoff.conversation_id, tagBadges(handoff.tags)),
      waited,
      el("td", {}, label(HANDOFF_STATUS, handoff.status)),
      el("td", {}, handoff.assigned_to_name || "—"),
      actions,
    );
  }

  async function load() {
    const tag = tagFilter.value ? `&tag=${encodeURIComponent(tagFilter.value)}` : "";
    const handoffs = await api("GET", `/api/handoffs?status=${status}${tag}`);
    body.replaceChildren(...handoffs.map(row));
    empty.hidden = handoffs.length > 0;
    document.getElementById("updated-at").textContent = `最后更新：${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
  }
  const refresh = refresher(load);
  const tagFilter = document.getElementById("queue-tag");
  await fillTagFilter(tagFilter, "");
  tagFilter.addEventListener("change", refresh);

  for (const tab of document.querySelectorAll("#status-tabs button")) {
    tab.addEventListener("click", () => {
      status = tab.dataset.status;
      for (const other of document.querySelectorAll("#status-tabs button")) other.classList.toggle("active", other === tab);
      refresh();
    });
  }
  refresh();
  liveUpdates({
    onOpen: refresh,
    onDown: refresh,
    onEvent(name, data) {
      if (name === "ticket") ticketAlarm(data.changes, me);
      if (name !== "queue") return; // a patient's message changes no row
      showCounts(data);
      transferNotice(data.changes, me);
      const urgent = urgentArrivals(data.changes);
      for (const handoff of urgent) arrived.add(handoff.id);
      alarm(urgent);
      for (const handoff of data.changes) if (handoff.change === "closed") arrived.delete(handoff.id);
      if (data.changes.length) refresh();
    },
  });
}

async function conversationPage() {
  const me = await whoAmI();
  setUpAlerts();
  const handoffId = Number(document.body.dataset.handoffId);
  const claimButton = document.getElementById("claim-button");
  const releaseButton = document.getElementById("release-button");
  const replyForm = document.getElementById("reply-form");
  const replyText = document.getElementById("reply-text");
  const replyButton = document.getElementById("reply-button");
  const transcriptList = document.getElementById("transcript");
  const showWaiting = waitingClock();
  let handoff = null;
  const transferBox = document.getElementById("transfer");
  transferBox.append(transferForm(handoffId, (moved) => {
    handoff = moved;
    showHandoff();
  }));
  let shownLines = -1;
  // Patient messages flagged as misunderstood from this page (by their Rasa timestamp).
  const flagged = new Set();

  function flagButton(line) {
    const done = flagged.has(line.timestamp);
    const button = el("button", { type: "button", class: "flag", title: "把这条消息放进 NLU 收件箱，供训练员审核" }, done ? "已标记" : "标记为误解");
    button.disabled = done;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("POST", "/api/nlu/flag", { conversation_id: handoff.conversation_id, timestamp: line.timestamp });
        flagged.add(line.timestamp);
        button.textContent = "已标记";
        notify("已标记为误解，训练员会在 NLU 收件箱中审核。");
      } catch (error) {
        button.disabled = false;
        notify(error.message, true);
      }
    });
    return button;
  }

  function showHandoff() {
    document.getElementById("conversation-id").textContent = handoff.conversation_id;
    document.getElementById("handoff-priority").replaceChildren(
      el("span", { class: `badge ${handoff.priority}` }, label(PRIORITY, handoff.priority)),
    );
    document.getElementById("handoff-reason").textContent = label(REASON, handoff.reason);
    document.getElementById("handoff-channel").textContent = label(CHANNEL, handoff.channel);
    document.getElementById("handoff-status").textContent = label(HANDOFF_STATUS, handoff.status);
    document.getElementById("handoff-assignee").textContent = handoff.assigned_to_name || "—";
    showWaiting(document.getElementById("handoff-waiting"), handoff.waiting_seconds, handoff.status === "waiting");
    const mine = handoff.status === "active" && handoff.assigned_to === me.username;
    claimButton.hidden = handoff.status !== "waiting";
    releaseButton.hidden = !(mine || (me.permissions.includes("reassign") && handoff.status !== "closed"));
    transferBox.hidden = !(mine || (handoff.status === "active" && (me.permissions || []).includes("reassign")));
    replyText.disabled = replyButton.disabled = !mine;
    replyText.placeholder = mine ? "输入回复，按“发送”发给患者" : "接手后可在这里回复患者";
  }

  function showTranscript(lines) {
    if (lines.length === shownLines) return;
    shownLines = lines.length;
    transcriptList.replaceChildren(
      ...lines.map((line) =>
        el(
          "li",
          { class: `line ${line.role}` },
          el("span", { class: "who" }, line.role === "staff" && line.staff ? `${ROLE.staff} ${line.staff}` : label(ROLE, line.role)),
          el("time", { datetime: line.time }, clock(line.time)),
          line.role === "patient" ? flagButton(line) : null,
          el("p", { class: "text" }, line.text),
        ),
      ),
    );
    transcriptList.scrollTop = transcriptList.scrollHeight;
  }

  async function load() {
    handoff = await api("GET", `/api/handoffs/${handoffId}`);
    showHandoff();
    showTranscript(await api("GET", `/api/conversations/${encodeURIComponent(handoff.conversation_id)}`));
  }

  claimButton.addEventListener("click", async () => {
    try {
      handoff = await api("POST", `/api/handoffs/${handoffId}/claim`);
      showHandoff();
      notify("已接手，现在可以回复患者。");
    } catch (error) {
      notify(error.message, true);
    }
  });

  releaseButton.addEventListener("click", async () => {
    if (!confirm("结束人工服务并把对话交还给机器人？")) return;
    try {
      handoff = await api("POST", `/api/handoffs/${handoffId}/release`);
      showHandoff();
      await load();
      notify("已结束人工服务，机器人会继续回答患者。");
    } catch (error) {
      notify(error.message, true);
    }
  });

  replyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = replyText.value.trim();
    if (!text) return;
    replyButton.disabled = true;
    try {
      await api("POST", `/api/handoffs/${handoffId}/messages`, { text });
      replyText.value = "";
      await load();
    } catch (error) {
      notify(error.message, true);
    } finally {
      replyButton.disabled = replyText.disabled;
    }
  });

  const refresh = refresher(load);
  refresh();
  liveUpdates({
    onOpen: refresh,
    onDown: refresh,
    onEvent(name, data) {
      if (name === "message" && data.handoff_id === handoffId) refresh();
      if (name === "ticket") ticketAlarm(data.changes, me);
      if (name !== "queue") return;
      showCounts(data);
      transferNotice(data.changes, me);
      alarm(urgentArrivals(data.changes).filter((other) => other.id !== handoffId));
      if (data.changes.some((changed) => changed.id === handoffId)) refresh();
    },
  });
  await waitFor(() => handoff);
  await loadTickets(handoff.conversation_id);
}

function waitFor(condition) {
  return new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 100));
    check();
  });
}

async function loadTickets(conversationId) {
  const box = document.getElementById("tickets");
  const tickets = await api("GET", `/api/tickets?conversation_id=${encodeURIComponent(conversationId)}`);
  document.getElementById("tickets-empty").hidden = tickets.length > 0;
  box.replaceChildren(...tickets.map((ticket) => ticketCard(ticket.number)));
  await Promise.all([...box.children].map((card) => card.refresh()));
}

// A ticket's phone, masked; roles that may see the whole number (bot/roles.py) get a button that asks for it,
// and the server writes that to the audit log.
function phoneField(number, masked) {
  const shown = el("span", { class: "mono phone" }, masked);
  if (!(document.body.dataset.permissions || "").split(" ").includes("reveal_phone")) return shown;
  const reveal = el("button", { type: "button", class: "link reveal-phone", title: "查看会记入审计日志" }, "显示完整号码");
  reveal.addEventListener("click", async () => {
    try {
      shown.textContent = (await api("GET", `/api/tickets/${encodeURIComponent(number)}/phone`)).phone;
      reveal.remove();
    } catch (error) {
      notify(error.message, true);
    }
  });
  return el("span", {}, shown, " ", reveal);
}

function ticketCard(number) {
  const card = el("article", { class: "ticket", "data-number": number });
  card.refresh = async () => {
    const ticket = await api("GET", `/api/tickets/${encodeURIComponent(number)}`);
    const status = el("select", { name: "status" });
    for (const [value, text] of Object.entries(TICKET_STATUS)) {
      const option = el("option", { value }, text);
      option.selected = value === ticket.status;
      status.append(option);
    }
    const note = el("textarea", { name: "note", rows: "2", maxlength: "2000", placeholder: "添加备注（可选）" });
    const forPatient = el("input", { type: "checkbox", name: "patient_visible" });
    const form = el(
      "form",
      { class: "ticket-update" },
      el("label", {}, "状态 ", status),
      note,
      el("label", {}, forPatient, " 患者查询进度时可见（不勾选则仅工作人员可见）"),
      el("button", { type: "submit" }, "保存"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const change = {};
      if (status.value !== ticket.status) change.status = status.value;
      if (note.value.trim()) {
        change.note = note.value.trim();
        change.patient_visible = forPatient.checked;
      }
      if (!Object.keys(change).length) return notify("没有需要保存的修改。", true);
      try {
        await api("PATCH", `/api/tickets/${encodeURIComponent(number)}`, change);
        notify(`工单 ${number} 已更新。`);
        await card.refresh();
      } catch (error) {
        notify(error.message, true);
      }
    });
    const history = el(
      "ol",
      { class: "history" },
      ...ticket.history.map((entry) =>
        el(
          "li",
          {},
          el("time", { datetime: entry.time }, clock(entry.time)),
          ` ${entry.actor}：`,
          entry.to_status ? `状态 ${label(TICKET_STATUS, entry.from_status)} → ${label(TICKET_STATUS, entry.to_status)}。` : "",
          entry.note ? `${entry.patient_visible ? "备注（患者可见）" : "内部备注"}：${entry.note}` : "",
        ),
      ),
    );
    card.replaceChildren(
      el("h3", {}, `${ticket.number} · ${label(TICKET_KIND, ticket.kind)} · ${label(TICKET_STATUS, ticket.status)}`),
      el(
        "p",
        { class: "meta" },
        `${label(TICKET_CATEGORY, ticket.category)} · ${label(TICKET_SEVERITY, ticket.severity)} · 项目：${ticket.procedure || "—"} · 手术时间：${ticket.surgery_time || "—"} · 手机：`,
        phoneField(number, ticket.phone_masked),
        ` · 登记于 ${clock(ticket.created_at)}`,
      ),
      assignForm(ticket, card.refresh),
      tagEditor("ticket", ticket.number),
      el("p", { class: "description" }, ticket.description || ""),
      el("h4", {}, "处理记录"),
      ticket.history.length ? history : el("p", { class: "empty" }, "暂无记录。"),
      form,
    );
  };
  return card;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

// The NLU inbox (trainers): one click confirms the prediction; a correction is an intent (and optionally a
// procedure) chosen from the lists, then one click; dismiss leaves the message out of the training data.
async function nluPage() {
  await whoAmI();
  const body = document.getElementById("inbox-body");
  const empty = document.getElementById("inbox-empty");
  const problem = document.getElementById("inbox-error");
  let options;
  try {
    options = await api("GET", "/api/nlu/options");
  } catch (error) {
    problem.textContent = error.message;
    problem.hidden = false;
    document.querySelector("table.inbox").hidden = true;
    return;
  }
  document.getElementById("low-confidence").textContent = percent(options.low_confidence);
  const labels = Object.fromEntries(options.intents.map((intent) => [intent.name, intent.label]));
  const intentText = (name) => (name ? `${labels[name] || name}（${name}）` : "—");
  let status = "open";

  async function send(item, change, done) {
    try {
      await api("POST", `/api/nlu/inbox/${item.id}`, change);
      notify(done);
      refresh();
    } catch (error) {
      notify(error.message, true);
    }
  }

  function select(name, placeholder, choices, chosen) {
    const list = el("select", { name, "aria-label": placeholder }, el("option", { value: "" }, placeholder));
    for (const [value, text] of choices) {
      const option = el("option", { value }, text);
      option.selected = value === chosen;
      list.append(option);
    }
    return list;
  }

  function row(item) {
    const intent = select("intent", "正确的意图…", options.intents.map((i) => [i.name, `${i.label}（${i.name}）`]), item.reviewed_intent);
    const procedure = select("procedure", "项目（可选）", options.procedures.map((p) => [p, p]), item.reviewed_procedure);
    const chosenProcedure = () => (procedure.value ? { procedure: procedure.value } : {});
    const confirm = el("button", { type: "button", class: "confirm" }, "确认");
    confirm.disabled = !(item.predicted_intent in labels);
    confirm.addEventListener("click", () =>
      send(item, { action: "confirm", ...chosenProcedure() }, `已确认：${intentText(item.predicted_intent)}`),
    );
    const correct = el("button", { type: "button", class: "correct" }, "更正");
    correct.addEventListener("click", () => {
      if (!intent.value) return notify("请先选择正确的意图。", true);
      send(item, { action: "correct", intent: intent.value, ...chosenProcedure() }, `已更正为：${intentText(intent.value)}`);
    });
    const dismiss = el("button", { type: "button", class: "dismiss secondary" }, "忽略");
    dismiss.addEventListener("click", () => send(item, { action: "dismiss" }, "已忽略，这条消息不会用于训练。"));
    const reason = label(INBOX_REASON, item.reason) + (item.flagged_by ? `（${item.flagged_by}）` : "");
    const verdict =
      item.status === "open"
        ? null
        : el(
            "p",
            { class: "verdict" },
            `${label(INBOX_STATUS, item.status)}` +
              (item.reviewed_intent ? `：${intentText(item.reviewed_intent)}` : "") +
              (item.reviewed_procedure ? ` · 项目：${item.reviewed_procedure}` : "") +
              (item.reviewed_by ? ` · ${item.reviewed_by} ${clock(item.reviewed_at)}` : ""),
          );
    return el(
      "tr",
      { "data-item-id": item.id, "data-conversation-id": item.conversation_id, class: `inbox-${item.status}` },
      el("td", {}, el("time", { datetime: item.time }, clock(item.time)), el("div", { class: "mono" }, item.conversation_id)),
      el("td", {}, el("p", { class: "text" }, item.text), verdict),
      el("td", { class: "predicted", "data-intent": item.predicted_intent || "" }, intentText(item.predicted_intent)),
      el("td", { class: "confidence" }, percent(item.confidence)),
      el("td", { class: "reason", "data-reason": item.reason }, reason),
      el("td", { class: "review" }, confirm, " ", intent, " ", procedure, " ", correct, " ", dismiss),
    );
  }

  async function load() {
    const items = await api("GET", `/api/nlu/inbox?status=${status}`);
    body.replaceChildren(...items.map(row));
    empty.hidden = items.length > 0;
  }
  const refresh = refresher(load);

  for (const tab of document.querySelectorAll("#inbox-tabs button")) {
    tab.addEventListener("click", () => {
      status = tab.dataset.status;
      for (const other of document.querySelectorAll("#inbox-tabs button")) other.classList.toggle("active", other === tab);
      refresh();
    });
  }
  // New messages are collected when the list loads: coming back to the tab shows them.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
  await refresh();
}

const PAGES = { login: loginPage, queue: queuePage, conversation: conversationPage, nlu: nluPage };

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page !== "login" && !sessionStorage.getItem(TOKEN_KEY)) {
    location.assign("/console/login");
    return;
  }
  Promise.resolve(PAGES[page]()).catch((error) => {
    if (error.status !== 401) notify(error.message, true);
  });
});
