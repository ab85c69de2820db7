"use strict";
// Snoozing the open chat (POST /agent/api/conversations/ID/snooze, handoff/snooze.py): the agent
// puts a chat they have answered aside for 15 min, 1 h, 3 h, until tomorrow morning or until a
// time of their choosing (the team's time zone). A snoozed chat leaves "My chats" for the
// "Snoozed" section, with its wake-up time, and comes back when that time comes or when the
// customer writes: the server decides (the state is in the database), the page asks for its
// queue at the wake-up time and the stream pushes the change; a chat back by time counts as
// unread, with the same alert as a new message, until the agent opens it.

const snoozing = {timer: null, known: null};  // known: the chats snoozed in the last view drawn

const allMine = () => (state.queue ? [...state.queue.mine, ...(state.queue.snoozed || [])] : []);
const myChat = (id) => allMine().find((e) => e.conversation_id === id);
const snoozedChat = (id) => (state.queue && state.queue.snoozed || []).find((e) => e.conversation_id === id);

// A chat back because its time came, not yet opened by the agent.
function wokeUnseen(entry) {
  if (entry.woke !== "time") return false;
  if (entry.conversation_id === state.current) { markWakeSeen(entry.conversation_id, entry.snoozed_until); return false; }
  return live.seen["wake:" + entry.conversation_id] !== entry.snoozed_until;
}

function snoozedItem(entry) {
  const item = queueItem(entry);  // console-queue.js
  item.querySelector(".waiting").remove();
  item.querySelector(".top").append(el("span", {class: "snoozed-until", "data-until": entry.snoozed_until,
    text: t("snooze_until", {time: whenOf(entry.snoozed_until)})}));
  return item;
}

// Called by renderQueue: the snoozed section, the "snooze over" marks, alerts and the next wake-up.
function renderSnoozed(view) {
  const snoozed = view.snoozed || [];
  $("snoozed").replaceChildren(...snoozed.map(snoozedItem));
  $("snoozed-section").classList.toggle("hidden", snoozed.length === 0);
  $("snoozed-count").textContent = snoozed.length ? String(snoozed.length) : "";
  for (const entry of view.mine) {
    const item = $("mine").querySelector(`.queue-item[data-conversation="${CSS.escape(entry.conversation_id)}"]`);
    if (item && wokeUnseen(entry)) item.querySelector(".top").append(el("span", {class: "woke", text: t("snooze_woke_time")}));
  }
  // back by time (a customer's message has its own alert: console-live.js, while the tab is hidden)
  const back = snoozing.known ? view.mine.filter((e) => snoozing.known.has(e.conversation_id) && e.woke === "time") : [];
  snoozing.known = new Set(snoozed.map((e) => e.conversation_id));
  if (back.length) notifyAgent(t("notify_snooze_over"));
  scheduleWake(snoozed);
  renderSnoozeState();
}

// The page asks for its queue when the first snoozed chat is due (the server decides it is back).
function scheduleWake(snoozed) {
  clearTimeout(snoozing.timer);
  if (!snoozed.length) return;
  const due = Math.min(...snoozed.map((e) => Date.parse(e.snoozed_until))) - Date.now();
  const delay = due > 0 ? Math.min(due + 1000, 2147483647) : 5000;  // a clock ahead of the server's: ask again later
  snoozing.timer = setTimeout(loadQueue, delay);
}

// The open chat's snooze, under its details, with "Wake now".
function renderSnoozeState() {
  const entry = state.current ? snoozedChat(state.current) : undefined;
  $("p-snooze").classList.toggle("hidden", !entry);
  $("p-snooze-text").textContent = entry ? t("snooze_status", {time: whenOf(entry.snoozed_until)}) : "";
}

// -- the dialog ----------------------------------------------------------------------------------

const SNOOZE_DAYS = 14;  // handoff/snooze.py MAX_SNOOZE

