// One clip: its status (and why, when it was refused), how far the search has got (parts, frames, faces found)
// and each appearance of a person, with its time in the clip and on the clock and the alerts it raised.
// While the clip is being searched the page asks again every 5 seconds; each reading is audited by the API.
"use strict";

const POLL_MS = 5000;
const PENDING_POLLS = 60; // 5 minutes without an upload: stop asking, say so
const STATE_TEXT = {
  pending: "Waiting for the upload to arrive", received: "Being searched", processed: "Searched",
  rejected: "Not accepted", duplicate: "Already uploaded before", failed: "Could not be processed",
};

let clipId = null;
let pendingPolls = 0;
let timer = null;

startAgencyPage(() => {
  clipId = query("id");
  if (!clipId) {
    showStatus($("load-status"), "No clip given: open one from the list of clips.", true);
    return;
  }
  loadClip();
});

async function loadClip() {
  clearTimeout(timer);
  let clip;
  try {
    clip = await api("GET", "/footage/" + encodeURIComponent(clipId));
  } catch (error) {
    // Nothing of an earlier reading may stay on screen under the error; a passing outage is retried.
    $("clip").hidden = true;
    $("clip-facts").replaceChildren();
    $("appearances").querySelector("tbody").replaceChildren();
    showError($("load-status"), error);
    if (error.status === 503 || error.status === 0) timer = setTimeout(loadClip, POLL_MS);
    return;
  }
  showStatus($("load-status"), "");
  render(clip);
  pendingPolls = clip.status === "pending" ? pendingPolls + 1 : 0;
  if (clip.status === "received" || (clip.status === "pending" && pendingPolls < PENDING_POLLS)) {
    timer = setTimeout(loadClip, POLL_MS);
  } else if (clip.status === "pending") {
    showStatus($("clip-state"), "No upload has arrived for this clip yet: reload this page later.", true);
  }
}

function render(clip) {
  const where = clip.place || "place not given";
  document.title = `Clip, ${where} - FaceTrace`;
  $("clip-title").textContent = `Clip recorded ${formatTime(clip.started_at)}, ${where}`;
  $("clip").dataset.status = clip.status;
  const state = STATE_TEXT[clip.status] || clip.status;
  const bad = ["rejected", "failed"].includes(clip.status);
  showStatus($("clip-state"), state + (clip.reason ? `: ${clip.reason}` : "."), bad);
  renderProgress(clip);
  const video = clip.codec ? `${clip.codec.toUpperCase()}, ${clip.width}x${clip.height}, ${clip.fps} frames/s` : "not read yet";
  facts($("clip-facts"), {
    Status: clip.status + (clip.failed_stage ? ` (at ${clip.failed_stage})` : ""),
    ...(clip.reason ? { Why: clip.reason } : {}),
    "Recording started": formatTime(clip.started_at), Place: clip.place || "not given",
    Source: clip.camera_id ? `camera ${clip.camera_id}` : "uploaded by your agency",
    Length: clip.duration_s != null ? clipTime(clip.duration_s) : "not read yet", Video: video,
    Size: clip.size_bytes != null ? megabytes(clip.size_bytes) : "not uploaded yet",
  });
  renderAppearances(clip);
  $("clip").hidden = false;
}

function renderProgress(clip) {
  const bar = $("clip-progress");
  const done = clip.status === "processed";
  bar.value = done ? 1 : clip.progress;
  bar.textContent = `${Math.round(100 * bar.value)}%`;
  const failed = clip.parts_failed ? ` (${clip.parts_failed} failed)` : "";
  $("progress-text").textContent = clip.parts_total
    ? `Parts: ${clip.parts_done + clip.parts_failed} of ${clip.parts_total} done${failed}. ` +
      `Frames: ${clip.frames_done} of ${clip.frames_total}. Faces found: ${clip.faces_found}.`
    : (clip.status === "received" || clip.status === "pending" ? "Not split into parts yet." : "");
}

function renderAppearances(clip) {
  const body = $("appearances").querySelector("tbody");
  body.replaceChildren(...clip.appearances.map((a) => {
    const at = clipTime(a.start_s);
    const alerts = a.alert_ids.length
      ? el("ul", { class: "plain" }, ...a.alert_ids.map((id, n) => el("li", {},
          el("a", { href: "alert.html?id=" + encodeURIComponent(id) }, `Review alert ${n + 1}`,
             el("span", { class: "visually-hidden", text: ` of the appearance at ${at}` })))))
      : "no alert";
    return row({ "data-appearance": a.number, "data-sighting-id": a.sighting_id }, {
      Appearance: `#${a.number + 1}`, "In the clip": `${at} to ${clipTime(a.end_s)}`,
      When: timeRange(a.seen_from, a.seen_until), Alerts: alerts,
    });
  }));
  $("appearances").hidden = clip.appearances.length === 0;
  const searching = clip.status === "received" || clip.status === "pending";
  showStatus($("appearances-status"), clip.appearances.length
    ? `${clip.appearances.length} appearance(s).`
    : searching ? "None yet: appearances are listed once every part is searched." : "Nobody was seen in this clip.");
}
