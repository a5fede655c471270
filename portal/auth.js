// Agency pages: sign-in (locally the agency id; in AWS Cognito's hosted sign-in, authorization code + PKCE),
// the navigation, and the errors every page explains the same way (session expired, agency not registered).
"use strict";

const PKCE_KEY = "facetrace.pkce";
const $ = (id) => document.getElementById(id);

// The signed-in agency ({agency, user_sub}), once GET /me answered.
let ME = null;

// Show the page's workspace once signed in (and the agency registered), then call ready(me).
async function startAgencyPage(ready) {
  $("signout").addEventListener("click", signOut);
  if (!validToken()) {
    showSignIn();
    return;
  }
  try {
    ME = await api("GET", "/me");
  } catch (error) {
    if (handleAuthError(error)) return;
    showBanner(error.message);
    return;
  }
  $("who").textContent = `${ME.agency.name}`;
  $("nav").hidden = false;
  $("signin-section").hidden = true;
  $("workspace").hidden = false;
  ready(ME);
}

// A sign-in error every page handles alike; true when it was one (the page shows nothing else).
function handleAuthError(error) {
  if (error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("Your session has ended: sign in again.");
    return true;
  }
  if (error.status === 403 && error.reason === "agency not registered") {
    $("workspace").hidden = true;
    $("nav").hidden = true;
    const agency = CONFIG.auth === "dev" ? sessionStorage.getItem(TOKEN_KEY) : claims().agency;
    showBanner(`You are signed in, but your agency${agency ? ` (${agency})` : ""} is not registered in ` +
               "FaceTrace yet, so there is nothing to show. Ask your FaceTrace operator to register it (onboarding), " +
               "then sign in again.", signOutButton());
    return true;
  }
  return false;
}

// Show an API error in a status line (or, for sign-in problems, the page's banner).
function showError(node, error) {
  if (!handleAuthError(error)) showStatus(node, error.message, true);
}

function showBanner(message, ...extra) {
  const banner = $("banner");
  banner.replaceChildren(el("p", { text: message }), ...extra);
  banner.hidden = false;
}

function signOutButton() {
  return el("button", { type: "button", class: "secondary", text: "Sign out", onclick: signOut });
}

function showSignIn(message) {
  $("workspace").hidden = true;
  $("nav").hidden = true;
  const section = $("signin-section");
  const note = message ? el("p", { class: "status error", role: "alert", text: message }) : null;
  if (CONFIG.auth === "dev") {
    const form = el("form", { id: "signin-form" },
      el("label", { for: "agency-id", text: "Agency id" }),
      el("input", { id: "agency-id", type: "text", autocomplete: "off", required: true, spellcheck: "false" }),
      el("p", { class: "hint", text: "Local development: the agency id (from make serve or facetrace agency-add) " +
                                    "is sent as a Dev token." }),
      el("button", { type: "submit", text: "Sign in" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("agency-id").value.trim());
      location.reload();
    });
    section.replaceChildren(el("h2", { text: "Sign in" }), ...(note ? [note] : []), form);
  } else {
    section.replaceChildren(el("h2", { text: "Sign in" }), ...(note ? [note] : []),
      el("p", { text: "Agency staff sign in with their FaceTrace account (password and authenticator code)." }),
      el("button", { type: "button", text: "Sign in with your agency account", onclick: startCognitoSignIn }));
  }
  section.hidden = false;
  const first = section.querySelector("input, button");
  if (first) first.focus();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (CONFIG.auth === "cognito" && CONFIG.signInUrl) {
    const params = new URLSearchParams({ client_id: CONFIG.userPoolClientId,
                                         logout_uri: new URL("index.html", location.href).href });
    location.assign(`${CONFIG.signInUrl}/logout?${params}`);
  } else {
    location.reload();
  }
}

// The ID token's claims (its payload; the API's authorizer checks the signature, not the page).
function claims() {
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return { exp: payload.exp, agency: payload["custom:agency_id"] };
  } catch (error) {
    return {};
  }
}

function validToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return false;
  if (CONFIG.auth === "dev") return true;
  const { exp } = claims();
  if (!exp || exp * 1000 < Date.now() + 30_000) {
    sessionStorage.removeItem(TOKEN_KEY);
    return false;
  }
  return true;
}

// --- Cognito hosted sign-in: authorization code with PKCE (RFC 7636); the portal is a public client.
function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return new URL("signin.html", location.href).href;
}

async function startCognitoSignIn() {
  const verifier = randomText(48);
  const state = randomText(24);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back: location.pathname + location.search }));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const params = new URLSearchParams({
    response_type: "code", client_id: CONFIG.userPoolClientId, redirect_uri: redirectUri(),
    scope: "openid email", state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${CONFIG.signInUrl}/oauth2/authorize?${params}`);
}

// signin.html: Cognito sent the browser back with ?code=&state=; trade the code (and verifier) for the tokens.
async function finishCognitoSignIn(statusNode) {
  const params = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "{}");
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get("error")) throw new Error(`Sign-in refused: ${params.get("error_description") || params.get("error")}`);
  if (!params.get("code") || !saved.state || params.get("state") !== saved.state) {
    throw new Error("This sign-in link is not one this page started; sign in again.");
  }
  showStatus(statusNode, "Signing in...");
  const response = await fetch(`${CONFIG.signInUrl}/oauth2/token`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: CONFIG.userPoolClientId,
                                code: params.get("code"), redirect_uri: redirectUri(), code_verifier: saved.verifier }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) throw new Error(`Sign-in failed (${tokens.error || response.status}).`);
  sessionStorage.setItem(TOKEN_KEY, tokens.id_token);
  // Only a page of this site: the saved path starts with "/" (never "//", another site).
  const back = typeof saved.back === "string" && /^\/(?!\/)/.test(saved.back) ? saved.back : "agency.html";
  location.replace(back);
}