function snoozeChoices() {
  const {presets, morning} = CONSOLE_SETUP.snooze;
  const kept = $("snooze-form").querySelector("input[name=snooze]:checked");
  $("snooze-choices").replaceChildren(...presets.map((preset) => el("label", {class: "snooze-choice"},
    el("input", {type: "radio", name: "snooze", value: preset, "data-preset": preset}),
    " ", t("snooze_preset_" + preset, {time: morning}))));
  const again = kept && $("snooze-form").querySelector(`input[name=snooze][value="${kept.value}"]`);
  (again || $("snooze-choices").querySelector("input")).checked = true;
  const day = $("snooze-day").value;
  $("snooze-day").replaceChildren(...teamDays(SNOOZE_DAYS).map((d, i) => el("option", {value: d,
    text: i === 0 ? t("snooze_today") : i === 1 ? t("snooze_tomorrow") : dayOf(d, {weekday: "short", day: "numeric", month: "short"})})));
  if (day) $("snooze-day").value = day;
  const timeLabel = t("snooze_time", {zone: CONSOLE_SETUP.time_zone});
  $("snooze-time").setAttribute("aria-label", timeLabel);
  $("snooze-time").setAttribute("title", timeLabel);
}

// The next `count` calendar days in the team's time zone, "YYYY-MM-DD", today first.
function teamDays(count) {
  const parts = new Intl.DateTimeFormat("en", {timeZone: I18N.zone, year: "numeric", month: "numeric", day: "numeric"})
    .formatToParts(new Date());
  const part = (type) => Number(parts.find((p) => p.type === type).value);
  const [year, month, day] = [part("year"), part("month"), part("day")];
  return Array.from({length: count}, (_, i) => new Date(Date.UTC(year, month - 1, day + i)).toISOString().slice(0, 10));
}

// "14:30", "9.05", "14h30" as "HH:MM"; null when it is no time of day.
function timeOfDay(text) {
  const found = /^\s*([01]?\d|2[0-3])\s*[:.hH]\s*([0-5]\d)\s*$/.exec(text);
  return found ? found[1].padStart(2, "0") + ":" + found[2] : null;
}

function openSnooze() {
  if ($("snooze").disabled || !state.current) return;
  for (const input of $("snooze-form").querySelectorAll("input[name=snooze]")) input.checked = false;
  $("snooze-day").value = "";
  $("snooze-time").value = "";
  snoozeChoices();
  showError("snooze-error", null);
  $("snooze-dialog").showModal();
  $("snooze-choices").querySelector("input").focus();
}

async function confirmSnooze() {
  const chosen = $("snooze-form").querySelector("input[name=snooze]:checked");
  if (!chosen) return;
  const custom = chosen.value === "custom", at = timeOfDay($("snooze-time").value);
  if (custom && !at) { $("snooze-error").textContent = t("snooze_time_invalid"); $("snooze-time").focus(); return; }
  const body = custom ? {until: $("snooze-day").value + "T" + at} : {preset: chosen.value};
  try {
    await api("conversations/" + encodeURIComponent(state.current) + "/snooze", {body});
  } catch (err) { showError("snooze-error", err); return; }
  $("snooze-dialog").close();
  await refreshChat();  // console-chat.js: the chat moves to "Snoozed"
}

$("snooze").addEventListener("click", openSnooze);
$("cancel-snooze").addEventListener("click", () => $("snooze-dialog").close());
for (const id of ["snooze-day", "snooze-time"]) $(id).addEventListener("input", () => { $("snooze-custom").checked = true; });
$("snooze-form").addEventListener("submit", (e) => { e.preventDefault(); confirmSnooze(); });
$("snooze-form").addEventListener("keydown", (e) => {  // Enter on a choice confirms it
  if (e.key === "Enter" && e.target.type === "radio") { e.preventDefault(); confirmSnooze(); }
});
$("unsnooze").addEventListener("click", async () => {
  showError("chat-error", null);
  try {
    await api("conversations/" + encodeURIComponent(state.current) + "/unsnooze", {body: {}});
    await refreshChat();
  } catch (err) { showError("chat-error", err); }
});
document.addEventListener("languagechange", () => { if ($("snooze-dialog").open) snoozeChoices(); });
