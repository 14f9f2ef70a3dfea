// The web app's screens. Every text that comes from a user or the service
// goes into the page as text (textContent, text nodes), never as HTML.

import * as api from "./api.js";

const PAGE_SIZE = 10;
const $ = (id) => document.getElementById(id);

// An element with attributes and children; strings become text nodes.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// Runs an action from the UI; a failure is shown, and a lost session
// brings back the log-in screen.
async function act(action) {
  try {
    await action();
  } catch (error) {
    say(error.message, true);
    if (!api.signedIn()) showSignedOut();
  }
}

// The page of todos on screen: the URL it came from, and the next one.
let page = { current: null, next: null };

function listUrl() {
  const filter = $("filter").value;
  return `/todos?order=DESC&limit=${PAGE_SIZE}${filter ? `&is_done=${filter}` : ""}`;
}

async function showTodos(url = listUrl()) {
  const answer = await api.call("GET", url);
  page = { current: url, next: answer.next };
  const list = $("todo-list");
  list.replaceChildren(...answer.todos.map(todoItem));
  $("empty").hidden = answer.todos.length > 0;
  $("next-page").disabled = !answer.next;
  $("first-page").disabled = url === listUrl();
}

function todoItem(todo) {
  const checkbox = el("input", {
    type: "checkbox",
    id: `todo-${todo.id}-done`,
    checked: todo.is_done,
    onchange: () => act(async () => {
      await api.call("PATCH", `/todos/${todo.id}`, { is_done: checkbox.checked });
      await showTodos(page.current);
      say(checkbox.checked ? "Marked done." : "Marked open.");
    }),
  });
  const label = el("label", { for: checkbox.id, class: "contents" }, todo.contents);
  const edit = el("button", {
    type: "button",
    class: "quiet",
    "aria-label": `Edit “${todo.contents}”`,
    onclick: () => editItem(item, todo),
  }, "Edit");
  const remove = el("button", {
    type: "button",
    class: "quiet",
    "aria-label": `Delete “${todo.contents}”`,
    onclick: () => act(async () => {
      await api.call("DELETE", `/todos/${todo.id}`);
      await showTodos(page.current);
      say("Deleted.");
    }),
  }, "Delete");
  const item = el("li", { class: todo.is_done ? "done" : "", "data-id": String(todo.id) },
    checkbox, label, edit, remove);
  return item;
}

function editItem(item, todo) {
  const input = el("input", {
    id: `todo-${todo.id}-contents`,
    value: todo.contents,
    required: true,
  });
  const form = el("form", {
    class: "inline contents",
    onsubmit: (event) => {
      event.preventDefault();
      act(async () => {
        await api.call("PATCH", `/todos/${todo.id}`, { contents: input.value });
        await showTodos(page.current);
        say("Saved.");
      });
    },
  },
  el("label", { for: input.id }, "Contents"), input,
  el("button", { type: "submit" }, "Save"),
  el("button", { type: "button", class: "quiet", onclick: () => item.replaceWith(todoItem(todo)) }, "Cancel"));
  item.replaceChildren(form);
  input.focus();
}

async function showAccount() {
  const me = await api.call("GET", "/users/me");
  $("username").textContent = me.username;
  $("email-state").textContent = me.email
    ? `${me.email} (${me.email_verified ? "verified" : "not verified"})`
    : "No verified address yet.";
  const { sessions } = await api.call("GET", "/users/me/sessions");
  $("session-list").replaceChildren(...sessions.map((session) => {
    const started = new Date(session.created_at).toLocaleString();
    return el("li", {},
      el("span", { class: "when" }, `Started ${started}${session.current ? " (this one)" : ""}`),
      el("button", {
        type: "button",
        class: "quiet",
        "aria-label": `End the session started ${started}`,
        onclick: () => act(async () => {
          await api.call("DELETE", `/users/me/sessions/${encodeURIComponent(session.id)}`);
          if (session.current) {
            api.forget();
            showSignedOut();
            say("Session ended: you are logged out.");
          } else {
            await showAccount();
            say("Session ended.");
          }
        }),
      }, "End"));
  }));
}

function showSignedOut() {
  $("signed-in").hidden = true;
  $("whoami").hidden = true;
  $("signed-out").hidden = false;
}

async function showSignedIn() {
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("whoami").hidden = false;
  await showAccount();
  await showTodos();
}

function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => handler(event.target));
  });
}

onSubmit("log-in-form", async () => {
  await api.logIn($("log-in-username").value, $("log-in-password").value);
  $("log-in-form").reset();
  await showSignedIn();
  say("Logged in.");
});

onSubmit("sign-up-form", async () => {
  const username = $("sign-up-username").value;
  const password = $("sign-up-password").value;
  await api.signUp(username, password);
  await api.logIn(username, password);
  $("sign-up-form").reset();
  await showSignedIn();
  say(`Welcome, ${username}.`);
});

onSubmit("new-todo-form", async (form) => {
  await api.call("POST", "/todos", { contents: $("new-todo").value });
  form.reset();
  await showTodos();
  say("Added.");
});

onSubmit("otp-form", async () => {
  await api.call("POST", "/users/email/otp", { email: $("email").value });
  say("A code is on its way: enter it below.");
  $("otp").focus();
});

onSubmit("verify-form", async (form) => {
  await api.call("POST", "/users/email/otp/verify", { email: $("email").value, otp: $("otp").value });
  form.reset();
  await showAccount();
  say("Email address verified.");
});

onSubmit("password-form", async (form) => {
  await api.callWithPassword("PUT", "/users/me/password", {
    current_password: $("current-password").value,
    new_password: $("new-password").value,
  });
  form.reset();
  await showAccount();
  say("Password changed; your other sessions have ended.");
});

onSubmit("delete-account-form", async (form) => {
  await api.callWithPassword("DELETE", "/users/me", { password: $("delete-password").value });
  form.reset();
  api.forget();
  showSignedOut();
  say("Your account is deleted.");
});

$("log-out").addEventListener("click", () => act(async () => {
  await api.logOut();
  showSignedOut();
  say("Logged out.");
}));

$("filter").addEventListener("change", () => act(() => showTodos()));
$("first-page").addEventListener("click", () => act(() => showTodos()));
$("next-page").addEventListener("click", () => act(() => showTodos(page.next)));

// A reload keeps the session of this tab (its refresh token).
act(async () => {
  if (await api.refresh()) await showSignedIn();
  else showSignedOut();
});
