// 网格通 sandbox page: chat panes side by side, each playing one demo persona against the
// real bot. No framework and no build step. Safety rule: bot and user text only ever
// reaches the page as text nodes (built from Telegram's entities), never as HTML.
import { SAFE_URL, h, parseDeepLink, renderEntities } from "./render.js";

const ROLE_GROUPS = [
  ["resident", "居民 Residents"],
  ["worker", "网格员 Grid workers"],
  ["community_staff", "社区工作者 Community staff"],
  ["street_staff", "街道 Street staff"],
  ["district_staff", "区指挥中心 District"],
  ["admin", "管理员 Admin"],
  ["newcomer", "新用户 Newcomers"],
];
const LAYOUT_KEY = "gridbot-sandbox-panes";
// A pane scrolled to within this many pixels of its end follows new messages.
const NEAR_END = 48;

const app = {
  personas: new Map(), // id -> persona
  buildings: [],
  defaults: [],
  bot: { username: "" },
  zone: "Asia/Shanghai",
  clock: null, // {timestamp, offset_seconds, at: performance.now()}
  panes: [],
  errors: new Map(), // seq -> rejected event
  socket: null,
  nextPaneId: 1,
};

async function api(path, options = {}) {
  const init = { ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.error) || `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

function formatTime(seconds, withDate) {
  const options = { timeZone: app.zone, hour: "2-digit", minute: "2-digit", hour12: false };
  if (withDate) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat("zh-CN", options).format(new Date(seconds * 1000));
}

function dayKey(seconds) {
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: app.zone, year: "numeric", month: "long", day: "numeric", weekday: "short",
  }).format(new Date(seconds * 1000));
}

function describeOffset(seconds) {
  if (seconds < 60) return "实时 real time";
  const minutes = Math.round(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = [];
  if (days) parts.push(`${days} 天`);
  if (hours) parts.push(`${hours} 小时`);
  if (rest) parts.push(`${rest} 分钟`);
  return `已快进 +${parts.join(" ")}`;
}

// --- one chat pane --------------------------------------------------------------------------

class Pane {
  constructor(userId) {
    this.id = app.nextPaneId++;
    this.userId = userId;
    this.seq = 0;
    this.loading = true;
    this.buffer = [];
    this.bubbles = new Map(); // message_id -> element
    this.lastDay = null;
    this.keyboard = null;
    this.keyboardHidden = false;
    this.commands = [];
    const template = document.getElementById("pane-template");
    this.el = template.content.firstElementChild.cloneNode(true);
    this.el.dataset.pane = String(this.id);
    this.q = (selector) => this.el.querySelector(selector);
    this.messagesEl = this.q(".messages"); // the scroller
    this.streamEl = this.q(".stream"); // what it scrolls: day marks, messages, errors
    this.unseenEl = this.q(".unseen");
    // Following the newest message (the pane is at its end) or staying where the user
    // scrolled to, with new messages counted on the "↓ n 条新消息" badge meanwhile.
    this.following = true;
    this.lastTop = 0;
    this.unseen = new Map(); // "m<id>" or "e<seq>" -> element not yet scrolled into view
    this.input = this.q(".composer-input");
    this.wire();
    this.fillPicker();
  }

  get persona() {
    return app.personas.get(this.userId);
  }

  wire() {
    this.q(".persona").addEventListener("change", (event) => {
      this.switchTo(Number(event.target.value));
    });
    this.q(".close").addEventListener("click", () => removePane(this));
    this.q(".desk-btn").addEventListener("click", () => this.openDesk());
    this.q(".composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendTyped();
    });
    this.input.addEventListener("input", () => this.suggestCommands());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.closePopups();
    });
    this.q(".menu-btn").addEventListener("click", () => this.toggleCommands());
    this.q(".attach-btn").addEventListener("click", () => this.togglePopup(".attach-popup"));
    this.q(".kb-btn").addEventListener("click", () => {
      this.keyboardHidden = !this.keyboardHidden;
      this.renderKeyboard();
    });
    this.q(".attach-popup").addEventListener("click", (event) => {
      const kind = event.target.closest("[data-attach]")?.dataset.attach;
      if (!kind) return;
      this.closePopups();
      if (kind === "photo") this.q(".file-photo").click();
      if (kind === "voice") this.q(".file-voice").click();
      if (kind === "location") this.act("location", {});
      if (kind === "qr") this.showQrList();
    });
    this.q(".file-photo").addEventListener("change", (event) => this.uploadPhoto(event.target));
    this.q(".file-voice").addEventListener("change", (event) => this.uploadVoice(event.target));
    // Tapping a /command or a deep link inside a message, as in Telegram.
    this.messagesEl.addEventListener("click", (event) => {
      const command = event.target.closest(".command");
      if (command) {
        this.act("text", { text: command.dataset.command });
        return;
      }
      const deepLink = event.target.closest("[data-start]");
      if (deepLink) {
        event.preventDefault();
        openLinkAs(deepLink.dataset.start, this);
      }
    });
    this.messagesEl.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.unseenEl.addEventListener("click", () => {
      this.messagesEl.scrollTo({ top: this.messagesEl.scrollHeight, behavior: "smooth" });
    });
    // Whatever changes the height of the chat or of its content (a message, an edit, a
    // photo that finishes loading, the reply keyboard coming or going) keeps a pane that
    // follows at its end, before the change is painted.
    const keepAtEnd = new ResizeObserver(() => {
      if (this.following) this.jumpToEnd();
    });
    keepAtEnd.observe(this.messagesEl);
    keepAtEnd.observe(this.streamEl);
  }

  fillPicker() {
    const select = this.q(".persona");
    fillPersonaOptions(select);
    select.value = String(this.userId);
  }

  renderHeader() {
    const p = this.persona;
    if (!p) return;
    this.el.dataset.user = String(p.id);
    this.el.dataset.role = p.role;
    this.q(".avatar").textContent = p.name.replace(/^新居民\s*/, "").slice(0, 1);
    const sub = [p.role_label];
    // Staff are known by where they work, residents by where they live.
    if (p.scope) sub.push(`负责 ${p.scope}`);
    else if (p.place) sub.push(p.place);
    else if (p.role === "newcomer") sub.push("还没有绑定楼栋 · not registered yet");
    if (p.phone) sub.push(p.phone);
    this.q(".sub").textContent = sub.join(" · ");
    // Staff have a desk: it opens beside the chat, as this persona, on the same data.
    this.q(".desk-btn").hidden = !p.scope;
    this.q(".persona").value = String(p.id);
  }

  // The desk as this persona, in a tab of its own: the window is opened on the click
  // itself (a browser blocks one opened later), then sent to a fresh one-time link.
  async openDesk() {
    const tab = window.open("about:blank", "_blank");
    try {
      const answer = await api(`/api/chats/${this.userId}/desk`, { json: {} });
      if (tab) tab.location.href = answer.url;
      else window.location.assign(answer.url);
    } catch (error) {
      if (tab) tab.close();
      showModal(this.persona ? this.persona.name : "", error.message);
    }
  }

  switchTo(userId) {
    this.userId = userId;
    saveLayout();
    this.load();
  }

  // --- snapshot and live events ---------------------------------------------------------

  async load() {
    // Two loads can overlap (the pane is added, then the live connection says hello):
    // only the newest applies its snapshot and the events buffered since, or an older
    // one finishing last would wipe messages that arrived in between.
    const generation = (this.loadGeneration = (this.loadGeneration || 0) + 1);
    this.loading = true;
    this.buffer = [];
    this.renderHeader();
    let snapshot;
    try {
      snapshot = await api(`/api/chats/${this.userId}`);
    } catch (error) {
      if (generation !== this.loadGeneration) return;
      this.loading = false;
      this.toast(`无法加载 Could not load: ${error.message}`);
      return;
    }
    if (generation !== this.loadGeneration) return; // a newer load is under way
    if (snapshot.chat_id !== this.userId) return; // switched again meanwhile
    this.streamEl.replaceChildren();
    this.bubbles.clear();
    this.unseen.clear();
    this.following = true;
    this.lastDay = null;
    const timeline = [
      ...snapshot.messages.map((m) => ({ at: m.sandbox_date, message: m })),
      ...snapshot.errors.map((e) => ({ at: e.sandbox_at, error: e })),
    ].sort((a, b) => a.at - b.at);
    for (const item of timeline) {
      if (item.message) this.upsert(item.message, false);
      else this.addError(item.error);
    }
    this.commands = snapshot.commands;
    this.keyboard = snapshot.reply_keyboard;
    this.keyboardHidden = false;
    this.renderKeyboard();
    this.renderEmpty();
    this.seq = snapshot.seq;
    this.loading = false;
    for (const event of this.buffer) this.apply(event);
    this.buffer = [];
    this.jumpToEnd();
    this.renderUnseen();
  }

  apply(event) {
    if (this.loading) {
      this.buffer.push(event);
      return;
    }
    if (event.seq <= this.seq) return; // already part of the snapshot
    this.seq = event.seq;
    switch (event.type) {
      case "message": {
        const bubble = this.upsert(event.message, true);
        if (!event.message.from_bot) this.jumpToEnd(); // what one sends oneself, one sees
        else this.noteIfUnseen(`m${event.message.message_id}`, bubble);
        if (JSON.stringify(event.reply_keyboard) !== JSON.stringify(this.keyboard)) {
          this.keyboard = event.reply_keyboard; // a new keyboard shows up, as in Telegram
          this.keyboardHidden = false;
        }
        this.renderKeyboard();
        break;
      }
      case "edit":
        // An edit further down than the user has scrolled is news too.
        this.noteIfUnseen(`m${event.message.message_id}`, this.upsert(event.message, true));
        break;
      case "delete":
        this.remove(event.message_id);
        break;
      case "callback_answer":
        this.showAnswer(event.answer);
        break;
      case "rejected":
        this.noteIfUnseen(`e${event.seq}`, this.addError(event));
        break;
      default:
        break;
    }
    this.unblockButtons();
    this.renderEmpty();
  }

  // --- messages ---------------------------------------------------------------------------

  upsert(message, animate) {
    const existing = this.bubbles.get(message.message_id);
    const bubble = this.renderMessage(message);
    if (existing) {
      existing.replaceWith(bubble);
      if (animate) bubble.classList.add("flash");
    } else {
      const day = dayKey(message.sandbox_date);
      if (day !== this.lastDay) {
        this.streamEl.append(h("div", { className: "day" }, h("span", {}, day)));
        this.lastDay = day;
      }
      this.streamEl.append(bubble);
      if (animate) bubble.classList.add("appear");
    }
    this.bubbles.set(message.message_id, bubble);
    const key = `m${message.message_id}`;
    if (this.unseen.has(key)) this.unseen.set(key, bubble);
    return bubble;
  }

  remove(messageId) {
    const bubble = this.bubbles.get(messageId);
    if (!bubble) return;
    this.bubbles.delete(messageId);
    if (this.unseen.delete(`m${messageId}`)) this.renderUnseen();
    bubble.classList.add("vanish");
    bubble.addEventListener("animationend", () => bubble.remove(), { once: true });
    setTimeout(() => bubble.remove(), 400); // in case animations are off
  }

  renderMessage(m) {
    const outgoing = !m.from_bot;
    const row = h("div", {
      className: `msg ${outgoing ? "out" : "in"}`,
      dataset: { messageId: String(m.message_id) },
    });
    const bubble = h("div", { className: "bubble" });
    if (m.reply_to_message) {
      const quoted = m.reply_to_message.text || m.reply_to_message.caption || "[媒体 media]";
      bubble.append(h("div", { className: "reply-quote" }, quoted.slice(0, 120)));
    }
    bubble.append(...this.renderMedia(m));
    const body = m.text ?? m.caption;
    if (body) {
      const entities = m.text !== undefined ? m.entities : m.caption_entities;
      bubble.append(h("div", { className: "text" }, renderEntities(body, entities, app.bot.username)));
    }
    bubble.append(
      h("div", { className: "meta" },
        m.edit_date ? h("span", { className: "edited" }, "已编辑 ") : null,
        formatTime(m.sandbox_date, false)),
    );
    row.append(bubble);
    const keyboard = m.reply_markup && m.reply_markup.inline_keyboard;
    if (keyboard && keyboard.length) row.append(this.renderInlineKeyboard(m, keyboard));
    return row;
  }

  renderMedia(m) {
    const parts = [];
    if (m.photo && m.photo.length) {
      const largest = m.photo[m.photo.length - 1];
      const src = `/api/files/${encodeURIComponent(largest.file_id)}`;
      parts.push(h("img", {
        className: "photo",
        src,
        alt: "照片 photo",
        loading: "lazy",
        onclick: () => showPhoto(src),
      }));
    }
    if (m.voice) {
      parts.push(h("div", { className: "voice" },
        h("span", { className: "voice-icon" }, "🎤"),
        h("span", {}, `语音 Voice · ${m.voice.duration || 0}″`),
        h("audio", { controls: true, preload: "none", src: `/api/files/${encodeURIComponent(m.voice.file_id)}` })));
    }
    if (m.document) {
      parts.push(h("a", {
        className: "document",
        href: `/api/files/${encodeURIComponent(m.document.file_id)}`,
        download: m.document.file_name || "file",
      }, `📄 ${m.document.file_name || "文件 file"}`));
    }
    if (m.location) {
      const { latitude, longitude } = m.location;
      parts.push(h("div", { className: "location" },
        h("div", { className: "map" }, h("span", { className: "pin" }, "📍")),
        h("div", { className: "coords" }, `位置 Location ${latitude.toFixed(5)}, ${longitude.toFixed(5)}`)));
    }
    if (m.contact) {
      const c = m.contact;
      parts.push(h("div", { className: "contact" },
        h("span", { className: "contact-icon" }, "👤"),
        h("div", {}, h("b", {}, [c.first_name, c.last_name].filter(Boolean).join(" ")),
          h("div", {}, c.phone_number))));
    }
    if (m.users_shared) {
      // What Telegram's client shows for people picked with a request_users button.
      const names = m.users_shared.users.map((u) => {
        const persona = app.personas.get(u.user_id);
        return [u.first_name, u.last_name].filter(Boolean).join(" ") || (persona ? persona.name : String(u.user_id));
      });
      parts.push(h("div", { className: "contact" },
        h("span", { className: "contact-icon" }, "👥"),
        h("div", {}, h("div", {}, "已分享联系人 Shared"), h("b", {}, names.join("、")))));
    }
    for (const kind of ["video", "audio", "animation", "sticker", "video_note"]) {
      if (m[kind]) parts.push(h("div", { className: "document" }, `[${kind}]`));
    }
    return parts;
  }

  renderInlineKeyboard(message, rows) {
    const keyboard = h("div", { className: "inline-keyboard" });
    for (const row of rows) {
      const line = h("div", { className: "kb-row" });
      for (const button of row) line.append(this.inlineButton(message, button));
      keyboard.append(line);
    }
    return keyboard;
  }

  inlineButton(message, button) {
    if (button.callback_data !== undefined) {
      return h("button", {
        type: "button",
        className: "ikb",
        onclick: (event) => {
          event.currentTarget.classList.add("pending");
          this.act("press", { message_id: message.message_id, data: button.callback_data });
        },
      }, button.text);
    }
    if (button.url) {
      const deepLink = parseDeepLink(button.url, app.bot.username);
      if (deepLink !== null) {
        return h("button", {
          type: "button",
          className: "ikb link",
          dataset: { start: deepLink },
          onclick: () => openLinkAs(deepLink, this),
        }, `${button.text} ↗`);
      }
      return h("a", {
        className: "ikb link",
        href: SAFE_URL.test(button.url) ? button.url : "#",
        target: "_blank",
        rel: "noopener noreferrer",
      }, `${button.text} ↗`);
    }
    // web_app, switch_inline_query, pay, …: not part of this bot; shown, not pressable.
    return h("button", { type: "button", className: "ikb", disabled: true, title: "沙盒不支持 not in sandbox" }, button.text);
  }

  unblockButtons() {
    for (const pending of this.el.querySelectorAll(".ikb.pending")) pending.classList.remove("pending");
  }

  addError(event) {
    const params = event.params || {};
    const preview = params.text || params.caption || "";
    const entry = h("div", { className: "sys error", dataset: { seq: String(event.seq) } },
      h("div", { className: "error-title" }, "⚠ Telegram 会拒绝这条请求 · Rejected by Telegram"),
      h("div", { className: "error-line" }, `${event.method} → ${event.status} ${event.error}`),
      preview ? h("details", {}, h("summary", {}, "机器人想发送的内容 What the bot tried"),
        h("pre", {}, String(preview))) : null);
    this.streamEl.append(entry);
    return entry;
  }

  renderEmpty() {
    const empty = this.streamEl.querySelector(".empty-chat");
    const hasContent = this.streamEl.querySelector(".msg, .sys");
    if (hasContent) {
      if (empty) empty.remove();
      return;
    }
    if (empty) return;
    const p = this.persona;
    this.streamEl.append(h("div", { className: "empty-chat" },
      h("div", { className: "empty-logo" }, "网"),
      h("p", {}, `${app.bot.name || "网格通"} · @${app.bot.username}`),
      h("p", { className: "hint" }, p && p.role === "newcomer"
        ? "新用户：点「开始」，或用 📎 → 🏠 扫楼栋二维码。"
        : "点「开始」打开机器人 · Press START to open the bot."),
      h("button", { type: "button", className: "start-btn primary", onclick: () => this.act("start", {}) },
        "开始 START")));
  }

  // --- following the newest message, or counting what arrives below ------------------------

  isNearEnd() {
    const el = this.messagesEl;
    return el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_END;
  }

  jumpToEnd() {
    const el = this.messagesEl;
    this.following = true;
    el.scrollTop = el.scrollHeight;
    this.lastTop = el.scrollTop;
    if (this.unseen.size) {
      this.unseen.clear();
      this.renderUnseen();
    }
  }

  onScroll() {
    const top = this.messagesEl.scrollTop;
    // Only the user scrolls up: content growing below (or our own jump while more
    // arrives) never turns following off.
    if (this.isNearEnd()) this.following = true;
    else if (top < this.lastTop) this.following = false;
    this.lastTop = top;
    if (this.following) this.unseen.clear();
    for (const [key, el] of this.unseen) {
      if (!el.isConnected || !this.isBelowView(el)) this.unseen.delete(key);
    }
    this.renderUnseen();
  }

  isBelowView(el) {
    // Below as long as not even its first lines (24 px) show at the bottom of the pane.
    return el.getBoundingClientRect().top > this.messagesEl.getBoundingClientRect().bottom - 24;
  }

  noteIfUnseen(key, el) {
    // A pane that follows scrolls to it anyway (the ResizeObserver above).
    if (this.following || !this.isBelowView(el)) return;
    this.unseen.set(key, el);
    this.renderUnseen();
  }

  renderUnseen() {
    this.unseenEl.hidden = this.unseen.size === 0;
    this.q(".unseen-count").textContent = String(this.unseen.size);
  }

  // --- reply keyboard -------------------------------------------------------------------

  renderKeyboard() {
    const box = this.q(".reply-keyboard");
    const toggle = this.q(".kb-btn");
    const markup = this.keyboard;
    toggle.hidden = !markup;
    box.replaceChildren();
    if (!markup || this.keyboardHidden) {
      box.hidden = true;
      this.input.placeholder = "输入消息… Message";
      return;
    }
    box.hidden = false;
    if (markup.input_field_placeholder) this.input.placeholder = markup.input_field_placeholder;
    for (const row of markup.keyboard) {
      const line = h("div", { className: "kb-row" });
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        line.append(h("button", {
          type: "button",
          className: "rkb",
          onclick: () => this.pressReply(button, markup),
        }, button.text));
      }
      box.append(line);
    }
  }

  pressReply(button, markup) {
    // Pickers hide a one-time keyboard only once something was shared (cancel keeps it).
    if (button.request_users) return openUserPicker(this, button.request_users, markup);
    // Telegram opens a chooser of the user's groups and channels; the sandbox has none.
    if (button.request_chat) return this.toast("沙盒里没有可选的群组或频道 · no groups or channels in the sandbox");
    this.hideOneTime(markup);
    if (button.request_contact) this.act("contact", {});
    else if (button.request_location) this.act("location", {});
    else this.act("text", { text: button.text });
  }

  hideOneTime(markup) {
    if (markup && markup.one_time_keyboard) {
      this.keyboardHidden = true;
      this.renderKeyboard();
    }
  }

  // --- composer ---------------------------------------------------------------------------

  sendTyped() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.input.value = "";
    this.closePopups();
    this.act("text", { text });
  }

  async act(kind, body) {
    try {
      await api(`/api/chats/${this.userId}/${kind}`, { json: body });
    } catch (error) {
      this.unblockButtons();
      this.toast(`⚠ ${error.message}`);
    }
  }

  async uploadPhoto(inputEl) {
    const file = inputEl.files && inputEl.files[0];
    inputEl.value = "";
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    const caption = this.input.value.trim();
    if (caption) {
      form.append("caption", caption); // text typed before picking becomes the caption
      this.input.value = "";
    }
    await this.upload("photo", form);
  }

  async uploadVoice(inputEl) {
    const file = inputEl.files && inputEl.files[0];
    inputEl.value = "";
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    const seconds = await audioDuration(file);
    if (seconds !== null) form.append("duration", seconds.toFixed(2));
    await this.upload("voice", form);
  }

  async upload(kind, form) {
    try {
      await api(`/api/chats/${this.userId}/${kind}`, { method: "POST", body: form });
    } catch (error) {
      this.toast(`⚠ ${error.message}`);
    }
  }

  // --- popups -------------------------------------------------------------------------------

  closePopups() {
    for (const popup of this.el.querySelectorAll(".popup")) popup.hidden = true;
  }

  togglePopup(selector) {
    const popup = this.q(selector);
    const wasHidden = popup.hidden;
    this.closePopups();
    popup.hidden = !wasHidden;
    return !popup.hidden;
  }

  async toggleCommands() {
    if (!this.togglePopup(".commands-popup")) return;
    try {
      // The menu can change with the role (after /start or an invite): ask each time.
      this.commands = (await api(`/api/chats/${this.userId}`)).commands;
    } catch (_) { /* keep the last known menu */ }
    this.renderCommands(this.commands, "");
  }

  suggestCommands() {
    const value = this.input.value;
    if (/^\/\S*$/.test(value)) {
      this.q(".commands-popup").hidden = false;
      this.renderCommands(this.commands, value.slice(1).toLowerCase());
    } else {
      this.q(".commands-popup").hidden = true;
    }
  }

  renderCommands(commands, prefix) {
    const popup = this.q(".commands-popup");
    popup.replaceChildren(h("div", { className: "popup-title" }, "命令菜单 Menu"));
    const shown = commands.filter((c) => c.command.startsWith(prefix));
    if (!shown.length) popup.append(h("div", { className: "popup-empty" }, "没有命令 No commands"));
    for (const c of shown) {
      popup.append(h("button", {
        type: "button",
        className: "command-item",
        onclick: () => {
          this.closePopups();
          this.input.value = "";
          this.act("text", { text: `/${c.command}` });
        },
      }, h("b", {}, `/${c.command}`), h("span", {}, c.description)));
    }
  }

  showQrList() {
    const popup = this.q(".qr-popup");
    popup.replaceChildren(
      h("div", { className: "popup-title" }, "扫楼栋二维码 Open a building's QR link"),
      h("p", { className: "popup-hint" }, "等同于用手机扫楼道里的二维码：/start b_…"),
    );
    let community = null;
    for (const b of app.buildings) {
      const [head] = b.label.split(" · ");
      if (head !== community) {
        popup.append(h("div", { className: "popup-group" }, head));
        community = head;
      }
      popup.append(h("button", {
        type: "button",
        className: "qr-item",
        title: b.link,
        onclick: () => {
          this.closePopups();
          this.act("start", { payload: b.payload });
        },
      }, h("span", {}, "🏠 " + b.label.split(" · ").slice(1).join(" · ")), h("code", {}, b.payload)));
    }
    this.closePopups();
    popup.hidden = false;
  }

  // --- callback answers ---------------------------------------------------------------------

  showAnswer(answer) {
    if (!answer.text) return;
    if (answer.show_alert) showModal(this.persona ? this.persona.name : "", answer.text);
    else this.toast(answer.text);
  }

  toast(text) {
    const toast = this.q(".toast");
    toast.textContent = text;
    toast.hidden = false;
    toast.classList.remove("fade");
    void toast.offsetWidth; // restart the fade animation
    toast.classList.add("fade");
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { toast.hidden = true; }, 3500);
  }
}

// --- page-level pieces ----------------------------------------------------------------------

// The length of a voice file in seconds, or null if the browser cannot tell. Decoding
// counts the samples, so it is right even for files whose header gives no length: a
// recording made with MediaRecorder (WebM) reports an infinite <audio> duration.
async function audioDuration(file) {
  try {
    const decoder = new OfflineAudioContext(1, 1, 48000);
    const decoded = await decoder.decodeAudioData(await file.arrayBuffer());
    if (decoded.duration > 0) return decoded.duration;
  } catch (_) { /* not decodable here: ask the media element */ }
  return mediaDuration(file);
}

function mediaDuration(file) {
  return new Promise((resolve) => {
    const audio = new Audio();
    const url = URL.createObjectURL(file);
    let settled = false;
    const done = (seconds) => {
      if (settled) return;
      settled = true;
      URL.revokeObjectURL(url);
      resolve(Number.isFinite(seconds) && seconds > 0 ? seconds : null);
    };
    audio.addEventListener("loadedmetadata", () => {
      if (Number.isFinite(audio.duration)) done(audio.duration);
      else audio.currentTime = 1e9; // seeking to the end makes the browser find the length
    });
    audio.addEventListener("durationchange", () => {
      if (Number.isFinite(audio.duration)) done(audio.duration);
    });
    audio.addEventListener("error", () => done(null), { once: true });
    setTimeout(() => done(null), 3000);
    audio.preload = "metadata";
    audio.src = url;
  });
}

// --- opening a t.me deep link as someone ---------------------------------------------------

// A link to this bot (an invite, a building's QR…) found in a message: the user picks
// whose Telegram opens it, one of the open panes or a new one; that chat then sends
// /start <payload>, as tapping the link in Telegram does.
function openLinkAs(payload, fromPane) {
  const dialog = document.getElementById("open-as");
  dialog.dataset.payload = payload;
  const link = `https://t.me/${app.bot.username}?start=${payload}`;
  document.getElementById("open-as-link").textContent = link;
  const list = document.getElementById("open-as-panes");
  list.replaceChildren();
  for (const pane of app.panes) {
    const p = pane.persona;
    if (!p) continue;
    list.append(h("button", {
      type: "button",
      className: "open-as-pane",
      dataset: { user: String(p.id) },
      onclick: () => {
        closeLinkChooser();
        pane.act("start", { payload });
        pane.el.scrollIntoView({ behavior: "smooth", inline: "nearest", block: "nearest" });
      },
    }, h("b", {}, p.name), h("span", {}, ` · ${p.role_label}${pane === fromPane ? " · 本窗口 this pane" : ""}`)));
  }
  const select = document.getElementById("open-as-persona");
  fillPersonaOptions(select);
  // Links are mostly for someone not yet in the bot: a newcomer not on screen, if any.
  const open = new Set(app.panes.map((p) => p.userId));
  const newcomer = [...app.personas.values()].find((p) => p.role === "newcomer" && !open.has(p.id));
  select.value = String(newcomer ? newcomer.id : nextPersona());
  dialog.hidden = false;
  select.focus();
}

