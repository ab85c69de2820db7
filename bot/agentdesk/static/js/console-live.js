"use strict";
// Working live with customers and colleagues: "the customer is typing…" in the open chat (and the
// agent's own typing sent to the customer, at most every 3 s), unread counts on the agent's chats
// and in the tab's title, a short sound (WebAudio) and a desktop notification while the tab is
// hidden when a chat enters the queue or a customer writes, a mute toggle kept in localStorage,
// and passing a chat to a colleague or a language team.

const TYPING_EVERY_MS = 3000;  // bot/core/typing_signals.py THROTTLE_S
const TYPING_SHOWN_MS = 6000;  // EXPIRES_S
const MUTED = "console-muted";  // localStorage
const SEEN = "console-seen";  // sessionStorage: per chat, the newest customer message the agent saw
const live = {typedAt: 0, typingTimer: null, known: null, audio: null, alerts: [],
  muted: localStorage.getItem(MUTED) === "1", seen: readSeen()};

function readSeen() {
  try { return JSON.parse(sessionStorage.getItem(SEEN) || "{}"); } catch (e) { return {}; }
}

function markSeen(id, messageId) {
  if (!id || messageId <= (live.seen[id] || 0)) return;
  live.seen[id] = messageId;
  keepSeen();
}

// A snoozed chat back because its time came counts as unread until the agent opens it.
function markWakeSeen(id, until) {
  if (!id || live.seen["wake:" + id] === until) return;
  live.seen["wake:" + id] = until;
  keepSeen();
}

function keepSeen() {
  try { sessionStorage.setItem(SEEN, JSON.stringify(live.seen)); } catch (e) { /* memory only */ }
}

// -- typing --------------------------------------------------------------------------------------

$("reply-text").addEventListener("input", () => {
  const now = Date.now();
  if (!state.current || !$("reply-text").value.trim() || now - live.typedAt < TYPING_EVERY_MS) return;
  live.typedAt = now;
  api("conversations/" + encodeURIComponent(state.current) + "/typing", {body: {}}).catch(() => {});
});

function customerTyping(signal) {
  if (signal.side !== "customer") return;
  $("typing").textContent = t("typing_customer");
  $("typing").classList.remove("hidden");
  clearTimeout(live.typingTimer);
  live.typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping() {
  clearTimeout(live.typingTimer);
  $("typing").classList.add("hidden");
  $("typing").textContent = "";
}

// A message of the open chat arrived on the stream.
function liveEntry(m) {
  if (m.author !== "customer") return;
  hideTyping();
  markSeen(state.current, m.id);
  if (document.hidden) notifyAgent(t("notify_new_message"), m.text);
}

// -- unread counts, title, sound and notifications -------------------------------------------------

// A customer wrote in another of the agent's chats (the stream's activity event).
function customerWrote(activity) {
  const entry = state.queue && state.queue.mine.find((e) => e.conversation_id === activity.conversation_id);
  if (entry && activity.message_id > (entry.last_customer_id || 0)) {
    entry.unread = (entry.unread || 0) + 1;
    entry.last_customer_id = activity.message_id;
    renderQueue(state.queue);
  }
  notifyAgent(t("notify_new_message"));
}

function unreadOf(entry) {
  const id = entry.conversation_id, last = entry.last_customer_id || 0;
  if (id === state.current) { markSeen(id, last); return 0; }
  return last > (live.seen[id] || 0) ? (entry.unread || 0) : 0;
}

function decorateUnread(item, entry) {
  const count = unreadOf(entry);
  if (!count) return;
  item.querySelector(".top").append(el("span", {class: "unread", "aria-label": tn("unread", count), text: String(count)}));
}

// After every drawing of the queue: the badges' total in the tab's title.
function afterQueue(view) {
  for (const entry of view.mine) {
    const item = $("mine").querySelector(`.queue-item[data-conversation="${CSS.escape(entry.conversation_id)}"]`);
    if (item) decorateUnread(item, entry);
  }
  const total = view.mine.reduce((sum, entry) => sum + (unreadOf(entry) || (wokeUnseen(entry) ? 1 : 0)), 0);
  document.title = (total ? "(" + total + ") " : "") + t("console_title");
}

// The stream's view: chats that were not there before are announced (not on the first view).
function noticeNewChats(view) {
  const ids = [...view.offered, ...view.mine, ...(view.snoozed || [])].map((e) => e.conversation_id);
  const fresh = live.known ? ids.filter((id) => !live.known.has(id)) : [];
  live.known = new Set(ids);
  if (fresh.length) notifyAgent(t("notify_new_chat"));
}

function notifyAgent(title, body) {
  if (!document.hidden) return;
  live.alerts.push(title);
  if (!live.muted) beep();
  if ("Notification" in window && Notification.permission === "granted") {
    try { new Notification(title, {body: body || "", tag: "webcare-console"}); } catch (e) { /* not allowed here */ }
  }
}

function beep() {
  try {
    live.audio = live.audio || new (window.AudioContext || window.webkitAudioContext)();
    const ctx = live.audio, tone = ctx.createOscillator(), gain = ctx.createGain(), now = ctx.currentTime;
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, now);
    gain.gain.exponentialRampToValueAtTime(0.001, now + 0.3);
    tone.connect(gain).connect(ctx.destination);
    tone.start(now);
    tone.stop(now + 0.3);
  } catch (e) { /* no audio here */ }
}

