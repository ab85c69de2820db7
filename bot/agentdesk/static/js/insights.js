"use strict";
// The traffic-insights page (bot/agentdesk/insights_api.py), in the agent's language (i18n.js).
// Customer text is only ever put on the page with textContent: nothing here parses HTML.
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#7b2ff7", "#0ea5e9", "#f59e0b", "#dc2626", "#6b7280", "#10b981", "#ec4899", "#84cc16", "#8b5cf6", "#14b8a6"];
const ITEMS_SHOWN = 8;
const STATUSES = ["new", "needs_content", "dismissed", "assigned"];
const state = {csrf: "", intents: [], topics: [], trends: null, groups: null, me: null};

// api() is in dom.js; the export's download asks it for the raw response
setupApi({csrf: () => state.csrf, unauthorized: () => gate(t("insights_session_ended"))});

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function gate(message) {
  $("app").classList.add("hidden");
  $("gate").classList.remove("hidden");
  $("gate-text").textContent = message;
}

const topicName = (topic) => label("topic", topic);

function say(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", isError);
}

function filterOptions() {
  for (const id of ["u-language", "t-language"]) {
    const kept = $(id).value;
    $(id).replaceChildren(el("option", {value: "", text: t("filter_all_languages")}),
      ...CONSOLE_SETUP.languages.map((l) => el("option", {value: l, text: l})));
    $(id).value = kept;
  }
  const status = $("u-status").value || "new";
  $("u-status").replaceChildren(...STATUSES.map((s) => el("option", {value: s, text: t("insights_status_" + s)})));
  $("u-status").value = status;
  const channel = $("t-channel").value;
  $("t-channel").replaceChildren(el("option", {value: "", text: t("filter_all_channels")}),
    ...CONSOLE_SETUP.channels.map((c) => el("option", {value: c, text: label("channel", c)})));
  $("t-channel").value = channel;
}

// -- not understood -----------------------------------------------------------------------------

async function loadGroups() {
  const params = new URLSearchParams({days: $("u-days").value, language: $("u-language").value, status: $("u-status").value || "new"});
  say("unhandled-status", t("insights_loading"));
  try {
    const data = await api("insights/unhandled?" + params);
    state.intents = data.intents;
    state.groups = data.groups;
    renderGroups(data.groups);
  } catch (err) { say("unhandled-status", errorText(err), true); }
}

function renderGroups(groups) {
  const messages = groups.reduce((n, g) => n + g.items.length, 0);
  say("unhandled-status", groups.length ? t("insights_to_look_at", {groups: tn("insights_groups", groups.length),
    messages: tn("insights_messages", messages)}) : t("insights_nothing_left"));
  $("groups").replaceChildren(...groups.map(groupCard));
}

// The model's guess is shown; it is chosen in advance only when the model was sure enough
// (preselect, bot/insights/model.py): otherwise one click on Assign would teach it its own mistake.
function guessNote(group, select) {
  if (!group.suggestion || !state.intents.includes(group.suggestion)) return null;
  const sure = group.suggestion_confidence == null ? "" : " (" + percent(group.suggestion_confidence) + ")";
  const use = el("button", {type: "button", class: "more use-guess", text: t("insights_use_guess")});
  use.addEventListener("click", () => { select.value = group.suggestion; select.dispatchEvent(new Event("change")); });
  return el("p", {class: "note guess"}, t("insights_guess", {intent: group.suggestion}) + sure + " ",
    group.preselect ? "" : use);
}

function itemMeta(item) {
  const bits = [label("channel", item.channel), shortDateTimeOf(item.created_at), label("insights_reason", item.reason)];
  if (item.intent) bits.push(t("insights_bot_said", {intent: item.intent}) + (item.confidence != null ? " " + percent(item.confidence) : ""));
  return bits.join(" · ");
}