// A request_users button: Telegram shows the user's contacts to pick from (at most the
// button's max_quantity); here the contacts are the sandbox's people, the chooser excepted.
function openUserPicker(pane, request, markup) {
  const dialog = document.getElementById("pick-users");
  app.pickerMarkup = markup;
  const max = Math.max(1, Number(request.max_quantity || 1));
  dialog.dataset.user = String(pane.userId);
  dialog.dataset.request = String(request.request_id);
  dialog.dataset.max = String(max);
  document.getElementById("pick-users-hint").textContent = max > 1
    ? `最多选 ${max} 人 · up to ${max} people`
    : "选 1 人 · pick one person";
  const list = document.getElementById("pick-users-list");
  list.replaceChildren();
  for (const p of app.personas.values()) {
    if (p.id === pane.userId) continue;
    const where = p.scope || p.place || "";
    list.append(h("label", { dataset: { user: String(p.id) } },
      h("input", { type: max > 1 ? "checkbox" : "radio", name: "pick-user", value: String(p.id) }),
      h("b", {}, p.name),
      h("span", {}, ` · ${p.role_label}${where ? " · " + where : ""}`)));
  }
  dialog.hidden = false;
}

function closeUserPicker() {
  document.getElementById("pick-users").hidden = true;
}

function sendPickedUsers(event) {
  event.preventDefault();
  const dialog = document.getElementById("pick-users");
  const pane = app.panes.find((p) => String(p.userId) === dialog.dataset.user);
  const ids = [...dialog.querySelectorAll("input[name=pick-user]:checked")].map((i) => Number(i.value));
  const max = Number(dialog.dataset.max || 1);
  const hint = document.getElementById("pick-users-hint");
  if (!ids.length) { hint.textContent = "请至少选 1 人 · pick at least one person"; return; }
  if (ids.length > max) { hint.textContent = `最多选 ${max} 人 · up to ${max} people`; return; }
  closeUserPicker();
  if (pane) pane.hideOneTime(app.pickerMarkup);
  if (pane) pane.act("users", { request_id: Number(dialog.dataset.request), user_ids: ids });
}

