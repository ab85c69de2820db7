"use strict";
// The queue pane: the agent's chats, the waiting chats offered to them (search, filters, sort,
// paging: GET /agent/api/queue) and the closed chats (GET /agent/api/closed). The live stream
// pushes the unfiltered first page; with a search, a filter or another page the page asks again.

const WAIT_CHOICES = [0, 5, 15, 30, 60];  // minutes
const QUEUE_SORTS = ["priority", "oldest", "newest"];
const OUTCOMES = ["closed", "handed_back", "left_queue", "abandoned"];
const queueQuery = {offset: 0};
const closedQuery = {offset: 0};
let refetching = null;

function options(select, choices, allLabel) {
  const kept = select.value;
  const all = allLabel ? [el("option", {value: "", text: allLabel})] : [];
  select.replaceChildren(...all, ...choices.map(([value, text]) => el("option", {value: String(value), text})));
  if ([...select.options].some((o) => o.value === kept)) select.value = kept;
}

function setupQueueFilters(me) {
  const languages = (me && me.role === "admin") ? CONSOLE_SETUP.languages : (me ? me.languages : []);
  options($("f-language"), languages.map((l) => [l, LANGUAGE_NAMES[l] || l]), t("filter_all_languages"));
  options($("closed-language"), languages.map((l) => [l, LANGUAGE_NAMES[l] || l]), t("filter_all_languages"));
  options($("f-reason"), CONSOLE_SETUP.reasons.map((r) => [r, label("reason", r)])
    .sort((a, b) => a[1].localeCompare(b[1])), t("filter_all_reasons"));
  options($("f-priority"), CONSOLE_SETUP.priorities.map((p) => [p, label("priority", p)]), t("filter_all_priorities"));
  options($("f-channel"), CONSOLE_SETUP.channels.map((c) => [c, label("channel", c)]), t("filter_all_channels"));
  options($("f-wait"), WAIT_CHOICES.map((m) => [m, m ? t("filter_waiting_over", {n: m}) : t("filter_any_wait")]));
  options($("f-sort"), QUEUE_SORTS.map((s) => [s, t("sort_" + s)]));
  options($("closed-outcome"), OUTCOMES.map((o) => [o, label("outcome", o)]), t("filter_all_outcomes"));
}
document.addEventListener("languagechange", () => { if (state.me) setupQueueFilters(state.me); });

function queueParams() {
  const params = new URLSearchParams();
  const fields = {q: "q", language: "f-language", reason: "f-reason", priority: "f-priority", channel: "f-channel"};
  for (const [name, id] of Object.entries(fields)) if ($(id).value.trim()) params.set(name, $(id).value.trim());
  if ($("f-wait").value && $("f-wait").value !== "0") params.set("min_wait", $("f-wait").value);
  if ($("f-sort").value && $("f-sort").value !== "priority") params.set("sort", $("f-sort").value);
  if (queueQuery.offset) params.set("offset", queueQuery.offset);
  return params;
}

// The stream's view is the unfiltered first page: used as it is unless the agent narrowed it.
function queueChanged(view) {
  noticeNewChats(view);  // console-live.js: a chat that was not there before
  if (![...queueParams().keys()].length) { renderQueue(view); return; }
  state.queue = {...(state.queue || view), mine: view.mine, snoozed: view.snoozed, available: view.available,
    waiting_total: view.waiting_total, waiting_my_languages: view.waiting_my_languages,
    waiting_other_languages: view.waiting_other_languages};
  renderQueue(state.queue);
  clearTimeout(refetching);
  refetching = setTimeout(loadQueue, 150);
}

let queueLoads = 0;  // answers can arrive out of order: only the newest request's is shown
async function loadQueue() {
  const load = ++queueLoads;
  try {
    const view = await api("queue?" + queueParams());
    if (load === queueLoads) renderQueue(view);
  } catch (err) { if (load === queueLoads) showError("queue-error", err); }
}

function queueItem(entry) {
  const item = el("button", {class: "queue-item", type: "button", "data-conversation": entry.conversation_id,
    onclick: () => openChat(entry.conversation_id)});
  if (entry.conversation_id === state.current) item.setAttribute("aria-current", "true");
  const waiting = el("span", {class: "waiting", "data-since": entry.created_at, text: duration(since(entry.created_at))});
  item.append(
    el("div", {class: "top"},
      el("span", {}, el("span", {class: "badge " + entry.priority, text: label("priority", entry.priority)}), " ",
        el("strong", {class: "reason", "data-reason": entry.reason, text: label("reason", entry.reason)})),
      waiting),
    el("div", {class: "summary", text: [LANGUAGE_NAMES[entry.language] || entry.language, label("channel", entry.channel),
      entry.summary || ""].join(" · ")}));
  // asked to be contacted later while waiting (handoff/waiting.py): the details are in the chat
  if (entry.callback_at) item.append(el("div", {class: "callback", text: t("queue_callback", {at: whenOf(entry.callback_at)})}));
  return item;
}

