// Citizen page: ask the API for an upload ticket, POST the photo straight to S3, then follow the receipt.
"use strict";

const form = document.getElementById("sighting-form");
const progress = document.getElementById("progress");
const uploadStatus = document.getElementById("upload-status");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("photo").files[0];
  if (!file) return showStatus(uploadStatus, "Choose a photo first.", true);
  const send = document.getElementById("send");
  send.disabled = true;
  try {
    const ticket = await api("POST", "/sightings/upload", details(file));
    if (file.size > ticket.max_bytes) throw new Error(`The photo is larger than ${ticket.max_bytes} bytes.`);
    showStatus(uploadStatus, "Uploading...");
    await upload(ticket, file);
    showStatus(uploadStatus, "Photo sent. Thank you.");
    showReceipt(ticket.receipt_id);
  } catch (error) {
    showStatus(uploadStatus, error.message, true);
  } finally {
    send.disabled = false;
  }
});

function details(file) {
  const body = { content_type: file.type || "image/jpeg" };
  const place = document.getElementById("place").value.trim();
  const takenAt = document.getElementById("taken-at").value;
  if (place) body.place = place;
  if (takenAt) body.taken_at = new Date(takenAt).toISOString(); // the input is local time without a zone
  return body;
}

// XMLHttpRequest rather than fetch: only it reports upload progress.
function upload(ticket, file) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(ticket.fields)) data.append(name, value);
    data.append("file", file); // S3 ignores every field after "file", so it goes last
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ticket.url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) setProgress(Math.round((100 * e.loaded) / e.total));
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) { setProgress(100); resolve(); }
      else reject(new Error(`The upload was refused (${xhr.status}).`));
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed: check the connection and retry.")));
    xhr.send(data);
  });
}

function setProgress(percent) {
  progress.value = percent;
  progress.textContent = percent + "%";
}

// The photo is checked and searched in the background; poll until the receipt leaves "pending".
async function showReceipt(receiptId) {
  document.getElementById("receipt-section").hidden = false;
  document.getElementById("receipt-id").textContent = receiptId;
  const statusNode = document.getElementById("receipt-status");
  for (let i = 0; i < 90; i++) {
    try {
      const receipt = await api("GET", "/receipts/" + receiptId);
      statusNode.textContent = receipt.status;
      document.getElementById("receipt-reason").textContent = receipt.reason ? `(${receipt.reason})` : "";
      if (!["pending", "received"].includes(receipt.status)) return; // both mean "still being checked"
    } catch (error) {
      statusNode.textContent = "unknown (" + error.message + ")";
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