function closeLinkChooser() {
  document.getElementById("open-as").hidden = true;
}

function openLinkInNewPane(event) {
  event.preventDefault();
  const dialog = document.getElementById("open-as");
  const userId = Number(document.getElementById("open-as-persona").value);
  if (!app.personas.has(userId)) return;
  closeLinkChooser();
  const pane = addPane(userId);
  pane.act("start", { payload: dialog.dataset.payload || "" });
  pane.el.scrollIntoView({ behavior: "smooth", inline: "end", block: "nearest" });
}

function fillPersonaOptions(select) {
  select.replaceChildren();
  for (const [role, label] of ROLE_GROUPS) {
    const people = [...app.personas.values()].filter((p) => p.role === role);
    if (!people.length) continue;
    const group = h("optgroup", { label });
    for (const p of people) {
      const where = p.scope || p.place || "";
      group.append(h("option", { value: String(p.id) }, `${p.name} · ${p.role_label}${where ? " · " + where : ""}`));
    }
    select.append(group);
  }
}

function showModal(title, text) {
  document.getElementById("modal-title").textContent = title;
  document.getElementById("modal-body").replaceChildren(h("p", {}, text));
  document.getElementById("modal").hidden = false;
  document.getElementById("modal-ok").focus();
}

function showPre(title, text) {
  document.getElementById("modal-title").textContent = title;
  document.getElementById("modal-body").replaceChildren(h("pre", {}, text));
  document.getElementById("modal").hidden = false;
  document.getElementById("modal-ok").focus();
}

