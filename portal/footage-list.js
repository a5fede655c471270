// Clips: the agency's clips (its cameras' too), newest first, a page at a time, each linking to its page.
"use strict";

let nextCursor = null;
const cameraNames = new Map();

startAgencyPage(async () => {
  $("more").addEventListener("click", () => loadClips(true));
  await loadCameras();
  loadClips(false);
});

// Camera clips name their camera; without the list they still show its id.
async function loadCameras() {
  try {
    for (const camera of await api("GET", "/cameras")) cameraNames.set(camera.id, camera.name);
  } catch (error) {
    if (handleAuthError(error)) return;
  }
}

async function loadClips(more) {
  const body = $("clips").querySelector("tbody");
  const params = new URLSearchParams({ limit: "25" });
  if (more && nextCursor) params.set("cursor", nextCursor);
  showStatus($("list-status"), "Loading...");
  try {
    const page = await api("GET", "/footage?" + params);
    if (!more) body.replaceChildren();
    body.append(...page.clips.map(clipRow));
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
    $("clips").hidden = body.children.length === 0;
    showStatus($("list-status"), body.children.length ? `${body.children.length} clip(s) shown.` : "No clips yet.");
  } catch (error) {
    body.replaceChildren();
    $("clips").hidden = true;
    $("more").hidden = true;
    showError($("list-status"), error);
  }
}

function clipRow(clip) {
  const recorded = formatTime(clip.started_at);
  const open = el("a", { class: "button secondary", href: "footage.html?id=" + encodeURIComponent(clip.clip_id) }, "Open",
                  el("span", { class: "visually-hidden", text: ` the clip recorded ${recorded}` }));
  const source = clip.camera_id ? `camera ${cameraNames.get(clip.camera_id) || clip.camera_id}` : "your agency";
  const status = clip.status + (clip.reason ? `: ${clip.reason}` : "") + (clip.erased ? " (video erased)" : "");
  return row({ "data-clip-id": clip.clip_id }, {
    Recorded: recorded, Place: clip.place || "not given", Source: source, Status: status,
    Appearances: clip.appearances, Action: open,
  });
}