function groupCard(group) {
  const id = "g-" + group.key.replace(/[^A-Za-z0-9_-]/g, "_");
  const reasons = Object.entries(group.reasons).sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => el("li", {class: reason, text: label("insights_reason", reason) + " · " + n}));
  const list = el("ul", {class: "items", "aria-label": t("insights_messages_label")});
  const boxes = [];
  group.items.forEach((item, i) => {
    const box = el("input", {type: "checkbox", value: String(item.id), "data-item": String(item.id)});
    box.checked = true;
    boxes.push(box);
    const row = el("li", {}, el("label", {}, box, el("span", {class: "msg", text: item.text}),
      el("span", {class: "meta", text: itemMeta(item)})));
    if (i >= ITEMS_SHOWN) row.classList.add("hidden", "extra");
    list.append(row);
  });
  const card = el("article", {class: "group", id, "data-key": group.key, "data-language": group.language, "aria-labelledby": id + "-title"});
  const all = el("input", {type: "checkbox", "aria-label": t("insights_select_all")});
  all.checked = true;
  all.addEventListener("change", () => { for (const b of boxes) b.checked = all.checked; sync(); });
  const select = el("select", {id: id + "-intent", class: "intent"},
    el("option", {value: "", text: t("insights_choose_intent")}), ...state.intents.map((name) => el("option", {value: name, text: name})));
  if (group.preselect && state.intents.includes(group.suggestion)) select.value = group.suggestion;
  const assign = el("button", {type: "button", class: "btn primary assign"});
  const needs = el("button", {type: "button", class: "btn needs-content"});
  const dismiss = el("button", {type: "button", class: "btn dismiss"});
  const reopen = el("button", {type: "button", class: "btn reopen"});
  const error = el("p", {class: "group-error error", role: "alert"});
  const chosen = () => boxes.filter((b) => b.checked).map((b) => Number(b.value));
  function sync() {
    const n = chosen().length;
    all.checked = n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    assign.disabled = !n || !select.value;
    needs.disabled = dismiss.disabled = reopen.disabled = !n;
    assign.textContent = t("insights_assign", {n});
    needs.textContent = t("insights_needs_content", {n});
    dismiss.textContent = t("insights_dismiss", {n});
    reopen.textContent = t("insights_reopen", {n});
  }
  for (const b of boxes) b.addEventListener("change", sync);
  select.addEventListener("change", sync);
  assign.addEventListener("click", () => change(card, error, "assign", {ids: chosen(), intent: select.value}));
  needs.addEventListener("click", () => change(card, error, "needs-content", {ids: chosen()}));
  dismiss.addEventListener("click", () => change(card, error, "dismiss", {ids: chosen()}));
  reopen.addEventListener("click", () => change(card, error, "reopen", {ids: chosen()}));
  const head = el("div", {class: "group-head"},
    el("span", {class: "lang " + group.language, text: group.language}),
    el("h3", {id: id + "-title", text: group.label}),
    el("span", {class: "size", text: tn("insights_messages", group.items.length)}));
  card.append(head, el("ul", {class: "reasons", "aria-label": t("insights_why")}, ...reasons),
    el("label", {class: "note"}, all, " " + t("insights_all_of_them")), list);
  if (group.items.length > ITEMS_SHOWN) {
    const more = el("button", {type: "button", class: "more", text: t("insights_show_all", {n: group.items.length})});
    more.addEventListener("click", () => {
      for (const row of list.querySelectorAll(".extra")) row.classList.remove("hidden");
      more.remove();
    });
    card.append(more);
  }
  const status = $("u-status").value || "new";
  const actions = status === "new" || status === "assigned"
    ? [el("label", {for: select.id}, t("insights_intent"), select), assign, needs, dismiss] : [reopen];
  const guess = status === "new" ? guessNote(group, select) : null;
  card.append(...(guess ? [guess] : []), el("div", {class: "group-actions"}, ...actions), error);
  sync();
  return card;
}

const DONE = {assign: "insights_assigned", dismiss: "insights_dismissed", "needs-content": "insights_marked_needs_content",
  reopen: "insights_reopened"};

async function change(card, error, action, body) {
  error.textContent = "";
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  try {
    const result = await api("insights/" + action, {body});
    say("unhandled-status", t(DONE[action], {messages: tn("insights_messages", result.changed), intent: body.intent || ""}));
    const status = $("unhandled-status").textContent;
    await loadGroups();
    say("unhandled-status", status + " " + $("unhandled-status").textContent);
  } catch (err) {
    error.textContent = errorText(err);
    for (const b of card.querySelectorAll("button")) b.disabled = false;
  }
}

$("unhandled-filters").addEventListener("submit", (e) => { e.preventDefault(); loadGroups(); });
for (const id of ["u-language", "u-days", "u-status"]) $(id).addEventListener("change", loadGroups);

// -- export ------------------------------------------------------------------------------------