function showPhoto(src) {
  document.getElementById("modal-title").textContent = "照片 Photo";
  document.getElementById("modal-body").replaceChildren(h("img", { src, className: "photo-large", alt: "" }));
  document.getElementById("modal").hidden = false;
}

function addPane(userId) {
  const pane = new Pane(userId);
  app.panes.push(pane);
  document.getElementById("panes").append(pane.el);
  pane.load();
  saveLayout();
  return pane;
}

function removePane(pane) {
  app.panes = app.panes.filter((p) => p !== pane);
  pane.el.remove();
  saveLayout();
}

function saveLayout() {
  try {
    localStorage.setItem(LAYOUT_KEY, JSON.stringify(app.panes.map((p) => p.userId)));
  } catch (_) { /* private mode: layout is not remembered */ }
}

function savedLayout() {
  try {
    const ids = JSON.parse(localStorage.getItem(LAYOUT_KEY) || "null");
    if (Array.isArray(ids) && ids.length && ids.every((id) => app.personas.has(id))) return ids;
  } catch (_) { /* ignore a broken entry */ }
  return null;
}

function nextPersona() {
  const open = new Set(app.panes.map((p) => p.userId));
  const next = [...app.personas.values()].find((p) => !open.has(p.id));
  return (next || app.personas.values().next().value).id;
}

