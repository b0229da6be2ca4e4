/*
 * The patient chat widget. Any page embeds it with one tag:
 *
 *   <script src="https://console.example/widget.js" async></script>
 *
 * Optional attribute: data-server="https://rasa.example" (Rasa's Socket.IO server; by
 * default the widget asks its own server, GET widget/config.json, where Rasa listens).
 *
 * It loads socket.io-client and its stylesheet from the server that served this file, draws
 * itself inside a shadow root (the host page's CSS cannot break it, and it cannot break the
 * page), talks to Rasa's Socket.IO channel with session persistence, and keeps the
 * conversation's transcript in localStorage so a reload shows the history.
 *
 * Above the chat it shows the privacy notice of widget/privacy.json (data/policies/privacy.yml) with
 * “同意并继续” (the channel records the consent) and a link to the full notice; the patient can chat
 * without agreeing. “清除本次对话” (after a confirmation) forgets the transcript, the session id and
 * its token, asks the server to end the conversation for good, and starts a new one.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.HospitalChatWidget) {
    return;
  }
  window.HospitalChatWidget = { version: 1 };

  var BASE = new URL(".", script.src).href;
  var STORAGE_KEY = "hospitalChat.v1";
  var MAX_STORED_MESSAGES = 200;
  var TYPING_TIMEOUT_MS = 30000;
  // The console repeats `staff_typing` every few seconds while a person types; without it the line goes.
  var STAFF_TYPING_TIMEOUT_MS = 8000;
  var GREETING_PAYLOAD = "/greet";

  var TEXT = {
    launcher: "在线咨询",
    title: "在线咨询",
    subtitle: "医院智能助手 · 可随时转人工",
    connecting: "连接中…",
    online: "在线",
    reconnecting: "网络已断开，重新连接中…",
    failed: "暂时连不上服务，请稍后刷新页面重试",
    placeholder: "请输入您的问题，按回车发送",
    send: "发送",
    close: "关闭",
    typing: "正在输入",
    staffTyping: "客服正在输入…",
    pending: "待发送",
    emergency: "如遇出血不止、呼吸困难等紧急情况，请立即拨打 120。",
    you: "我",
    assistant: "助手",
    staff: "客服",
  };

  /* ---------- storage: the session id, the transcript and whether the panel is open ---------- */

  var memoryStore = {};

  function loadState() {
    var raw = null;
    try {
      raw = window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      raw = memoryStore[STORAGE_KEY] || null;
    }
    var state = null;
    try {
      state = raw ? JSON.parse(raw) : null;
    } catch (error) {
      state = null;
    }
    if (!state || typeof state !== "object" || !Array.isArray(state.messages)) {
      state = freshState(false);
    }
    return state;
  }

  /* No conversation yet: no id, no token, no transcript, no consent. */
  function freshState(open) {
    return { sessionId: null, sessionToken: null, messages: [], open: open, consent: null };
  }

  function saveState() {
    state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
    var raw = JSON.stringify(state);
    try {
      window.localStorage.setItem(STORAGE_KEY, raw);
    } catch (error) {
      memoryStore[STORAGE_KEY] = raw;
    }
  }

  var state = loadState();

  /* ---------- DOM helpers: text always goes through textContent, never innerHTML ---------- */

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (name === "text") {
        node.textContent = value;
      } else if (name.indexOf("on") === 0) {
        node.addEventListener(name.slice(2), value);
      } else if (value === true) {
        node.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        node.setAttribute(name, String(value));
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return "";
    }
    var time = date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
    var today = new Date();
    if (date.toDateString() === today.toDateString()) {
      return time;
    }
    return date.getMonth() + 1 + "月" + date.getDate() + "日 " + time;
  }

  function safeImageUrl(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  /* ---------- the widget's DOM ---------- */

  var host = el("div", { id: "hospital-chat-widget" });
  var shadow = host.attachShadow({ mode: "open" });
  var stylesheet = el("link", { rel: "stylesheet", href: BASE + "widget/widget.css" });

  var statusLabel = el("span", { class: "hc-status", text: TEXT.connecting });
  var notice = el("div", { class: "hc-notice", role: "status", hidden: true });
  var messageList = el("ol", { class: "hc-messages", "aria-live": "polite", "aria-label": "聊天记录" });
  var typing = el("div", { class: "hc-typing", hidden: true, "aria-label": TEXT.typing }, [
    el("span", { class: "hc-dot" }),
    el("span", { class: "hc-dot" }),
    el("span", { class: "hc-dot" }),
  ]);
  var staffTyping = el("div", { class: "hc-staff-typing", role: "status", hidden: true, text: TEXT.staffTyping });
  var quickReplies = el("div", { class: "hc-quick" });
  var input = el("textarea", {
    class: "hc-input",
    rows: 1,
    maxlength: 500,
    placeholder: TEXT.placeholder,
    "aria-label": TEXT.placeholder,
    enterkeyhint: "send",
  });
  var sendButton = el("button", { class: "hc-send", type: "submit", text: TEXT.send });
  var composer = el("form", { class: "hc-composer" }, [input, sendButton]);
  var closeButton = el("button", { class: "hc-close", type: "button", "aria-label": TEXT.close, text: "×" });
  var privacyText = el("p", { class: "hc-privacy-text" });
  var privacyLink = el("a", { class: "hc-privacy-link", target: "_blank", rel: "noopener noreferrer" });
  var privacyLater = el("p", { class: "hc-privacy-later" });
  var agreeButton = el("button", { class: "hc-agree", type: "button" });
  var privacyCard = el("div", { class: "hc-privacy", role: "region", hidden: true }, [
    privacyText,
    el("div", { class: "hc-privacy-actions" }, [agreeButton, privacyLink]),
    privacyLater,
  ]);
  var clearButton = el("button", { class: "hc-clear", type: "button", hidden: true });
  var confirmText = el("p", { class: "hc-confirm-text" });
  var confirmYes = el("button", { class: "hc-confirm-yes", type: "button" });
  var confirmNo = el("button", { class: "hc-confirm-no", type: "button" });
  var confirmBox = el("div", { class: "hc-confirm", role: "alertdialog", hidden: true }, [
    confirmText,
    el("div", { class: "hc-confirm-actions" }, [confirmNo, confirmYes]),
  ]);
  var panel = el("section", { class: "hc-panel", role: "dialog", "aria-label": TEXT.title, hidden: true }, [
    el("header", { class: "hc-header" }, [
      el("div", { class: "hc-avatar", "aria-hidden": "true", text: "医" }),
      el("div", { class: "hc-heading" }, [
        el("strong", { class: "hc-title", text: TEXT.title }),
        el("span", { class: "hc-subtitle" }, [statusLabel, " · " + TEXT.subtitle]),
      ]),
      closeButton,
    ]),
    notice,
    privacyCard,
    confirmBox,
    messageList,
    typing,
    staffTyping,
    quickReplies,
    composer,
    el("p", { class: "hc-footer" }, [TEXT.emergency + " ", clearButton]),
  ]);
  var launcher = el("button", { class: "hc-launcher", type: "button", "aria-label": TEXT.launcher }, [
    el("span", { class: "hc-launcher-icon", "aria-hidden": "true" }),
    el("span", { text: TEXT.launcher }),
  ]);
  var root = el("div", { class: "hc-root", hidden: true }, [panel, launcher]);
  shadow.appendChild(stylesheet);
  shadow.appendChild(root);
  stylesheet.addEventListener("load", function () {
    root.hidden = false;
  });

  /* ---------- rendering ---------- */

  function renderMessage(message) {
    var bubble = el("div", { class: "hc-bubble" });
    if (message.text) {
      bubble.appendChild(el("p", { class: "hc-text", text: message.text }));
    }
    var image = message.image ? safeImageUrl(message.image) : null;
    if (image) {
      bubble.appendChild(el("img", { class: "hc-image", src: image, alt: "图片", loading: "lazy" }));
    }
    var meta = el("span", { class: "hc-time", text: formatTime(message.time) });
    if (message.staff) {
      meta.insertBefore(el("span", { class: "hc-staff", text: TEXT.staff + " · " }), meta.firstChild);
    }
    if (message.pending) {
      meta.appendChild(el("span", { class: "hc-pending", text: " · " + TEXT.pending }));
    }
    return el(
      "li",
      {
        class: "hc-message hc-" + message.role,
        "data-role": message.role,
        "aria-label": message.role === "user" ? TEXT.you : message.staff ? TEXT.staff : TEXT.assistant,
      },
      [bubble, meta]
    );
  }

  function renderQuickReplies() {
    quickReplies.textContent = "";
    var last = state.messages[state.messages.length - 1];
    var options = last && last.role === "bot" && Array.isArray(last.quickReplies) ? last.quickReplies : [];
    options.forEach(function (option) {
      quickReplies.appendChild(
        el("button", {
          class: "hc-quick-reply",
          type: "button",
          text: option.title,
          onclick: function () {
            sendMessage(option.title, option.payload || option.title);
          },
        })
      );
    });
    quickReplies.hidden = options.length === 0;
  }

  function render() {
    messageList.textContent = "";
    state.messages.forEach(function (message) {
      messageList.appendChild(renderMessage(message));
    });
    renderQuickReplies();
    messageList.scrollTop = messageList.scrollHeight;
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    messageList.appendChild(renderMessage(message));
    renderQuickReplies();
    messageList.scrollTop = messageList.scrollHeight;
  }

  var typingTimer = null;

  function setTyping(visible) {
    typing.hidden = !visible;
    window.clearTimeout(typingTimer);
    if (visible) {
      typingTimer = window.setTimeout(function () {
        setTyping(false);
      }, TYPING_TIMEOUT_MS);
      messageList.scrollTop = messageList.scrollHeight;
    }
  }

  var staffTypingTimer = null;

  /* A person in the console is typing a reply (bot/channels/staff_typing.py): `{typing: true|false}`. */
  function onStaffTyping(data) {
    var visible = Boolean(data && data.typing === true);
    staffTyping.hidden = !visible;
    window.clearTimeout(staffTypingTimer);
    if (visible) {
      staffTypingTimer = window.setTimeout(function () {
        staffTyping.hidden = true;
      }, STAFF_TYPING_TIMEOUT_MS);
      messageList.scrollTop = messageList.scrollHeight;
    }
  }

  function setConnection(status) {
    root.setAttribute("data-connection", status);
    statusLabel.textContent = status === "online" ? TEXT.online : TEXT.connecting;
    var message = { reconnecting: TEXT.reconnecting, failed: TEXT.failed }[status];
    notice.hidden = !message;
    notice.textContent = message || "";
  }

  /* ---------- the conversation with Rasa over Socket.IO ---------- */

  var socket = null;
  var sessionReady = false;
  var outbox = [];

  function emitUserMessage(item) {
    socket.emit("user_uttered", { message: item.payload });
  }

  function flushOutbox() {
    var waiting = outbox;
    outbox = [];
    waiting.forEach(emitUserMessage);
    var changed = false;
    state.messages.forEach(function (message) {
      if (message.pending) {
        delete message.pending;
        changed = true;
      }
    });
    if (changed) {
      saveState();
      render();
    }
  }

  /* Shows `title` as the patient's message (unless hidden) and sends `payload` to Rasa. */
  function sendMessage(title, payload, hidden) {
    var item = { payload: payload };
    if (!hidden) {
      addMessage({ role: "user", text: title, time: new Date().toISOString(), pending: !sessionReady });
    }
    if (sessionReady) {
      emitUserMessage(item);
    } else {
      outbox.push(item);
    }
    setTyping(true);
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    var options = data.quick_replies || data.buttons || [];
    var attachment = data.attachment || {};
    var image = data.image || (attachment.type === "image" && attachment.payload ? attachment.payload.src : null);
    if (!data.text && !image) {
      return;
    }
    setTyping(false);
    onStaffTyping(null);
    addMessage({
      role: "bot",
      text: typeof data.text === "string" ? data.text : "",
      image: image || undefined,
      staff: data.staff === true || undefined,
      time: new Date().toISOString(),
      quickReplies: options
        .filter(function (option) {
          return option && option.title;
        })
        .map(function (option) {
          return { title: String(option.title), payload: String(option.payload || option.title) };
        }),
    });
  }

  /* The server issues the conversation id with a token; both are presented again on a reload. */
  function onSessionConfirm(session) {
    var id = session && typeof session === "object" ? session.session_id : null;
    if (typeof id !== "string" || !id) {
      return;
    }
    if (state.sessionId && state.sessionId !== id) {
      state.messages = [];
      render();
    }
    state.sessionId = id;
    state.sessionToken = typeof session.session_token === "string" ? session.session_token : null;
    saveState();
    sessionReady = true;
    setConnection("online");
    sendConsent();
    flushOutbox();
  }

  function connect(server, io) {
    socket = io(server, { path: "/socket.io" });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.sessionId, session_token: state.sessionToken });
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotMessage);
    socket.on("staff_typing", onStaffTyping);
    socket.on("disconnect", function (reason) {
      sessionReady = false;
      setConnection("reconnecting");
      if (reason === "io server disconnect") {
        socket.connect();
      }
    });
    socket.on("connect_error", function () {
      setConnection("reconnecting");
    });
    // A phone that loses its network does not always close the socket at once: do it here,
    // and reconnect as soon as the network is back instead of waiting for the next retry.
    window.addEventListener("offline", function () {
      sessionReady = false;
      socket.disconnect();
      setConnection("reconnecting");
    });
    window.addEventListener("online", function () {
      socket.connect();
    });
  }

  /* ---------- the privacy notice and consent ---------- */

  var privacy = null;

  function renderPrivacy() {
    if (!privacy) {
      return;
    }
    var agreed = state.consent === privacy.version;
    privacyCard.hidden = false;
    privacyCard.classList.toggle("hc-agreed", agreed);
    privacyCard.setAttribute("aria-label", privacy.title);
    privacyText.textContent = agreed ? privacy.agreed : privacy.notice;
    privacyLink.textContent = privacy.link;
    privacyLink.href = privacy.url;
    agreeButton.textContent = privacy.agree;
    agreeButton.hidden = agreed;
    privacyLater.textContent = privacy.later;
    privacyLater.hidden = agreed;
    clearButton.textContent = privacy.clear;
    clearButton.hidden = false;
    confirmText.textContent = privacy.clear_confirm;
    confirmYes.textContent = privacy.clear_yes;
    confirmNo.textContent = privacy.clear_no;
  }

  function sendConsent() {
    if (privacy && sessionReady && state.consent === privacy.version) {
      socket.emit("privacy_consent", { version: privacy.version });
    }
  }

  agreeButton.addEventListener("click", function () {
    state.consent = privacy.version;
    saveState();
    renderPrivacy();
    sendConsent();
    input.focus();
  });

  function loadPrivacy() {
    return fetch(BASE + "widget/privacy.json")
      .then(function (response) {
        return response.json();
      })
      .then(function (texts) {
        privacy = texts;
        renderPrivacy();
      })
      .catch(function () {
        privacy = null;
      });
  }

  /* ---------- clearing the conversation: this device forgets it, the server ends it ---------- */

  clearButton.addEventListener("click", function () {
    confirmBox.hidden = false;
    confirmNo.focus();
  });
  confirmNo.addEventListener("click", function () {
    confirmBox.hidden = true;
  });
  confirmYes.addEventListener("click", function () {
    confirmBox.hidden = true;
    clearConversation();
  });

  function clearConversation() {
    if (socket && socket.connected && state.sessionId) {
      socket.emit("session_clear", { session_id: state.sessionId, session_token: state.sessionToken });
    }
    try {
      window.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      delete memoryStore[STORAGE_KEY];
    }
    state = freshState(true);
    saveState();
    outbox = [];
    sessionReady = false;
    render();
    renderPrivacy();
    if (socket && socket.connected) {
      socket.emit("session_request", { session_id: null, session_token: null });
    }
    sendMessage("", GREETING_PAYLOAD, true);
  }

  /* ---------- input: Enter sends, Shift+Enter breaks the line, never while an IME is composing ---------- */

  var composing = false;

  input.addEventListener("compositionstart", function () {
    composing = true;
  });
  input.addEventListener("compositionend", function () {
    // Safari fires compositionend before the keydown of the Enter that confirmed the
    // candidate; clearing the flag after that keydown keeps that Enter from sending.
    window.setTimeout(function () {
      composing = false;
    }, 0);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey) {
      return;
    }
    if (composing || event.isComposing || event.keyCode === 229) {
      return;
    }
    event.preventDefault();
    submit();
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });

  function submit() {
    var text = input.value.trim();
    if (!text) {
      return;
    }
    input.value = "";
    input.style.height = "auto";
    sendMessage(text, text);
  }

  /* ---------- opening and closing ---------- */

  function setOpen(open) {
    state.open = open;
    saveState();
    panel.hidden = !open;
    launcher.hidden = open;
    root.classList.toggle("hc-open", open);
    if (open) {
      render();
      if (state.messages.length === 0 && outbox.length === 0) {
        sendMessage("", GREETING_PAYLOAD, true);
      }
      input.focus();
    }
  }

  launcher.addEventListener("click", function () {
    setOpen(true);
  });
  closeButton.addEventListener("click", function () {
    setOpen(false);
  });

  /* ---------- start: socket.io-client from our server, the Rasa URL, then connect ---------- */

  function loadSocketIo() {
    return new Promise(function (resolve, reject) {
      var previous = window.io;
      var tag = el("script", { src: BASE + "widget/socket.io.min.js", async: true });
      tag.addEventListener("load", function () {
        var io = window.io;
        if (previous !== undefined) {
          window.io = previous;
        }
        resolve(io);
      });
      tag.addEventListener("error", reject);
      document.head.appendChild(tag);
    });
  }

  function serverUrl() {
    if (script.dataset.server) {
      return Promise.resolve(script.dataset.server);
    }
    return fetch(BASE + "widget/config.json")
      .then(function (response) {
        return response.json();
      })
      .then(function (config) {
        return config.socketUrl;
      });
  }

  function mount() {
    document.body.appendChild(host);
    setConnection("connecting");
    setOpen(Boolean(state.open));
    loadPrivacy();
    Promise.all([serverUrl(), loadSocketIo()])
      .then(function (results) {
        connect(results[0], results[1]);
      })
      .catch(function () {
        setConnection("failed");
      });
  }

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
