// Small progressive touches; every page works without this file.
(function () {
  "use strict";
  // The timeline's date picker shows the chosen date at once; the button stays for keyboards and old browsers.
  document.querySelectorAll("input[data-autosubmit]").forEach(function (input) {
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
})();
