"use strict";
// The metrics tab (GET /agent/api/metrics, handoff/metrics.py): the figures, the first-reply
// promise counting the chats still waiting past it, per-day and per-agent trends in the team's
// local days, and the breakdowns, with readable labels in the agent's language.

function card(id, title, value, detail) {
  return el("div", {class: "card", id: "metric-" + id},
    el("div", {class: "label", text: title}), el("div", {class: "value", text: value}),
    detail ? el("div", {class: "detail", text: detail}) : "");
}

function breakdown(title, counts, kind) {
  const max = Math.max(1, ...Object.values(counts));
  const rows = Object.entries(counts).map(([k, n]) => el("tr", {},
    el("td", {text: kind ? label(kind, k) : (LANGUAGE_NAMES[k] || k)}), el("td", {class: "num", text: String(n)}),
    el("td", {}, el("span", {class: "bar", style: "width:" + Math.round(160 * n / max) + "px"}))));
  if (!rows.length) rows.push(el("tr", {}, el("td", {colspan: "3", text: t("metrics_none")})));
  return el("div", {class: "breakdown"}, el("h3", {text: title}), el("table", {}, el("tbody", {}, ...rows)));
}

function table(id, title, headings, rows) {
  const head = el("tr", {}, ...headings.map((h) => el("th", {text: h})));
  const body = rows.length ? rows : [el("tr", {}, el("td", {colspan: String(headings.length), text: t("metrics_none")}))];
  return el("div", {class: "table-scroll", id}, el("h3", {text: title}), el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

const orDash = (seconds) => (seconds === null || seconds === undefined) ? "—" : duration(seconds);

// The promise counting the chats still waiting past it (handoff/metrics_trends.py), not only the answered.
function promiseCard(sla) {
  const promise = duration(sla.promise_s);
  const late = sla.answered_late + sla.ended_unanswered;
  const detail = [t("metrics_sla_late", {n: late}), t("metrics_sla_waiting", {n: sla.missed_waiting, promise})];
  return card("sla", t("metrics_within_promise", {promise}), percent(sla.rate), detail.join(" · "));
}

function dayRows(days) {
  return days.map((d) => el("tr", {"data-date": d.date},
    el("td", {text: dayOf(d.date, {weekday: "short", day: "numeric", month: "short"})}),
    el("td", {class: "num", text: String(d.escalations)}),
    el("td", {class: "num", text: percent(d.sla_rate)}),
    el("td", {class: "num", text: String(d.missed || 0)}),
    el("td", {class: "num", text: orDash(d.first_reply_p50_s)}),
    el("td", {class: "num", text: String(d.abandoned || 0)})));
}

function agentRows(agents) {
  return agents.map((a) => el("tr", {"data-agent": a.agent},
    el("td", {text: a.agent}), el("td", {class: "num", text: String(a.chats)}),
    el("td", {class: "num", text: orDash(a.first_reply_p50_s)}),
    el("td", {class: "num", text: percent(a.sla_rate)}),
    el("td", {class: "num", text: String(a.closed)}), el("td", {class: "num", text: String(a.handed_back)}),
    el("td", {class: "num", text: a.csat_average === null ? "—" : a.csat_average + " / 5 (" + a.csat_answered + ")"})));
}

async function loadMetrics() {
  const days = $("metrics-days").value;
  $("metrics-json").href = "/agent/api/metrics?days=" + days;
  showError("metrics-error", null);
  let m;
  try { m = await api("metrics?days=" + days); } catch (err) { showError("metrics-error", err); return; }
  const fr = m.first_reply, res = m.resolution, cs = m.csat, q = m.queue;
  const promise = duration(fr.promise_s);
  $("metric-cards").replaceChildren(
    card("conversations", t("metrics_conversations"), String(m.conversations)),
    card("containment", t("metrics_containment"), percent(m.containment)),
    card("escalations", t("metrics_escalations"), String(m.escalations.total)),
    card("first-reply", t("metrics_first_reply"), orDash(fr.p50_s) + " / " + orDash(fr.p90_s)),
    promiseCard(m.sla),
    card("waiting", t("metrics_waiting_now"), String(fr.waiting_now),
      fr.unanswered_over_promise ? t("metrics_over_promise", {n: fr.unanswered_over_promise, promise}) : ""),
    card("resolution", t("metrics_resolution"), orDash(res.p50_s)),
    card("abandoned", t("metrics_abandoned"), q ? String(q.abandoned) + " (" + percent(q.abandonment_rate) + ")" : "—"),
    card("left-queue", t("metrics_left_queue"), q ? q.left_queue + " / " + q.callbacks : "—"),
    card("csat", t("metrics_csat"), cs.average === null ? "—" : cs.average + " / 5", tn("metrics_csat_answers", cs.answered)));
  $("metric-tables").replaceChildren(
    table("metrics-days-table", t("metrics_per_day"), [t("metrics_day"), t("metrics_escalations"),
      t("metrics_within_promise", {promise}), t("metrics_missed"), t("metrics_first_reply_p50"), t("metrics_abandoned")],
      dayRows([...m.by_day].reverse())),
    table("metrics-agents-table", t("metrics_per_agent"), [t("metrics_agent"), t("metrics_chats"),
      t("metrics_first_reply_p50"), t("metrics_within_promise", {promise}), t("outcome_closed"), t("outcome_handed_back"),
      t("metrics_csat")], agentRows(m.by_agent || [])),
    el("div", {class: "breakdowns"},
      breakdown(t("metrics_by_reason"), m.escalations.by_reason, "reason"),
      breakdown(t("metrics_by_language"), m.escalations.by_language),
      breakdown(t("metrics_by_channel"), m.escalations.by_channel, "channel"),
      breakdown(t("metrics_by_wrap_up"), m.wrap_ups || {}, "wrap_up"),
      breakdown(t("metrics_csat_scores"), cs.distribution, "score")));
  $("metrics-zone").textContent = t("metrics_zone", {zone: I18N.zone});
}
$("metrics-days").addEventListener("change", loadMetrics);
