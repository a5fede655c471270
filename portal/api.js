// Shared by both pages: the API base URL from config.js, JSON calls, the agency token and small DOM helpers.
"use strict";

const CONFIG = window.FACETRACE_CONFIG || { apiUrl: "", auth: "dev" };
const TOKEN_KEY = "facetrace.token";

// Locally the agency id is sent as "Dev <id>"; in AWS the Cognito ID token itself is the Authorization header.
function authHeader() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  return CONFIG.auth === "dev" ? "Dev " + token : token;
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const auth = authHeader();
  if (auth) headers.Authorization = auth;
  const response = await fetch(CONFIG.apiUrl + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.message) || response.statusText;
    throw new Error(`${method} ${path}: ${response.status} ${message}`);
  }
  return data;
}

// Build an element; text goes through textContent so nothing from the API is parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function showStatus(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle("error", isError);
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "unknown";
}
