"use strict";
// The open chat: its packet (why it was handed over, details), the transcript with the agents'
// internal notes among the messages, and what the agent does: take, reply (canned answers,
// Ctrl+Enter), hand back, close (a wrap-up code, confirmed in a dialog) and the masked export.
// Snoozing is in console-snooze.js, the keyboard shortcuts in console-keys.js.

state.messages = [];  // the open chat's messages, as received (packet, then the live stream)
let chatOpens = 0;  // packets can arrive out of order: only the chat opened last is shown

async function openChat(id) {
  const open = ++chatOpens;
  showError("chat-error", null);
  try {
    const packet = await api("conversations/" + encodeURIComponent(id));
    if (open !== chatOpens) return;  // the agent opened another chat meanwhile
    state.current = id; state.packet = packet;
    state.messages = []; state.lastId = 0;
    $("transcript").replaceChildren();
    renderPacket(packet);
    showCustomer(id);  // console-customer.js: verified customers only
    for (const m of packet.transcript) addEntry(m);
    for (const note of packet.notes) addNote(note);
    connect();
    if (state.queue) renderQueue(state.queue);
    if (state.closed) renderClosed(state.closed);
  } catch (err) { if (open === chatOpens) showError("chat-error", err); }
}

function redrawChat() {
  const messages = state.messages;
  state.messages = []; state.lastId = 0;
  $("transcript").replaceChildren();
  renderPacket(state.packet);
  for (const m of messages) addEntry(m);
  for (const note of state.packet.notes) addNote(note);
}

function renderPacket(p) {
  const h = p.handoff;
  $("no-chat").classList.add("hidden");
  $("packet-body").classList.remove("hidden");
  $("p-priority").textContent = label("priority", h.priority);
  $("p-priority").className = "badge " + h.priority;
  $("p-reason").textContent = label("reason", h.reason);
  $("p-reason").dataset.reason = h.reason;
  $("p-language").textContent = LANGUAGE_NAMES[p.conversation.language] || p.conversation.language;
  $("p-channel").textContent = label("channel", p.conversation.channel);
  $("p-waiting-label").textContent = t(h.ended ? "packet_ended_label" : "packet_waiting");
  if (h.ended) {
    $("p-waiting").removeAttribute("data-since");
    const outcome = label("outcome", h.outcome) + (h.wrap_up ? " · " + label("wrap_up", h.wrap_up) : "");
    $("p-waiting").textContent = t("packet_ended", {outcome, at: h.ended_at ? dateTimeOf(h.ended_at) : "—",
      agent: h.claimed_by || t("closed_nobody")});
  } else {
    $("p-waiting").setAttribute("data-since", h.created_at);
    $("p-waiting").textContent = duration(since(h.created_at));
  }
  $("p-started").textContent = dateTimeOf(h.created_at);
  $("p-intents").textContent = h.intents.join(" → ") || "—";
  $("p-callback").classList.toggle("hidden", !h.callback_at);
  $("p-callback").textContent = h.callback_at ? t("packet_callback", {at: whenOf(h.callback_at)}) : "";
  $("p-slots").textContent = Object.entries(h.slots).filter(([k]) => k !== "bot_name" && k !== "callback")
    .map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join(", ") || "—";
  $("p-summary").textContent = h.summary || "—";
  $("canned").replaceChildren(el("option", {value: "", text: t("chat_canned")}),
    ...p.canned.map((c) => el("option", {value: c.key, text: c.title})));
  setOwner(p.conversation.owner);
}

function setOwner(owner) {
  if (!state.packet) return;
  state.packet.conversation.owner = owner;
  $("p-owner").textContent = label("owner", owner);
  $("p-owner").dataset.owner = owner;
  const mine = owner === "agent" && myChat(state.current) !== undefined;  // active or snoozed
  $("claim").disabled = owner !== "queued";
  $("handback").disabled = !mine;
  $("transfer").disabled = !mine;
  $("snooze").disabled = !mine;
  renderSnoozeState();  // console-snooze.js
  $("close").disabled = !(mine || (owner === "queued" && state.me.role === "admin"));
  $("reply-form").classList.toggle("hidden", !mine);
}