// --- errors -----------------------------------------------------------------------------------

function recordError(event) {
  if (app.errors.has(event.seq)) return;
  app.errors.set(event.seq, event);
  const persona = app.personas.get(event.chat_id);
  const who = persona ? `${persona.name}（${persona.role_label}）` : (event.chat_id ?? "—");
  document.getElementById("error-list").append(h("li", {},
    h("div", { className: "error-head" },
      h("b", {}, `${event.method} → ${event.status}`),
      h("span", {}, formatTime(event.sandbox_at, true))),
    h("div", {}, event.error),
    h("div", { className: "error-who" }, `聊天 Chat: ${who}`)));
  renderErrorCount();
}

function renderErrorCount() {
  const count = app.errors.size;
  document.getElementById("error-count").textContent = String(count);
  document.getElementById("errors-toggle").classList.toggle("has-errors", count > 0);
  document.getElementById("errors-empty").hidden = count > 0;
}

// --- clock -------------------------------------------------------------------------------------

function setClock(clock) {
  app.zone = clock.zone || app.zone;
  app.clock = { ...clock, at: performance.now() };
  renderClock();
}

function renderClock() {
  if (!app.clock) return;
  const now = app.clock.timestamp + (performance.now() - app.clock.at) / 1000;
  const text = new Intl.DateTimeFormat("zh-CN", {
    timeZone: app.zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, weekday: "short",
  }).format(new Date(now * 1000));
  const el = document.getElementById("clock-now");
  el.textContent = text;
  el.dateTime = new Date(now * 1000).toISOString();
  const offset = document.getElementById("clock-offset");
  offset.textContent = describeOffset(app.clock.offset_seconds);
  offset.classList.toggle("ahead", app.clock.offset_seconds >= 60);
}

