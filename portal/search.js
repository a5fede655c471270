// Search by photo: upload a photo, follow the search, list the cases it resembles.
"use strict";

startAgencyPage(() => $("search-form").addEventListener("submit", search));

async function search(event) {
  event.preventDefault();
  const file = $("search-file").files[0];
  if (!file) return;
  const button = $("search-form").querySelector("button[type=submit]");
  button.disabled = true;
  $("candidates").hidden = true;
  $("candidates").querySelector("tbody").replaceChildren();
  setProgress($("search-progress"), 0);
  try {
    const ticket = await api("POST", "/searches", { content_type: photoType(file) });
    showStatus($("search-status"), "Uploading...");
    await uploadFile(ticket, file, (p) => setProgress($("search-progress"), p));
    showStatus($("search-status"), "Searching...");
    show(await follow(ticket.search_id));
  } catch (error) {
    showError($("search-status"), error);
  } finally {
    button.disabled = false;
  }
}

async function follow(searchId) {
  for (let i = 0; i < 90; i++) {
    const result = await api("GET", "/searches/" + encodeURIComponent(searchId));
    if (!["pending", "received"].includes(result.status)) return result;
    await sleep(2000);
  }
  throw new Error("The search is taking longer than usual; try again later.");
}

function show(result) {
  if (result.status !== "done") {
    showStatus($("search-status"), `The search ${result.status}` + (result.reason ? `: ${result.reason}` : "."), true);
    return;
  }
  const found = result.candidates;
  $("candidates").querySelector("tbody").replaceChildren(...found.map((c) => row({ "data-case-id": c.case_id }, {
    Person: el("a", { href: "case.html?id=" + encodeURIComponent(c.case_id), text: c.person_name || c.case_id }),
    Score: c.score.toFixed(3), "Face in the photo": `#${c.face_index + 1}`,
  })));
  $("candidates").hidden = found.length === 0;
  showStatus($("search-status"), found.length
    ? `${result.faces} face(s) searched; ${found.length} case(s) resemble them, best first. A resemblance is not an identification.`
    : `${result.faces ?? 0} face(s) searched; no case resembles ${result.faces === 1 ? "it" : "them"}` +
      (result.reason ? ` (${result.reason})` : "") + ".");
}
