// Alert recipients: who receives the agency's alerts, by e-mail or SMS, per case or for all, anywhere or a region.
"use strict";

const caseNames = new Map();

startAgencyPage(async () => {
  $("add-form").addEventListener("submit", add);
  await loadCases();
  load();
});

// Subscriptions name only the agency's own open cases.
async function loadCases() {
  try {
    const page = await api("GET", "/cases?status=open&limit=100");
    const own = page.cases.filter((c) => c.owned);
    own.forEach((c) => caseNames.set(c.id, c.person_name));
    $("sub-case").append(...own.map((c) => el("option", { value: c.id, text: c.person_name })));
  } catch (error) {
    showError($("add-status"), error);
  }
}

async function load() {
  const table = $("subscriptions");
  try {
    const subs = await api("GET", "/subscriptions");
    table.querySelector("tbody").replaceChildren(...subs.map((s) => row({ "data-subscription-id": s.id }, {
      Channel: s.channel === "sms" ? "SMS" : "E-mail", Address: s.address,
      Case: s.case_id ? caseNames.get(s.case_id) || s.case_id : "all cases", Region: s.region || "anywhere",
      Action: el("button", { type: "button", class: "secondary", onclick: () => remove(s) }, "Remove",
                 el("span", { class: "visually-hidden", text: ` ${s.address}` })),
    })));
    table.hidden = subs.length === 0;
    showStatus($("subs-status"), subs.length ? `${subs.length} recipient(s).`
      : "No recipient: your agency's own e-mail address receives every alert.");
  } catch (error) {
    table.hidden = true;
    showError($("subs-status"), error);
  }
}

async function add(event) {
  event.preventDefault();
  const body = { channel: $("channel").value, address: $("address").value.trim() };
  if ($("sub-case").value) body.case_id = $("sub-case").value;
  if ($("region").value.trim()) body.region = $("region").value.trim();
  try {
    await api("POST", "/subscriptions", body);
    showStatus($("add-status"), `${body.address} added.`);
    $("address").value = "";
    $("region").value = "";
    load();
  } catch (error) {
    showError($("add-status"), error);
  }
}

async function remove(subscription) {
  try {
    await api("DELETE", "/subscriptions/" + subscription.id);
    await load();
    // After the reload, which sets its own count, so the removal is what the user reads last.
    showStatus($("subs-status"), `${subscription.address} removed.`);
  } catch (error) {
    showError($("subs-status"), error);
  }
}