async function advance(minutes, trigger) {
  const buttons = document.querySelectorAll(".clock-buttons button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const result = await api("/api/clock/advance", { json: { minutes } });
    setClock(result.clock);
    const clockEl = document.querySelector(".clock");
    clockEl.classList.remove("ticked");
    void clockEl.offsetWidth;
    clockEl.classList.add("ticked");
    clockEl.dataset.fired = String(result.fired);
  } catch (error) {
    showModal("快进失败 Could not advance", error.message);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    if (trigger) trigger.blur();
  }
}

// --- live feed -----------------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/events`);
  app.socket = socket;
  const conn = document.getElementById("conn");
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "hello") {
      conn.classList.add("live");
      conn.title = "实时连接已建立 Live";
      document.body.dataset.live = "1";
      setClock(event.clock);
      // Anything may have happened while disconnected: reload every pane.
      for (const pane of app.panes) pane.load();
      refreshErrors();
      return;
    }
    if (event.type === "clock") {
      setClock(event);
      return;
    }
    if (event.type === "rejected") recordError(event);
    for (const pane of app.panes) {
      if (pane.userId === event.chat_id) pane.apply(event);
    }
  });
  socket.addEventListener("close", () => {
    conn.classList.remove("live");
    conn.title = "连接中断，正在重连 Reconnecting…";
    document.body.dataset.live = "0";
    setTimeout(connect, 1000);
  });
}

