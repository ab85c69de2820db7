"use strict";
// Keyboard shortcuts of the console; "?" (or the header's "?" button) lists them in a dialog.
// Alt+↓ / Alt+↑ move to the next / previous chat of the list anywhere, also while typing;
// single keys (J, K, T, R, N, S, C, ?) only when no text field has the focus and no dialog is
// open, and never with Ctrl, Alt or Meta (Ctrl+C still copies). Ctrl+Enter sends the reply
// (console-chat.js) or saves the note (console-notes.js). Esc closes a dialog (the browser's own
// <dialog> behaviour), or leaves the text field being typed in.

const SINGLE_KEYS = {
  j: () => stepChat(1, true),
  k: () => stepChat(-1, true),
  t: takeNextChat,
  r: () => focusIfShown("reply-text"),
  n: openNotes,
  s: () => { if (!$("snooze").disabled && state.packet) openSnooze(); },  // console-snooze.js
  c: () => { if (!$("close").disabled && state.packet) $("close").click(); },  // the confirmation dialog
  "?": showKeys,
};

function inTextField(target) {
  if (!target || !target.closest) return false;
  if (target.isContentEditable) return true;
  const field = target.closest("textarea, select, input");
  return Boolean(field) && !["button", "checkbox", "radio", "submit", "reset"].includes(field.type);
}

const chatsShown = () => !$("app").classList.contains("hidden") && !$("view-queue").classList.contains("hidden");
const dialogOpen = () => document.querySelector("dialog[open]") !== null;

document.addEventListener("keydown", (e) => {
  if (!state.me || e.defaultPrevented || e.isComposing) return;
  if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
    if (dialogOpen() || !chatsShown()) return;
    e.preventDefault();
    stepChat(e.key === "ArrowDown" ? 1 : -1, !inTextField(e.target));
    return;
  }
  if (e.key === "Escape" && !dialogOpen() && inTextField(e.target)) { leaveField(e.target); return; }
  if (e.ctrlKey || e.metaKey || e.altKey || dialogOpen() || inTextField(e.target)) return;
  const key = e.key.length === 1 ? e.key.toLowerCase() : "";
  const action = SINGLE_KEYS[key];
  if (!action || (key !== "?" && !chatsShown())) return;
  e.preventDefault();
  action();
});

// The chats listed in the queue pane as shown (mine, snoozed, waiting; or the closed ones).
function listedChats() {
  return [...document.querySelectorAll("#queue-pane .queue-item")].filter((item) => item.offsetParent !== null);
}

async function stepChat(step, focus) {
  const items = listedChats();
  if (!items.length) return;
  const at = items.findIndex((item) => item.dataset.conversation === state.current);
  const target = at < 0 ? items[step > 0 ? 0 : items.length - 1] : items[Math.min(items.length - 1, Math.max(0, at + step))];
  const id = target.dataset.conversation;
  if (id === state.current) return;
  target.scrollIntoView({block: "nearest"});
  await openChat(id);  // console-chat.js
  if (focus) focusChat(id);
}

function focusChat(id) {
  const item = listedChats().find((node) => node.dataset.conversation === id);
  if (item) { item.focus(); item.scrollIntoView({block: "nearest"}); }
}

// Take the first chat the queue offers (the list's order: most urgent first by default).
async function takeNextChat() {
  const first = document.querySelector("#offered .queue-item");
  showError("queue-error", null);
  if (!first) { $("queue-error").textContent = t("keys_nothing_waiting"); return; }
  const id = first.dataset.conversation;
  await openChat(id);
  if (state.current !== id) return;
  await act("claim");  // console-chat.js: an error (taken meanwhile) is shown under the chat
  focusIfShown("reply-text");
}

function focusIfShown(id) {
  const node = $(id);
  if (node && node.offsetParent !== null) node.focus();
}

function openNotes() {
  if (!state.packet) return;
  $("note-form").open = true;
  $("note-text").focus();
}

function leaveField(field) {
  if (field.id === "note-text") { $("note-form").open = false; $("note-form").querySelector("summary").focus(); return; }
  field.blur();
}

function showKeys() {
  if (!dialogOpen()) $("keys-dialog").showModal();
}
$("keys-help").addEventListener("click", showKeys);
$("close-keys").addEventListener("click", () => $("keys-dialog").close());
