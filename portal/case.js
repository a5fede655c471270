// One case: its details (edit), reference photos (upload, verdicts), alerts, near misses, sharing, closing and
// its audit trail. Reading the case, showing its photos and opening a near miss are audited by the API.
"use strict";

let kase = null; // the case as last read
let owned = false; // the signed-in agency owns it (else it was shared with it)

startAgencyPage(() => {
  const id = query("id");
  if (!id) {
    showStatus($("load-status"), "No case given: open one from the list of cases.", true);
    return;
  }
  $("edit-form").addEventListener("submit", saveChanges);
  $("upload-form").addEventListener("submit", uploadReference);
  $("share-form").addEventListener("submit", shareCase);
  $("close-form").addEventListener("submit", closeCase);
  $("show-audit").addEventListener("click", loadAudit);
  loadCase(id);
});

async function loadCase(id) {
  showStatus($("load-status"), "Loading the case...");
  try {
    kase = await api("GET", "/cases/" + encodeURIComponent(id));
  } catch (error) {
    // Nothing of an earlier case may stay on screen under the error.
    kase = null;
    $("case").hidden = true;
    $("case-facts").replaceChildren();
    $("photos").replaceChildren();
    showError($("load-status"), error);
    return;
  }
  showStatus($("load-status"), "");
  owned = kase.agency_id === ME.agency.id;
  renderCase();
  $("case").hidden = false;
  loadPhotos(true);
  loadAlerts();
  loadNearMisses();
}

function renderCase() {
  const open = kase.status === "open";
  document.title = `${kase.person_name} - FaceTrace`;
  $("case-title").textContent = kase.person_name;
  $("case-owner").textContent = (owned ? "Your agency's case" : "Shared with your agency by its owner") +
    (open ? "" : " (closed)") + `. Case id ${kase.id}`;
  facts($("case-facts"), {
    Status: kase.status, Age: kase.age ?? "unknown", Sex: kase.sex || "not recorded",
    "Last seen": `${kase.last_seen_place || "unknown place"}, ${formatTime(kase.last_seen_at)}`,
    Opened: formatTime(kase.created_at), Notes: kase.notes || "none",
  });
  // Only the owning agency changes a case, and only while it is open; only it reads the audit trail.
  $("edit").hidden = !(owned && open);
  $("upload-form").hidden = !(owned && open);
  $("manage").hidden = !(owned && open);
  $("audit").hidden = !owned;
  $("edit-person-name").value = kase.person_name;
  $("edit-age").value = kase.age ?? "";
  $("edit-sex").value = kase.sex || "";
  $("edit-last-seen-place").value = kase.last_seen_place || "";
  $("edit-last-seen-at").value = localInput(kase.last_seen_at);
  $("edit-notes").value = kase.notes || "";
}

// An ISO instant as a datetime-local value (the browser's local time, to the minute).
function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function saveChanges(event) {
  event.preventDefault();
  const wanted = {
    person_name: $("edit-person-name").value.trim(),
    age: $("edit-age").value.trim() === "" ? null : Number($("edit-age").value),
    sex: $("edit-sex").value.trim() || null,
    last_seen_place: $("edit-last-seen-place").value.trim() || null,
    last_seen_at: $("edit-last-seen-at").value ? new Date($("edit-last-seen-at").value).toISOString() : null,
    notes: $("edit-notes").value.trim() || null,
  };
  const changes = {};
  for (const [field, value] of Object.entries(wanted)) {
    const before = field === "last_seen_at" ? (kase.last_seen_at ? localInput(kase.last_seen_at) : null) : kase[field] ?? null;
    const after = field === "last_seen_at" ? $("edit-last-seen-at").value || null : value;
    if (before !== after) changes[field] = value;
  }
  if (!Object.keys(changes).length) {
    showStatus($("edit-status"), "Nothing changed.");
    return;
  }
  try {
    kase = await api("PATCH", "/cases/" + kase.id, changes);
    renderCase();
    showStatus($("edit-status"), `Saved: ${Object.keys(changes).join(", ")}.`);
  } catch (error) {
    showError($("edit-status"), error);
  }
}