async function refreshErrors() {
  try {
    for (const event of await api("/api/errors")) recordError(event);
  } catch (_) { /* the next hello retries */ }
}

// --- start-up ------------------------------------------------------------------------------------

async function main() {
  const state = await api("/api/state");
  app.bot = state.bot;
  app.buildings = state.buildings;
  app.defaults = state.defaults;
  for (const p of state.personas) app.personas.set(p.id, p);
  setClock(state.clock);
  setInterval(renderClock, 1000);
  for (const event of state.errors) recordError(event);
  renderErrorCount();

  for (const id of savedLayout() || app.defaults) addPane(id);

  document.getElementById("add-pane").addEventListener("click", () => {
    const pane = addPane(nextPersona());
    pane.el.scrollIntoView({ behavior: "smooth", inline: "end" });
  });
  document.getElementById("reset-panes").addEventListener("click", () => {
    for (const pane of [...app.panes]) removePane(pane);
    for (const id of app.defaults) addPane(id);
  });
  for (const button of document.querySelectorAll("[data-minutes]")) {
    button.addEventListener("click", () => advance(Number(button.dataset.minutes), button));
  }
  document.getElementById("clock-custom").addEventListener("submit", (event) => {
    event.preventDefault();
    const hours = Number(document.getElementById("clock-hours").value);
    if (hours > 0) advance(Math.round(hours * 60), null);
  });
  const panel = document.getElementById("errors-panel");
  const toggle = document.getElementById("errors-toggle");
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
  });
  document.getElementById("errors-close").addEventListener("click", () => {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  });
  // The demo channel's key, made at this start: file an appeal into the district with it.
  const open311 = state.open311 || {};
  const open311Button = document.getElementById("open311");
  open311Button.hidden = !open311.key;
  open311Button.addEventListener("click", () => showPre(
    `📡 Open311 · ${open311.channel}`,
    `接口 Endpoint: ${open311.url}\napi_key: ${open311.key}\n\n` +
    `curl -s -X POST ${open311.url}requests.json \\\n` +
    `  -d api_key=${open311.key} -d service_code=sanitation \\\n` +
    `  -d address_id=${open311.address_id} -d phone=13800000000 \\\n` +
    `  --data-urlencode "description=楼道里堆满了杂物" \\\n` +
    `  -d "attribute[external_id]=T-0001"\n\n` +
    `→ ${open311.worker} 的窗口里会收到这件诉求 · arrives in ${open311.worker}'s pane`,
  ));
  // The public page, served beside the desk when PUBLIC_PAGE is on (always here).
  const publicPage = document.getElementById("public-page");
  publicPage.hidden = !state.public_url;
  if (state.public_url) publicPage.href = state.public_url;
  document.getElementById("modal-ok").addEventListener("click", () => {
    document.getElementById("modal").hidden = true;
  });
  document.getElementById("open-as-new").addEventListener("submit", openLinkInNewPane);
  document.getElementById("open-as-cancel").addEventListener("click", closeLinkChooser);
  document.getElementById("pick-users-form").addEventListener("submit", sendPickedUsers);
  document.getElementById("pick-users-cancel").addEventListener("click", closeUserPicker);
  document.getElementById("open-as").addEventListener("click", (event) => {
    if (event.target.id === "open-as") closeLinkChooser(); // a click beside the box
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      document.getElementById("modal").hidden = true;
      closeLinkChooser();
      closeUserPicker();
    }
  });
  // A click outside a pane's popups closes them.
  document.addEventListener("click", (event) => {
    for (const pane of app.panes) {
      if (!event.target.closest || !pane.el.contains(event.target)) pane.closePopups();
      else if (!event.target.closest(".popup, .menu-btn, .attach-btn, .composer-input")) pane.closePopups();
    }
  });
  connect();
}

main().catch((error) => {
  document.getElementById("panes").replaceChildren(
    h("div", { className: "fatal" }, `沙盒页面无法启动 The sandbox page failed to start: ${error.message}`));
});
