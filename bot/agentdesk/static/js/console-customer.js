"use strict";
// The customer panel of the open chat (GET
// /agent/api/conversations/ID/customer, handoff/customer.py): name, customer number, plan, usage
// this month, prepaid balance, contract, the last invoices, open orders and the customer's earlier
// conversations when the customer proved who they are; otherwise only the earlier conversations of
// the same channel identity. Read-only, from the account system; the server logs every account read.
// Everything is put on the page with textContent (el(..., {text})).

state.customer = null;  // {conversation, panel} of the open chat

async function showCustomer(id) {
  state.customer = null;
  $("customer-panel").classList.add("hidden");
  try {
    const panel = await api("conversations/" + encodeURIComponent(id) + "/customer");
    if (state.current !== id) return;  // another chat was opened meanwhile
    state.customer = {conversation: id, panel};
    renderCustomer(panel);
  } catch (err) { showError("chat-error", err); }
}

const money = (amount, currency) => new Intl.NumberFormat(LOCALES[I18N.lang], {style: "currency", currency})
  .format(Number(amount));
const gigabytes = (mb) => new Intl.NumberFormat(LOCALES[I18N.lang], {maximumFractionDigits: 1}).format(mb / 1024) + " GB";
const usedOf = (used, included) => t("customer_used_of", {used, included: included === null ? t("customer_unlimited") : included});

function customerRow(key, value) {
  return [el("dt", {text: t(key)}), el("dd", {text: value})];
}

function renderCustomer(panel) {
  const box = $("customer-panel");
  if (!panel.verified) {  // no account to show; the same Telegram/Slack user's or web session's earlier chats
    if (!(panel.earlier || []).length) { box.classList.add("hidden"); return; }
    box.replaceChildren(el("summary", {text: t("customer_panel") + ": " + t("customer_not_verified")}),
      earlierList(panel.earlier));
    box.classList.remove("hidden");
    return;
  }
  const v = panel.verified, a = panel.account;
  const summary = t("customer_summary", {name: a ? a.name : "—", customer: v.customer_id, method: v.method})
    + (v.current ? "" : " · " + t("customer_expired"));
  const parts = [el("summary", {text: t("customer_panel") + ": " + summary}),
    el("p", {class: "note", text: t("customer_read_only")})];
  if (!a) parts.push(el("p", {class: "error", text: t("customer_unavailable")}));
  else parts.push(accountDetails(a), invoicesTable(a), ordersList(a));
  parts.push(earlierList(panel.earlier));
  box.replaceChildren(...parts);
  box.classList.remove("hidden");
}

function accountDetails(a) {
  const kind = label("kind", a.kind);
  const plan = a.monthly_price ? t("customer_plan_price", {plan: a.plan, kind, price: money(a.monthly_price, a.currency)})
    : t("customer_plan_value", {plan: a.plan, kind});
  const u = a.usage;
  const data = usedOf(gigabytes(u.data_used_mb), u.data_included_mb === null ? null : gigabytes(u.data_included_mb));
  const minutes = usedOf(t("customer_minutes", {n: u.minutes_used}),
    u.minutes_included === null ? null : t("customer_minutes", {n: u.minutes_included}));
  const rows = [
    ...customerRow("customer_plan", plan),
    ...customerRow("customer_number", a.msisdn),
    ...customerRow("customer_usage", t("customer_usage_value", {data, minutes, renews: dayOf(u.renews_on)})),
  ];
  if (a.prepaid) {
    rows.push(...customerRow("customer_balance", t("customer_balance_value", {balance: money(a.prepaid.balance, a.currency),
      amount: money(a.prepaid.last_topup_amount, a.currency), day: dayOf(a.prepaid.last_topup_on)})));
  }
  if (a.contract) {
    const c = a.contract;
    rows.push(...customerRow("customer_contract", c.end
      ? t("customer_contract_value", {start: dayOf(c.start, {dateStyle: "medium"}), end: dayOf(c.end, {dateStyle: "medium"}),
        fee: money(c.early_termination_fee, a.currency)})
      : t("customer_contract_open", {start: dayOf(c.start, {dateStyle: "medium"})})));
  }
  return el("dl", {}, ...rows);
}

function invoicesTable(a) {
  const title = el("h3", {text: t("customer_invoices")});
  if (!a.invoices.length) return el("div", {}, title, el("p", {class: "note", text: t("customer_no_invoices")}));
  const head = el("tr", {}, ...["customer_invoice_number", "customer_invoice_issued", "customer_invoice_due",
    "customer_invoice_total", "customer_invoice_status"].map((key) => el("th", {text: t(key)})));
  const rows = a.invoices.map((i) => el("tr", {"data-invoice": i.number},
    el("td", {text: i.number}), el("td", {text: dayOf(i.issued_on)}), el("td", {text: dayOf(i.due_on)}),
    el("td", {class: "amount", text: money(i.total, a.currency)}),
    el("td", {text: i.paid_on ? t("customer_paid_on", {day: dayOf(i.paid_on)}) : label("invoice_status", i.status)})));
  return el("div", {}, title, el("table", {class: "customer-invoices"}, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function ordersList(a) {
  const title = el("h3", {text: t("customer_orders")});
  if (!a.orders.length) return el("div", {}, title, el("p", {class: "note", text: t("customer_no_orders")}));
  const items = a.orders.map((o) => el("li", {text: t("customer_order", {kind: label("order_kind", o.kind),
    status: label("order_status", o.status), ordered: dayOf(o.ordered_on), expected: o.expected_on ? dayOf(o.expected_on) : "—"})
    + (o.tracking ? " · " + t("customer_tracking", {tracking: o.tracking}) : "")}));
  return el("div", {}, title, el("ul", {}, ...items));
}

function earlierList(earlier) {
  const title = el("h3", {text: t("customer_earlier")});
  if (!earlier.length) return el("div", {}, title, el("p", {class: "note", text: t("customer_no_earlier")}));
  const items = earlier.map((c) => {
    const text = t("customer_earlier_item", {date: dateTimeOf(c.started_at), channel: label("channel", c.channel),
      status: label("owner", c.status)}) + " · " + (c.handoff_reason ? label("reason", c.handoff_reason) : t("customer_never_handed_over"));
    if (!c.handoff_reason) return el("li", {text});  // never handed over: the console cannot open it
    return el("li", {}, el("button", {type: "button", class: "link", "data-conversation": c.conversation_id, text,
      onclick: () => openChat(c.conversation_id)}));
  });
  return el("div", {}, title, el("ul", {class: "customer-earlier"}, ...items));
}

document.addEventListener("languagechange", () => { if (state.customer) renderCustomer(state.customer.panel); });