function showAlertControls() {
  // a toggle: "Sound", pressed while it plays; its title says what a click does
  $("sound").setAttribute("title", t(live.muted ? "notify_unmute" : "notify_mute"));
  $("sound").setAttribute("aria-pressed", String(!live.muted));
  const ask = "Notification" in window && Notification.permission === "default";
  $("notify-enable").classList.toggle("hidden", !ask);
}
$("sound").addEventListener("click", () => {
  live.muted = !live.muted;
  localStorage.setItem(MUTED, live.muted ? "1" : "0");
  showAlertControls();
});
$("notify-enable").addEventListener("click", () => {
  // asked on the agent's click, as browsers require; the click also lets the page play sound
  Promise.resolve(Notification.requestPermission()).finally(showAlertControls);
  beep();
});
document.addEventListener("click", () => { if (live.audio && live.audio.state === "suspended") live.audio.resume(); });
document.addEventListener("languagechange", showAlertControls);
showAlertControls();

// -- transfer ------------------------------------------------------------------------------------

$("transfer").addEventListener("click", async () => {
  showError("chat-error", null);
  showError("transfer-error", null);
  let colleagues = [];
  try { colleagues = (await api("colleagues")).colleagues; } catch (err) { showError("chat-error", err); return; }
  const language = state.packet.handoff.language;
  const able = colleagues.filter((c) => c.languages.includes(language));
  $("transfer-to").replaceChildren(
    el("optgroup", {label: t("transfer_colleagues")}, ...able.map((c) =>
      el("option", {value: "agent:" + c.username, text: c.display_name + " (" + c.languages.join(", ") + ")"}))),
    el("optgroup", {label: t("transfer_teams")}, ...CONSOLE_SETUP.languages.map((l) =>
      el("option", {value: "team:" + l, text: t("transfer_team", {language: LANGUAGE_NAMES[l] || l})}))));
  $("transfer-note").value = "";
  $("transfer-dialog").showModal();
});
$("cancel-transfer").addEventListener("click", () => $("transfer-dialog").close());
$("transfer-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const [kind, value] = $("transfer-to").value.split(":");
  const body = kind === "agent" ? {to: value} : {language: value};
  body.note = $("transfer-note").value.trim();
  try {
    await api("conversations/" + encodeURIComponent(state.current) + "/transfer", {body});
  } catch (err) { showError("transfer-error", err); return; }
  $("transfer-dialog").close();
  leaveChat();
  loadQueue();
});

// The chat is not the agent's any more: back to "choose a chat".
function leaveChat() {
  state.current = null; state.packet = null; state.messages = []; state.lastId = 0;
  hideTyping();
  $("transcript").replaceChildren();
  $("packet-body").classList.add("hidden");
  $("no-chat").classList.remove("hidden");
  $("reply-form").classList.add("hidden");
  connect();
}
