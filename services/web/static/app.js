// Small progressive touches; every page works without this file.
(function () {
  "use strict";
  // Date pickers and selectors show the choice at once; the button stays for keyboards and old browsers.
  document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (input.value && input.form) { input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit(); }
    });
  });
  // After a refused form, bring the first bad field into view and give it the focus.
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); }
  // A form submitted twice would record twice: disable its buttons once it is on its way.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
  // A page waiting on work in the background (an export being made) looks again by itself.
  var waiting = document.querySelector("[data-refresh-seconds]");
  if (waiting) { setTimeout(function () { location.reload(); }, 1000 * waiting.getAttribute("data-refresh-seconds")); }
  // The concern queue, live: the user's own notices arrive by server-sent events; a concern raised or
  // escalated to them reloads the queue's rows in place, marks them new and counts them on a badge.
  var queue = document.querySelector("[data-live-queue]");
  if (queue && window.EventSource && window.fetch && window.DOMParser) { liveQueue(queue); }

  function liveQueue(section) {
    var fresh = {}, count = 0, tries = 0;
    var badge = document.querySelector("[data-testid=new-badge]");
    var status = document.querySelector("[data-testid=live-status]");
    var source = new EventSource(section.getAttribute("data-stream"));
    source.onmessage = function (e) {
      var notice = JSON.parse(e.data);
      if ((notice.kind !== "concern_raised" && notice.kind !== "concern_escalated") || !notice.concern_id) { return; }
      if (notice.tenant !== section.getAttribute("data-tenant")) { return; }  // another street's page
      if (!fresh[notice.concern_id]) { fresh[notice.concern_id] = true; count += 1; }
      tries = 0;
      reload();
    };
    window.addEventListener("pagehide", function () { source.close(); });

    function reload() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var rows = page.querySelector("[data-live-queue] tbody");
          var body = section.querySelector("tbody");
          if (!rows || !body) { return; }
          body.replaceWith(rows);
          var missing = false;
          Object.keys(fresh).forEach(function (id) {
            var row = rows.querySelector('tr[data-concern="' + id + '"]');
            if (row) { row.classList.add("new"); } else { missing = true; }
          });
          var words = status.getAttribute("data-new-text").replace("{n}", count);
          badge.textContent = words;
          badge.hidden = false;
          status.textContent = words;
          // The queue's read model may trail the notice by a moment: look again, a few times at most.
          if (missing && tries < 5) { tries += 1; window.setTimeout(reload, 400 * tries); }
        })
        .catch(function () { /* the next notice or a reload shows it */ });
    }
  }
})();
