"use strict";
// The admin tab: agents, business hours and outages (bot/agentdesk/admin_routes.py).

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

async function loadAdmin() {
  showError("admin-error", null);
  let agents, outages, hours;
  try {
    [agents, outages, hours] = await Promise.all([api("agents"), api("outages"), api("hours")]);
  } catch (err) { showError("admin-error", err); return; }
  renderHours(hours);
  $("agents-table").tBodies[0].replaceChildren(...agents.map((a) => el("tr", {"data-agent": a.username},
    el("td", {text: a.username}), el("td", {text: a.display_name}), el("td", {text: label("role", a.role)}),
    el("td", {text: a.languages.join(", ")}), el("td", {text: label("presence", a.presence)}),
    el("td", {text: a.active ? t("admin_yes") : t("admin_no")}),
    el("td", {}, el("button", {type: "button", text: a.active ? t("admin_deactivate") : t("admin_activate"),
      onclick: () => adminCall("agents/" + a.id, {active: !a.active})})))));
  $("outages-table").tBodies[0].replaceChildren(...outages.map((o) => el("tr", {},
    el("td", {text: o.region}), el("td", {text: o.services}), el("td", {text: dateTimeOf(o.started_at)}),
    el("td", {text: o.expected_fix_at ? dateTimeOf(o.expected_fix_at) : "—"}),
    el("td", {}, el("button", {type: "button", text: t("admin_resolved"),
      onclick: () => adminCall("outages/" + o.id + "/resolve", {})})))));
}

function renderHours(h) {
  $("hours-state").textContent = h.open_now ? t("admin_open_now") : t("admin_closed_now");
  $("hours-table").tBodies[0].replaceChildren(...DAYS.map((day) => {
    const span = h.weekly[day];
    const name = t("day_" + day);
    const open = el("input", {type: "checkbox", id: "open-" + day, "aria-label": t("admin_day_open", {day: name})});
    open.checked = Boolean(span);
    const from = el("input", {type: "time", id: "from-" + day, value: span ? span[0] : "08:00", "aria-label": t("admin_day_from", {day: name})});
    const to = el("input", {type: "time", id: "to-" + day, value: span ? span[1] : "20:00", "aria-label": t("admin_day_to", {day: name})});
    return el("tr", {}, el("td", {text: name}), el("td", {}, open), el("td", {}, from), el("td", {}, to));
  }));
  $("holidays").value = h.holidays.join("\n");
}

$("hours-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const weekly = {};
  for (const day of DAYS) if ($("open-" + day).checked) weekly[day] = [$("from-" + day).value, $("to-" + day).value];
  const holidays = $("holidays").value.split("\n").map((x) => x.trim()).filter(Boolean);
  try { renderHours(await api("hours", {body: {weekly, holidays}})); $("admin-error").textContent = t("admin_saved"); }
  catch (err) { showError("admin-error", err); }
});

async function adminCall(path, body) {
  try { await api(path, {body}); await loadAdmin(); } catch (err) { showError("admin-error", err); }
}
$("agent-form").addEventListener("submit", (e) => {
  e.preventDefault();
  adminCall("agents", {username: $("new-username").value, display_name: $("new-name").value,
    password: $("new-password").value, languages: $("new-languages").value.split(","), role: $("new-role").value});
  $("new-password").value = "";
});
$("outage-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const hours = $("outage-hours").value ? Number($("outage-hours").value) : null;
  adminCall("outages", {region: $("outage-region").value, services: $("outage-services").value, expected_fix_hours: hours});
});
