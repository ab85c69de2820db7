"use strict";
// The console page's frame: log-in and out, the agent's language and presence, the sections'
// tabs and the live stream. The queue, the open chat, notes, metrics and admin screens are in
// console-*.js next to this file; they share `state`. Customer text is only ever put on the page
// with textContent (el(..., {text}) in dom.js): nothing here parses HTML.

const state = {me: null, csrf: "", current: null, packet: null, lastId: 0, source: null, queue: null};
const LANGUAGE_NAMES = {nl: "Nederlands", fr: "Français", en: "English"};
const PROMPT_DISMISSED = "console-stay-offline";  // sessionStorage: the agent chose to stay offline

// api() is in dom.js; connectionLost() in console-connection.js
setupApi({csrf: () => state.csrf, unauthorized: () => showLogin(), unavailable: () => connectionLost()});

function showError(id, err) {
  $(id).textContent = err ? errorText(err) : "";
}

function showLogin() {
  if (state.source) state.source.close();
  state.me = null;
  setLanguage(null);
  $("app").classList.add("hidden");
  $("login").classList.remove("hidden");
  $("username").focus();
}

function showApp(me) {
  state.me = me; state.csrf = me.csrf;
  setLanguage(me.ui_language);
  $("login").classList.add("hidden");
  $("app").classList.remove("hidden");
  $("agent-name").textContent = me.display_name + " (" + me.languages.join(", ") + ")";
  $("ui-language").value = me.ui_language || "";
  $("presence").value = me.presence;
  $("tab-admin").classList.toggle("hidden", me.role !== "admin");
  $("insights-link").classList.toggle("hidden", me.role !== "admin");
  setupQueueFilters(me);
  connect();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  showError("login-error", null);
  try {
    const me = await api("login", {body: {username: $("username").value, password: $("password").value}});
    $("password").value = "";
    sessionStorage.removeItem(PROMPT_DISMISSED);  // a new log-in asks again
    showApp(me);
  } catch (err) { showError("login-error", err); }
});

$("logout").addEventListener("click", async () => {
  try { await api("logout", {body: {}}); } finally { showLogin(); }
});

async function setPresence(presence) {
  try {
    const me = await api("presence", {body: {presence}});
    state.me = {...state.me, ...me};
    $("presence").value = me.presence;
  } catch (err) { showError("chat-error", err); }
}
$("presence").addEventListener("change", () => setPresence($("presence").value));

$("ui-language").addEventListener("change", async () => {
  const choice = $("ui-language").value || null;
  try {
    const me = await api("preferences", {body: {ui_language: choice}});
    state.me = {...state.me, ...me};
    setLanguage(me.ui_language);
  } catch (err) { showError("chat-error", err); }
});

// An agent who is not online is asked, with what waits for them, instead of a silent empty queue.
function renderPresencePrompt(view) {
  const ask = !view.available && sessionStorage.getItem(PROMPT_DISMISSED) !== "1";
  $("presence-prompt").classList.toggle("hidden", !ask);
  if (ask) $("presence-prompt-text").textContent = tn("presence_prompt", view.waiting_my_languages);
}
$("go-online").addEventListener("click", () => setPresence("online"));
$("stay-offline").addEventListener("click", () => {
  sessionStorage.setItem(PROMPT_DISMISSED, "1");
  $("presence-prompt").classList.add("hidden");
});

function connect() {
  if (state.source) state.source.close();
  const params = new URLSearchParams();
  if (state.current) { params.set("conversation", state.current); params.set("after", state.lastId); }
  const source = new EventSource("/agent/api/stream?" + params);
  state.source = source;
  watchStream(source);  // console-connection.js: reopened after the database was away
  source.addEventListener(EVENTS.QUEUE, (e) => queueChanged(JSON.parse(e.data)));
  source.addEventListener(EVENTS.MESSAGE, (e) => { const m = JSON.parse(e.data); addEntry(m); liveEntry(m); });
  source.addEventListener(EVENTS.TYPING, (e) => customerTyping(JSON.parse(e.data)));  // console-live.js
  source.addEventListener(EVENTS.ACTIVITY, (e) => customerWrote(JSON.parse(e.data)));
  hideTyping();
  source.addEventListener(EVENTS.OWNER, (e) => setOwner(JSON.parse(e.data).owner));
  source.addEventListener(EVENTS.LOGOUT, showLogin);
}

for (const tab of document.querySelectorAll("[role=tab][data-panel]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[role=tab][data-panel]")) {
      other.setAttribute("aria-selected", String(other === tab));
      $(other.dataset.panel).classList.toggle("hidden", other !== tab);
    }
    if (tab.id === "tab-metrics") loadMetrics();
    if (tab.id === "tab-admin") loadAdmin();
  });
}

// Waiting times tick every second; everything dated is redrawn in a new language.
setInterval(() => {
  for (const node of document.querySelectorAll("[data-since]")) node.textContent = duration(since(node.dataset.since));
}, 1000);
const since = (iso) => (Date.now() - Date.parse(iso)) / 1000;

document.addEventListener("languagechange", () => {
  if (!state.me) return;
  if (state.queue) renderQueue(state.queue);
  if (state.packet) redrawChat();
  if (!$("view-metrics").classList.contains("hidden")) loadMetrics();
  if (!$("view-admin").classList.contains("hidden")) loadAdmin();
  if (!$("closed-view").classList.contains("hidden")) loadClosed();
});

function start() {
  setLanguage(null);
  api("me").then(showApp).catch((err) => { if (!isDatabaseAway(err)) showLogin(); });  // else: retried
}
