// Upload a clip: ask POST /footage/upload for a ticket, send the file (one presigned POST, or presigned PUTs of
// its parts and then POST /footage/{id}/complete), then open the clip's page to follow it.
"use strict";

startAgencyPage(() => {
  $("clip-form").addEventListener("submit", uploadClip);
});

async function uploadClip(event) {
  event.preventDefault();
  const file = $("clip-file").files[0];
  if (!file) return;
  const contentType = videoType(file);
  if (!contentType) {
    showStatus($("upload-status"), "Choose an MP4, MOV, MKV, AVI or MJPEG file.", true);
    $("clip-file").focus();
    return;
  }
  // The input is local time without a zone; the API wants an instant.
  const body = { content_type: contentType, size_bytes: file.size,
                 started_at: new Date($("started-at").value).toISOString() };
  if ($("clip-place").value.trim()) body.place = $("clip-place").value.trim();
  const button = $("send-clip");
  button.disabled = true;
  showBytes(0, file.size);
  showStatus($("upload-status"), "Preparing the upload...");
  try {
    const ticket = await api("POST", "/footage/upload", body);
    showStatus($("upload-status"), "Uploading...");
    if (ticket.method === "multipart") {
      const parts = await uploadParts(ticket, file, showBytes);
      showStatus($("upload-status"), "Finishing the upload...");
      await api("POST", `/footage/${encodeURIComponent(ticket.clip_id)}/complete`, { upload_id: ticket.upload_id, parts });
    } else {
      await uploadFile(ticket, file, (percent) => showBytes(Math.round((file.size * percent) / 100), file.size));
    }
    showBytes(file.size, file.size);
    showStatus($("upload-status"), "Uploaded. Opening the clip's page...");
    location.assign("footage.html?id=" + encodeURIComponent(ticket.clip_id));
  } catch (error) {
    showError($("upload-status"), error);
    button.disabled = false;
  }
}

// The progress bar counts bytes; the line under it says how many of how many.
function showBytes(sent, total) {
  const bar = $("upload-progress");
  bar.max = total || 1;
  bar.value = sent;
  bar.textContent = `${megabytes(sent)} of ${megabytes(total)}`;
  $("upload-bytes").textContent = `${megabytes(sent)} of ${megabytes(total)} sent`;
}