function exportButtons() {
  $("export-buttons").replaceChildren(...CONSOLE_SETUP.languages.flatMap((language) => [
    el("button", {type: "button", class: "btn primary", id: "export-" + language, text: t("insights_download", {language}),
      onclick: () => exportLanguage(language, true)}),
    el("button", {type: "button", class: "btn", id: "preview-" + language, text: t("insights_preview", {language}),
      onclick: () => exportLanguage(language, false)})]));
}

async function exportLanguage(language, download) {
  say("export-status", "");
  $("export-preview").classList.add("hidden");
  try {
    // a POST with the CSRF token (api() adds it): exporting marks the messages exported
    const res = await api("insights/export", {body: {language, mark: download}, raw: true});
    const text = await res.text();
    if (download) {
      const url = URL.createObjectURL(new Blob([text], {type: "text/yaml"}));
      const link = el("a", {href: url, download: "traffic-" + language + ".yml", class: "hidden"});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say("export-status", t("insights_downloaded", {language}));
    } else {
      $("export-preview").textContent = text;
      $("export-preview").classList.remove("hidden");
      say("export-status", t("insights_previewed", {language}));
    }
  } catch (err) {
    const nothing = err.data && err.data.error && err.data.error.code === "nothing_to_export";
    say("export-status", nothing ? t("insights_nothing_to_export", {language}) : errorText(err), !nothing);
  }
}

// -- trends ------------------------------------------------------------------------------------

const colour = (topic) => COLOURS[Math.max(0, state.topics.indexOf(topic)) % COLOURS.length];

async function loadTrends() {
  const params = new URLSearchParams({days: $("t-days").value, language: $("t-language").value, channel: $("t-channel").value});
  say("trends-status", "");
  try {
    const data = await api("insights/trends?" + params);
    state.topics = data.topics;
    for (const channel of data.channels) {
      if (![...$("t-channel").options].some((o) => o.value === channel)) $("t-channel").append(el("option", {value: channel, text: label("channel", channel)}));
    }
    drawChart(data);
    renderAlerts(data.alerts);
  } catch (err) { say("trends-status", errorText(err), true); }
}

function niceStep(max) {
  const rough = Math.max(1, max) / 5;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return Math.max(1, step);
}