// --- reference photos
async function loadPhotos(withLinks) {
  try {
    const photos = await api("GET", `/cases/${kase.id}/photos${withLinks ? "?urls=true" : ""}`);
    renderPhotos(photos, withLinks);
    return photos;
  } catch (error) {
    $("photos").replaceChildren();
    showError($("photos-status"), error);
    return null;
  }
}

const VERDICTS = {
  enrolled: "enrolled: searched for", refused: "refused", pending: "being checked...", rejected: "rejected",
  failed: "could not be processed",
};

function renderPhotos(photos, withLinks) {
  const previous = new Map([...$("photos").querySelectorAll("img")].map((img) => [img.dataset.photoId, img.src]));
  $("photos").replaceChildren(...photos.map((p) => {
    const src = p.url || (!withLinks && previous.get(p.id)) || null;
    const picture = src ? el("img", { src, alt: "Reference photo", "data-photo-id": p.id })
                        : el("div", { class: "no-photo", text: p.erased ? "erased" : "no picture" });
    const faces = p.face_count == null ? "" : `; ${p.usable_faces} usable of ${p.face_count} face(s)`;
    return el("li", { "data-photo-id": p.id, class: "verdict-" + p.verdict },
      el("figure", {}, picture, el("figcaption", {},
        el("strong", { text: VERDICTS[p.verdict] || p.verdict }), faces,
        p.reason ? el("span", { class: "reason", text: ` (${p.reason})` }) : null)));
  }));
  showStatus($("photos-status"), photos.length ? `${photos.length} reference photo(s).` :
    "No reference photo yet: sightings cannot be matched until one is enrolled.", photos.length === 0);
}

async function uploadReference(event) {
  event.preventDefault();
  const file = $("photo-file").files[0];
  if (!file) return;
  const button = $("upload-form").querySelector("button[type=submit]");
  button.disabled = true;
  setProgress($("upload-progress"), 0);
  showStatus($("upload-status"), "Preparing the upload...");
  try {
    const ticket = await api("POST", `/cases/${kase.id}/photos`, { content_type: photoType(file) });
    showStatus($("upload-status"), "Uploading...");
    await uploadFile(ticket, file, (p) => setProgress($("upload-progress"), p));
    showStatus($("upload-status"), "Uploaded; checking the photo's faces...");
    $("photo-file").value = "";
    const verdict = await awaitVerdict(ticket.receipt_id);
    showStatus($("upload-status"), verdict ? `The photo is ${verdict.verdict}` + (verdict.reason ? `: ${verdict.reason}` : ".")
                                          : "The photo is still being checked; its verdict will appear here.",
               verdict && verdict.verdict !== "enrolled");
    await loadPhotos(true);
  } catch (error) {
    showError($("upload-status"), error);
  } finally {
    button.disabled = false;
  }
}

// Follow the new photo until it has a verdict (no photo links while waiting: nobody is shown anything).
async function awaitVerdict(photoId) {
  for (let i = 0; i < 90; i++) {
    const photos = await loadPhotos(false);
    const mine = photos && photos.find((p) => p.id === photoId);
    if (mine && mine.verdict !== "pending") return mine;
    await sleep(2000);
  }
  return null;
}

// --- alerts and near misses
async function loadAlerts() {
  const table = $("case-alerts");
  try {
    const alerts = await api("GET", "/alerts?case_id=" + kase.id);
    table.querySelector("tbody").replaceChildren(...alerts.map((a) => row({ "data-alert-id": a.id }, {
      Raised: formatTime(a.created_at), Score: a.score.toFixed(3), Status: a.status,
      Action: el("a", { class: "button", href: "alert.html?id=" + encodeURIComponent(a.id) }, "Review",
                 el("span", { class: "visually-hidden", text: ` the alert raised ${formatTime(a.created_at)}` })),
    })));
    table.hidden = alerts.length === 0;
    showStatus($("alerts-status"), alerts.length ? `${alerts.length} alert(s).` : "No alert for this case yet.");
  } catch (error) {
    table.hidden = true;
    showError($("alerts-status"), error);
  }
}

