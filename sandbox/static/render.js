// Telegram message text -> DOM, safely: the text only ever becomes text nodes, and the
// formatting comes from the message's entities (what Telegram itself renders from), so
// nothing the bot or a user wrote can turn into markup or script.
export const SAFE_URL = /^(https?:|tg:|mailto:)/i;
// What Telegram makes a tappable command: "/" and 1-32 letters, digits or "_" (and an
// optional @bot), at the start of the text or after whitespace. "</b>" is not one.
const COMMAND = /^\/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?$/;

// --- tiny DOM helpers ------------------------------------------------------------------

// h("div", {className: "x", onclick: fn}, child, "text"): properties only, never innerHTML.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el) el[key] = value;
    else el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// --- Telegram entities -> DOM ------------------------------------------------------------

// Offsets and lengths are UTF-16 code units, which is exactly how JS strings index.
export function renderEntities(text, entities, botUsername) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const fragment = document.createDocumentFragment();
  buildRange(fragment, text, sorted, 0, text.length, botUsername);
  return fragment;
}

function buildRange(parent, text, entities, start, end, botUsername) {
  let pos = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const from = Math.max(entity.offset, start);
    const to = Math.min(entity.offset + entity.length, end);
    if (from < pos || from >= end || to <= from) {
      i += 1; // overlapping or empty: its text is already covered
      continue;
    }
    if (from > pos) parent.append(text.slice(pos, from));
    let j = i + 1;
    const inner = [];
    while (j < entities.length && entities[j].offset < to) inner.push(entities[j++]);
    const { node, container } = entityElement(entity, text, from, to, botUsername);
    buildRange(container, text, inner, from, to, botUsername);
    parent.append(node);
    pos = to;
    i = j;
  }
  if (pos < end) parent.append(text.slice(pos, end));
}

function entityElement(entity, text, from, to, botUsername) {
  const visible = text.slice(from, to);
  const simple = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code" };
  if (simple[entity.type]) {
    const node = h(simple[entity.type]);
    return { node, container: node };
  }
  switch (entity.type) {
    case "pre": {
      const code = h("code", { className: entity.language ? `language-${entity.language}` : "" });
      return { node: h("pre", {}, code), container: code };
    }
    case "text_link":
    case "url": {
      const href = entity.type === "url" ? normaliseUrl(visible) : entity.url;
      return linkElement(href, botUsername);
    }
    case "email": {
      const node = h("a", { href: `mailto:${visible}` });
      return { node, container: node };
    }
    case "spoiler": {
      const node = h("span", {
        className: "spoiler",
        title: "点击显示 Click to reveal",
        onclick: (event) => event.currentTarget.classList.add("revealed"),
      });
      return { node, container: node };
    }
    case "blockquote":
    case "expandable_blockquote": {
      const node = h("blockquote", {
        className: entity.type === "expandable_blockquote" ? "expandable" : "",
        onclick: (event) => event.currentTarget.classList.toggle("open"),
      });
      return { node, container: node };
    }
    case "bot_command": {
      if (!isCommand(text, from, visible)) {
        const plain = document.createDocumentFragment(); // not a command: just its text
        return { node: plain, container: plain };
      }
      // Telegram sends a tapped command; so does the sandbox.
      const node = h("span", { className: "command", role: "button", dataset: { command: visible } });
      return { node, container: node };
    }
    default: {
      const node = h("span", { className: `entity-${entity.type}` });
      return { node, container: node };
    }
  }
}

function isCommand(text, from, visible) {
  return COMMAND.test(visible) && (from === 0 || /\s/.test(text[from - 1]));
}

function normaliseUrl(text) {
  return /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `http://${text}`;
}

function linkElement(href, botUsername) {
  const deepLink = parseDeepLink(href, botUsername);
  if (deepLink !== null) {
    const node = h("a", { href: "#", className: "deep-link", dataset: { start: deepLink } });
    return { node, container: node };
  }
  if (!href || !SAFE_URL.test(href)) {
    const node = h("span", { className: "link-blocked", title: "不安全的链接 unsafe link" });
    return { node, container: node };
  }
  const node = h("a", { href, target: "_blank", rel: "noopener noreferrer" });
  return { node, container: node };
}

// https://t.me/<our bot>?start=<payload> opens this chat with /start <payload>.
export function parseDeepLink(href, botUsername) {
  if (!href || !botUsername) return null;
  try {
    const url = new URL(href);
    const host = url.hostname.replace(/^www\./, "");
    if (!["t.me", "telegram.me"].includes(host)) return null;
    if (url.pathname.replace(/^\//, "").toLowerCase() !== botUsername.toLowerCase()) {
      return null;
    }
    return url.searchParams.get("start") || "";
  } catch (_) {
    return null;
  }
}

