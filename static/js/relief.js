// Small behaviours for server-rendered pages. No inline scripts anywhere, so a
// strict Content-Security-Policy can forbid them.
(function () {
  "use strict";

  // <form data-autosubmit>: submit when a select changes (the language switch).
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") form.submit();
  });

  // Formsets: a button [data-formset-add="PREFIX"] appends a copy of
  // <template id="PREFIX-template">, numbered from PREFIX-TOTAL_FORMS.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) return;
    event.preventDefault();
    var prefix = button.getAttribute("data-formset-add");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-template");
    var target = document.getElementById(prefix + "-rows");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    target.appendChild(row);
    total.value = String(index + 1);
    if (window.htmx) window.htmx.process(row);
    var first = row.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  });

  // Timeline bars and marks: positions come as data attributes (no inline
  // styles, which a strict Content-Security-Policy forbids).
  function place(root) {
    root.querySelectorAll("[data-left]").forEach(function (el) {
      el.style.left = el.getAttribute("data-left") + "%";
      var width = el.getAttribute("data-width");
      if (width !== null) el.style.width = width + "%";
    });
  }
  place(document);

  // <button data-confirm="question">: ask before submitting.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // <select data-standard>: show the fields of the chosen standard only
  // (elements marked data-for="fixed range ...").
  function showStandard(select) {
    var kind = select.value;
    document.querySelectorAll("[data-for]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for").split(" ").indexOf(kind) === -1;
    });
  }
  document.querySelectorAll("select[data-standard]").forEach(showStandard);
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-standard]")) showStandard(event.target);
  });
})();
