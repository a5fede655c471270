// Alert queue: the agency's alerts (own and shared cases) by status, each with the person's name.
"use strict";

startAgencyPage(() => {
  $("refresh").addEventListener("click", loadQueue);
  $("queue-filter").addEventListener("change", loadQueue);
  loadQueue();
});

async function loadQueue() {
  const status = $("queue-filter").value;
  const body = $("alerts").querySelector("tbody");
  showStatus($("queue-status"), "Loading...");
  try {
    const alerts = await api("GET", "/alerts" + (status ? "?status=" + status : ""));
    body.replaceChildren(...alerts.map(alertRow));
    $("alerts").hidden = alerts.length === 0;
    const what = status ? `${status} alert` : "alert";
    showStatus($("queue-status"), alerts.length ? `${alerts.length} ${what}(s).` : `No ${what}s.`);
  } catch (error) {
    // A failed refresh must not leave the previous list looking current.
    body.replaceChildren();
    $("alerts").hidden = true;
    showError($("queue-status"), error);
  }
}

function alertRow(alert) {
  const person = alert.person_name || "(case " + alert.case_id.slice(0, 8) + ")";
  const review = el("a", { class: "button", href: "alert.html?id=" + encodeURIComponent(alert.id) },
    "Review", el("span", { class: "visually-hidden", text: ` the alert for ${person}` }));
  return row({ "data-alert-id": alert.id }, {
    Raised: formatTime(alert.created_at), Person: person, Score: alert.score.toFixed(3), Status: alert.status,
    Action: review,
  });
}