async function loadNearMisses() {
  const table = $("near-misses");
  try {
    const misses = await api("GET", `/cases/${kase.id}/near-misses`);
    table.querySelector("tbody").replaceChildren(...misses.map((m) => row({ "data-face-id": m.sighting_face_id }, {
      // Four decimals: a near miss is by definition close to the alert threshold (0.9576 is not 0.958).
      Score: m.score.toFixed(4), Place: m.place || "not given", Seen: m.seen_at ? formatTime(m.seen_at) : "not given",
      Action: m.erased ? "erased" : el("button", { type: "button", class: "secondary",
        onclick: () => openNearMiss(m.sighting_face_id) }, "View",
        el("span", { class: "visually-hidden", text: ` the near miss scored ${m.score.toFixed(4)}` })),
    })));
    table.hidden = misses.length === 0;
    showStatus($("near-status"), misses.length ? `${misses.length} near miss(es).` : "No near miss.");
  } catch (error) {
    table.hidden = true;
    showError($("near-status"), error);
  }
}

async function openNearMiss(faceId) {
  const view = $("near-view");
  try {
    const detail = await api("GET", `/cases/${kase.id}/near-misses/${faceId}`);
    const m = detail.near_miss;
    $("near-view-title").textContent = `Near miss, score ${m.score.toFixed(4)}`;
    showPhoto($("near-sighting-img"), detail.face_box, detail.sighting_photo_url, $("near-facebox"));
    showPhoto($("near-reference-img"), null, detail.reference_photo_url);
    const coords = m.lat != null && m.lon != null ? `${m.lat}, ${m.lon}` : "not given";
    facts($("near-facts"), { Place: m.place || "not given", Coordinates: coords, "Seen at": formatTime(m.seen_at),
                             Matched: formatTime(m.matched_at) });
    view.hidden = false;
    view.scrollIntoView();
  } catch (error) {
    view.hidden = true;
    showError($("near-status"), error);
  }
}

// --- sharing, closing, audit
async function shareCase(event) {
  event.preventDefault();
  const agency = $("share-agency").value.trim();
  try {
    const share = await api("POST", `/cases/${kase.id}/shares`, { agency_id: agency });
    showStatus($("share-status"), share.new ? `Shared with agency ${agency}.` : `Already shared with agency ${agency}.`);
    $("share-agency").value = "";
  } catch (error) {
    showError($("share-status"), error);
  }
}

async function closeCase(event) {
  event.preventDefault();
  try {
    kase = await api("POST", `/cases/${kase.id}/close`, { reason: $("close-reason").value.trim() });
    renderCase();
    showStatus($("close-status"), "The case is closed: its reference faces no longer match anything.");
  } catch (error) {
    showError($("close-status"), error);
  }
}

async function loadAudit() {
  const table = $("audit-trail");
  try {
    const trail = await api("GET", `/cases/${kase.id}/audit`);
    table.querySelector("tbody").replaceChildren(...trail.map((e) => row({}, {
      When: formatTime(e.at), Action: e.action, Who: `${e.user_sub} (${e.agency_id === ME.agency.id ? "your agency" : e.agency_id})`,
      About: [e.alert_id ? `alert ${e.alert_id}` : null, ...e.object_ids].filter(Boolean).join(", ") || "-",
      Why: e.reason || "-",
    })));
    table.hidden = trail.length === 0;
    showStatus($("audit-status"), `${trail.length} entr${trail.length === 1 ? "y" : "ies"}.`);
  } catch (error) {
    table.hidden = true;
    showError($("audit-status"), error);
  }
}