function entryAuthor(m) {
  if (m.author === "agent") return m.agent || t("author_agent");
  return t("author_" + m.author);
}

// Places an entry (message or note) by its time: notes may be older than the newest message.
function placeEntry(node, at) {
  node.dataset.at = String(Date.parse(at));
  const later = [...$("transcript").children].find((other) => Number(other.dataset.at) > Number(node.dataset.at));
  $("transcript").insertBefore(node, later || null);
}

function addEntry(m) {
  if (m.id <= state.lastId) return;
  state.lastId = m.id;
  state.messages.push(m);
  const meta = entryAuthor(m) + " · " + whenOf(m.at) + (m.button_title ? " · " + t("chat_button") : "");
  const entry = el("div", {class: "entry " + m.author, "data-id": m.id},
    el("span", {class: "meta", text: meta}),
    el("span", {class: "text", text: m.button_title || m.text}));
  placeEntry(entry, m.at);
  $("transcript").scrollTop = $("transcript").scrollHeight;
  if (state.queue && state.packet) setOwner(state.packet.conversation.owner);
}

async function refreshChat() {
  const id = state.current;
  state.queue = await api("queue?" + queueParams());
  renderQueue(state.queue);
  // the agent may have moved to another chat (J/K, a click) while this was on its way: the
  // chat now open must not be drawn over with the one this refresh started for
  if (!id || state.current !== id) return;
  const packet = await api("conversations/" + encodeURIComponent(id));
  if (state.current !== id) return;
  state.packet = packet;
  renderPacket(packet);
  for (const m of packet.transcript) addEntry(m);
}

async function act(action, body = {}) {
  showError("chat-error", null);
  try {
    await api("conversations/" + encodeURIComponent(state.current) + "/" + action, {body});
    await refreshChat();
  } catch (err) { showError("chat-error", err); }
}
$("claim").addEventListener("click", () => act("claim"));
$("handback").addEventListener("click", () => act("handback"));
$("export").addEventListener("click", () => {
  window.location = "/agent/api/conversations/" + encodeURIComponent(state.current) + "/export";
});

// -- closing: a wrap-up code, confirmed ----------------------------------------------------------

$("close").addEventListener("click", () => {
  const codes = state.packet.wrap_ups;
  $("wrap-ups").replaceChildren(...codes.map((code) => el("label", {class: "wrap-up"},
    el("input", {type: "radio", name: "wrap-up", value: code, "data-wrap-up": code}), " ", label("wrap_up", code))));
  $("confirm-close").disabled = true;
  $("close-question").textContent = state.packet.conversation.owner === "agent" ? t("close_question")
    : t("close_question_unanswered");
  $("close-dialog").showModal();
});
$("wrap-ups").addEventListener("change", () => { $("confirm-close").disabled = !chosenWrapUp(); });
const chosenWrapUp = () => { const c = $("wrap-ups").querySelector("input:checked"); return c ? c.value : null; };
$("cancel-close").addEventListener("click", () => $("close-dialog").close());
$("close-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const wrapUp = chosenWrapUp();
  if (!wrapUp) return;
  $("close-dialog").close();
  act("close", {wrap_up: wrapUp});
});

// -- replying --------------------------------------------------------------------------------

$("canned").addEventListener("change", () => {
  const chosen = state.packet.canned.find((c) => c.key === $("canned").value);
  if (chosen) { $("reply-text").value = chosen.text; $("reply-text").focus(); }
  $("canned").value = "";
});

async function sendReply() {
  const text = $("reply-text").value.trim();
  if (!text) return;
  $("send-reply").disabled = true;
  try {
    await api("conversations/" + encodeURIComponent(state.current) + "/reply", {body: {text}});
    $("reply-text").value = "";
  } catch (err) { showError("chat-error", err); }
  finally { $("send-reply").disabled = false; $("reply-text").focus(); }
}
$("reply-form").addEventListener("submit", (e) => { e.preventDefault(); sendReply(); });
$("reply-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) sendReply(); });