function renderQueue(view) {
  const focused = focusedChat();  // kept across the redraw (keyboard users: console-keys.js)
  state.queue = view;
  showError("queue-error", null);
  $("mine").replaceChildren(...view.mine.map(queueItem));
  $("no-mine").classList.toggle("hidden", view.mine.length > 0 || (view.snoozed || []).length > 0);
  renderSnoozed(view);  // console-snooze.js: the agent's snoozed chats, and those just back
  $("offered").replaceChildren(...view.offered.map(queueItem));
  const narrowed = [...queueParams().keys()].some((k) => k !== "offset");
  $("availability").textContent = !view.available ? t("queue_not_online")
    : view.offered.length ? "" : (narrowed ? t("queue_no_match") : t("queue_nobody_waiting"));
  $("others").textContent = view.waiting_other_languages ? tn("queue_other_languages", view.waiting_other_languages) : "";
  const total = view.offered_total || 0, first = view.query ? view.query.offset : 0;
  $("queue-pager").classList.toggle("hidden", total <= view.offered.length && first === 0);
  $("queue-range").textContent = t("pager_range", {from: total ? first + 1 : 0, to: first + view.offered.length, total});
  $("queue-prev").disabled = first === 0;
  $("queue-next").disabled = first + view.offered.length >= total;
  $("queue-count").textContent = view.available ? String(total) : "";
  renderPresencePrompt(view);
  afterQueue(view);  // console-live.js: unread badges and the title
  if (state.packet) setOwner(state.packet.conversation.owner);
  if (focused) refocusChat(focused);
}

// The chat of the list that has the keyboard focus, if any: [list, conversation].
function focusedChat() {
  const node = document.activeElement;
  const item = node && node.closest ? node.closest("#queue-pane .queue-item") : null;
  return item ? [item.parentElement.id, item.dataset.conversation] : null;
}

function refocusChat([list, id]) {
  const item = $(list) && $(list).querySelector(`.queue-item[data-conversation="${CSS.escape(id)}"]`);
  if (item) item.focus({preventScroll: true});
}

let typing = null;
$("q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => { queueQuery.offset = 0; loadQueue(); }, 250); });
for (const id of ["f-language", "f-reason", "f-priority", "f-channel", "f-wait", "f-sort"]) {
  $(id).addEventListener("change", () => { queueQuery.offset = 0; loadQueue(); });
}
$("queue-filters").addEventListener("submit", (e) => { e.preventDefault(); queueQuery.offset = 0; loadQueue(); });
$("queue-prev").addEventListener("click", () => { queueQuery.offset = Math.max(0, queueQuery.offset - pageSize()); loadQueue(); });
$("queue-next").addEventListener("click", () => { queueQuery.offset += pageSize(); loadQueue(); });
const pageSize = () => (state.queue && state.queue.query ? state.queue.query.limit : 25);

// -- waiting / closed ------------------------------------------------------------------------

for (const tab of document.querySelectorAll("[data-queue-view]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-queue-view]")) {
      other.setAttribute("aria-selected", String(other === tab));
      $(other.dataset.queueView).classList.toggle("hidden", other !== tab);
    }
    if (tab.dataset.queueView === "closed-view") loadClosed();
  });
}

function closedParams() {
  const params = new URLSearchParams();
  if ($("closed-q").value.trim()) params.set("q", $("closed-q").value.trim());
  if ($("closed-language").value) params.set("language", $("closed-language").value);
  if ($("closed-outcome").value) params.set("outcome", $("closed-outcome").value);
  if ($("closed-mine").checked) params.set("mine", "1");
  if (closedQuery.offset) params.set("offset", closedQuery.offset);
  return params;
}

async function loadClosed() {
  showError("queue-error", null);
  try { renderClosed(await api("closed?" + closedParams())); } catch (err) { showError("queue-error", err); }
}

function closedItem(entry) {
  const item = el("button", {class: "queue-item closed-item", type: "button", "data-conversation": entry.conversation_id,
    onclick: () => openChat(entry.conversation_id)});
  if (entry.conversation_id === state.current) item.setAttribute("aria-current", "true");
  const outcome = label("outcome", entry.outcome) + (entry.wrap_up ? " · " + label("wrap_up", entry.wrap_up) : "");
  item.append(
    el("div", {class: "top"},
      el("span", {}, el("strong", {class: "reason", text: label("reason", entry.reason)}), " ",
        el("span", {class: "outcome", text: outcome})),
      el("span", {class: "ended", text: shortDateTimeOf(entry.ended_at)})),
    el("div", {class: "summary", text: [LANGUAGE_NAMES[entry.language] || entry.language, label("channel", entry.channel),
      entry.claimed_by || t("closed_nobody"), entry.summary || ""].join(" · ")}));
  return item;
}

function renderClosed(view) {
  state.closed = view;
  $("closed").replaceChildren(...view.items.map(closedItem));
  $("closed-empty").classList.toggle("hidden", view.items.length > 0);
  const first = view.query.offset;
  $("closed-range").textContent = t("pager_range", {from: view.total ? first + 1 : 0, to: first + view.items.length, total: view.total});
  $("closed-prev").disabled = first === 0;
  $("closed-next").disabled = first + view.items.length >= view.total;
}

let closedTyping = null;
$("closed-q").addEventListener("input", () => {
  clearTimeout(closedTyping);
  closedTyping = setTimeout(() => { closedQuery.offset = 0; loadClosed(); }, 250);
});
for (const id of ["closed-language", "closed-outcome", "closed-mine"]) {
  $(id).addEventListener("change", () => { closedQuery.offset = 0; loadClosed(); });
}
$("closed-filters").addEventListener("submit", (e) => { e.preventDefault(); closedQuery.offset = 0; loadClosed(); });
$("closed-prev").addEventListener("click", () => { closedQuery.offset = Math.max(0, closedQuery.offset - 25); loadClosed(); });
$("closed-next").addEventListener("click", () => { closedQuery.offset += 25; loadClosed(); });
