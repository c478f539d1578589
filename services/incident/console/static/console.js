// Warroom console: live updates from the event stream, and the aspect lookup while declaring.
// The server renders every piece of HTML (escaped there); this script only fetches fragments of the
// same origin and puts them in place. No inline script anywhere: the page's CSP forbids it.
"use strict";

(function () {
  function fetchFragment(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
      if (response.redirected || !response.ok) {
        throw new Error("fragment " + url + ": " + response.status);
      }
      return response.text();
    }).then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  function liveState(text, broken) {
    var state = document.getElementById("live-state");
    if (state) {
      state.textContent = text;
      state.classList.toggle("broken", Boolean(broken));
    }
  }

  // An EventSource on ``url`` calling ``onEvent(cloudEvent)`` for each named incident event.
  function follow(url, types, onEvent) {
    var source = new EventSource(url);
    source.onopen = function () { liveState("Live: updates appear as they happen."); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        liveState("Live updates stopped. Reload the page (you may need to sign in again).", true);
      } else {
        liveState("Reconnecting to live updates…", true);
      }
    };
    types.split(" ").forEach(function (type) {
      if (!type) { return; }
      source.addEventListener(type, function (message) {
        try { onEvent(JSON.parse(message.data)); } catch (error) { console.error(error); }
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
    return source;
  }

  // --- the incident list ---

  function placeRow(row) {
    var body = document.getElementById("incident-rows");
    var old = document.getElementById(row.id);
    if (old) { old.remove(); }
    var order = row.getAttribute("data-order");
    var before = Array.prototype.find.call(body.rows, function (other) {
      return other.getAttribute("data-order") > order;
    });
    body.insertBefore(row, before || null);
    row.classList.add("arrived");
    var empty = document.getElementById("no-incidents");
    if (empty) { empty.hidden = true; }
  }

  function liveList(marker) {
    var pending = {};
    follow("/v1/events", marker.getAttribute("data-events"), function (event) {
      var id = event.subject;
      if (pending[id]) { return; }
      pending[id] = true;
      fetchFragment("/incidents/" + encodeURIComponent(id) + "/row").then(function (doc) {
        delete pending[id];
        var row = doc.querySelector("tr");
        if (row) { placeRow(document.importNode(row, true)); }
      }).catch(function (error) { delete pending[id]; console.error(error); });
    });
    // What is due moves with the clock, not only with events.
    window.setInterval(function () {
      fetchFragment("/").then(function (doc) {
        var rows = doc.getElementById("incident-rows");
        if (rows) { document.getElementById("incident-rows").replaceWith(document.importNode(rows, true)); }
      }).catch(function (error) { console.error(error); });
    }, 60000);
  }

  // --- the incident page ---

  function edited(section) {
    return Array.prototype.some.call(section.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "hidden") { return false; }
      if (document.activeElement === field) { return true; }
      if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return field.value !== field.defaultValue;
    });
  }

  function addEntries(fresh) {
    var timeline = document.getElementById("timeline");
    var entries = Array.prototype.slice.call(fresh.querySelectorAll("#timeline > li")).reverse();
    entries.forEach(function (entry) {
      if (document.getElementById(entry.id)) { return; }
      var node = document.importNode(entry, true);
      node.classList.add("arrived");
      timeline.insertBefore(node, timeline.firstElementChild);
    });
  }

  function refreshIncident(doc) {
    ["summary", "due", "roles"].forEach(function (id) {
      var fresh = doc.getElementById(id);
      var current = document.getElementById(id);
      if (fresh && current && !edited(current)) { current.innerHTML = fresh.innerHTML; }
    });
    addEntries(doc);
    var actions = document.getElementById("actions");
    var newActions = doc.getElementById("actions");
    if (actions && newActions && actions.getAttribute("data-signature") !== newActions.getAttribute("data-signature")) {
      if (edited(actions)) {
        liveState("What you can do has changed: reload the page once you have sent what you are typing.", true);
      } else {
        actions.replaceWith(document.importNode(newActions, true));
      }
    }
  }

  function liveIncident(article) {
    var id = article.getAttribute("data-incident");
    var url = "/v1/incidents/" + encodeURIComponent(id) + "/events?after=" + article.getAttribute("data-version");
    var busy = false;
    var again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetchFragment("/incidents/" + encodeURIComponent(id) + "/live").then(refreshIncident).catch(function (error) {
        console.error(error);
      }).then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
    }
    follow(url, article.getAttribute("data-events"), refresh);
  }

  // --- declaring: who do I call about this aspect? ---

  function aspectLookup(input) {
    var timer = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var url = input.getAttribute("data-lookup") + "?aspect=" + encodeURIComponent(input.value);
        fetchFragment(url).then(function (doc) {
          document.getElementById("lookup").innerHTML = doc.body.innerHTML;
        }).catch(function (error) { console.error(error); });
      }, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var refusal = document.getElementById("refusal");
    if (refusal) { refusal.setAttribute("tabindex", "-1"); refusal.focus(); }
    var list = document.querySelector("[data-live-list]");
    if (list && window.EventSource) { liveList(list); }
    var article = document.querySelector("article[data-incident]");
    if (article && window.EventSource) { liveIncident(article); }
    var aspect = document.querySelector("input[data-lookup]");
    if (aspect) { aspectLookup(aspect); }
  });
})();