function drawChart(data) {
  state.trends = data;
  const days = data.days, topics = data.topics;
  const totals = days.map((_, i) => topics.reduce((n, topic) => n + data.series[topic][i], 0));
  const step = niceStep(Math.max(...totals, 0));
  const top = step * Math.max(1, Math.ceil(Math.max(...totals, 0) / step));
  // drawn at the size it is shown, so the labels stay readable on a phone
  const W = Math.round(Math.max(300, Math.min(1100, $("chart-wrap").clientWidth || 760)));
  const H = W < 560 ? 260 : 340, left = 44, right = 8, topPad = 14, bottom = 58;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const slot = plotW / Math.max(1, days.length), barW = Math.max(4, Math.min(44, slot * 0.7));
  const y = (v) => topPad + plotH - (v / top) * plotH;
  const grand = totals.reduce((a, b) => a + b, 0);
  const chart = svg("svg", {id: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "chart-title chart-desc"});
  chart.append(svg("title", {id: "chart-title"}, t("insights_chart_title")),
    svg("desc", {id: "chart-desc"}, t("insights_chart_desc", {messages: tn("insights_messages", grand), days: tn("insights_days", days.length)})));
  for (let v = 0; v <= top; v += step) {
    chart.append(svg("line", {class: "grid", x1: left, x2: W - right, y1: y(v), y2: y(v)}),
      svg("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11}, String(v)));
  }
  chart.append(svg("line", {class: "axis", x1: left, x2: W - right, y1: y(0), y2: y(0)}),
    svg("line", {class: "axis", x1: left, x2: left, y1: topPad, y2: y(0)}));
  const every = Math.max(1, Math.ceil(26 / slot));  // a day label needs about 26 px
  days.forEach((day, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    let base = 0;
    for (const topic of topics) {
      const n = data.series[topic][i];
      if (!n) continue;
      const rect = svg("rect", {class: "bar", x: x.toFixed(1), y: y(base + n).toFixed(1), width: barW.toFixed(1),
        height: Math.max(1, y(base) - y(base + n)).toFixed(1), fill: colour(topic), "data-topic": topic, "data-day": day, "data-count": n});
      rect.append(svg("title", {}, topicName(topic) + " · " + dayOf(day) + ": " + n));
      chart.append(rect);
      base += n;
    }
    if (totals[i] && barW >= 14) chart.append(svg("text", {x: x + barW / 2, y: y(totals[i]) - 3, "text-anchor": "middle", "font-size": 10}, String(totals[i])));
    if (i % every === 0) {
      const lx = left + slot * i + slot / 2, ly = y(0) + 14;
      const slanted = slot * every < 56;
      chart.append(svg("text", {x: lx, y: ly, "text-anchor": slanted ? "end" : "middle", "font-size": 11,
        transform: slanted ? `rotate(-40 ${lx} ${ly})` : ""}, dayOf(day)));
    }
  });
  chart.append(svg("text", {x: 14, y: topPad + plotH / 2, "text-anchor": "middle", "font-size": 12,
    transform: `rotate(-90 14 ${topPad + plotH / 2})`}, t("insights_axis_messages")),
    svg("text", {x: left + plotW / 2, y: H - 4, "text-anchor": "middle", "font-size": 12}, t("insights_axis_day", {zone: I18N.zone})));
  $("chart-wrap").replaceChildren(chart);
  $("legend").replaceChildren(...topics.map((topic) => el("li", {class: data.totals[topic] ? "" : "empty", "data-topic": topic},
    el("span", {class: "swatch", style: "background:" + colour(topic)}), topicName(topic) + " (" + data.totals[topic] + ")")));
  if (!grand) say("trends-status", t("insights_no_messages"));
  const head = el("tr", {}, el("th", {text: t("insights_topic")}), ...days.map((d) => el("th", {text: dayOf(d)})), el("th", {text: t("insights_total")}));
  const rows = topics.map((topic) => el("tr", {}, el("th", {text: topicName(topic)}), ...data.series[topic].map((n) => el("td", {text: String(n)})),
    el("td", {text: String(data.totals[topic])})));
  $("trend-table").replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function renderAlerts(alerts) {
  $("alerts-empty").classList.toggle("hidden", alerts.length > 0);
  $("alerts").replaceChildren(...alerts.map((a) => {
    const minutes = Math.round((Date.parse(a.window_end) - Date.parse(a.window_start)) / 60000);
    const usual = a.baseline < 10 ? a.baseline.toFixed(1) : String(Math.round(a.baseline));
    const ratio = a.count / a.baseline;
    const times = a.baseline > 0 ? " (×" + (ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)) + ")" : "";
    return el("li", {"data-topic": a.topic},
      el("div", {class: "alert-head"}, el("strong", {text: topicName(a.topic)}),
        el("span", {text: t("insights_department", {department: a.department})}),
        el("span", {class: "ratio", text: t("insights_surge", {count: a.count, minutes, usual}) + times})),
      el("div", {class: "note", text: t("insights_window", {from: shortDateTimeOf(a.window_start), to: timeOf(a.window_end)})}),
      el("div", {class: "note", text: t("insights_top_intents", {intents: a.top_intents.length ? a.top_intents.join(", ") : "—"})}));
  }));
}

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => { if (state.trends) drawChart(state.trends); }, 150);
});
for (const id of ["t-days", "t-language", "t-channel"]) $(id).addEventListener("change", loadTrends);
$("trend-filters").addEventListener("submit", (e) => { e.preventDefault(); loadTrends(); });

document.addEventListener("languagechange", () => {
  filterOptions();
  exportButtons();
  if (state.groups) renderGroups(state.groups);
  if (state.trends) { drawChart(state.trends); renderAlerts(state.trends.alerts); }
});

// -- start -------------------------------------------------------------------------------------

async function start() {
  setLanguage(null);
  let me;
  try { me = await api("me"); } catch (err) {
    gate(err.status === 401 ? t("insights_log_in_first") : t("insights_unreachable", {error: errorText(err)}));
    return;
  }
  setLanguage(me.ui_language);
  if (me.role !== "admin") {
    gate(t("insights_admins_only"));
    $("gate-link").textContent = t("insights_back");
    return;
  }
  state.csrf = me.csrf; state.me = me;
  $("agent-name").textContent = me.display_name;
  $("gate").classList.add("hidden");
  $("app").classList.remove("hidden");
  await Promise.all([loadGroups(), loadTrends()]);
}
