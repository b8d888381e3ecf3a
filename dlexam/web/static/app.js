// dlexam serve: the page's script (a static file: the Content-Security-Policy allows no inline
// script). The pages work without it; with it, mathematics is typeset by KaTeX, Check sends
// the answers without leaving the page, and practice keeps its score in the page.
"use strict";

function typeset(root) {
  if (!window.katex) { return; }
  root.querySelectorAll(".tex").forEach(function (el) {
    if (el.dataset.typeset) { return; }
    var source = el.textContent;
    try {
      window.katex.render(source, el, {
        displayMode: el.classList.contains("display"), throwOnError: false });
      el.dataset.typeset = "1";
    } catch (e) { el.textContent = source; }
  });
  if (window.renderMathInElement) {
    root.querySelectorAll(".prose").forEach(function (el) {
      window.renderMathInElement(el, {
        delimiters: [{ left: "\\(", right: "\\)", display: false },
                     { left: "\\[", right: "\\]", display: true }],
        throwOnError: false });
    });
  }
}

function questionPage() {
  var form = document.getElementById("check-form");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("check");
    button.disabled = true;
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)),
                         headers: { "X-Dlexam-Fragment": "verdicts" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var old = document.getElementById("verdicts");
        var holder = document.createElement("div");
        holder.innerHTML = html;  // our own template's output, escaped by Jinja2
        var fresh = holder.querySelector("#verdicts");
        if (!fresh) {  // the server refused the whole request (busy, past its time limit)
          fresh = document.createElement("section");
          fresh.id = "verdicts";
          var said = holder.querySelector(".error");
          var p = document.createElement("p");
          p.className = "error";
          p.setAttribute("role", "alert");
          p.textContent = said ? said.textContent : "";
          fresh.appendChild(p);
        }
        old.replaceWith(fresh);
        typeset(fresh);
        fresh.setAttribute("tabindex", "-1");
        fresh.focus();
      })
      .finally(function () { button.disabled = false; });
  });
}

function practicePage() {
  var box = document.getElementById("practice");
  if (!box) { return; }
  var request = JSON.parse(box.dataset.request);
  var scoreEl = document.getElementById("score");
  // the session's score, kept by the browser across the questions of this tab (no server state)
  var kept = {};
  try { kept = JSON.parse(window.sessionStorage.getItem("dlexam-practice") || "{}"); }
  catch (e) { kept = {}; }
  var right = Number(kept.right) || 0, asked = Number(kept.asked) || 0;
  var forms = Array.prototype.slice.call(box.querySelectorAll("form.item"));

  function showScore() {
    scoreEl.textContent = scoreEl.dataset.template
      .replace("{right}", String(right)).replace("{asked}", String(asked));
    try {
      window.sessionStorage.setItem("dlexam-practice",
                                    JSON.stringify({ right: right, asked: asked }));
    } catch (e) { /* storage refused: the score lives in the page alone */ }
  }
  showScore();
  function next(form) {
    form.querySelectorAll("input, button").forEach(function (el) { el.disabled = true; });
    var i = forms.indexOf(form);
    if (i + 1 < forms.length) {
      forms[i + 1].hidden = false;
      var first = forms[i + 1].querySelector("input");
      if (first) { first.focus(); }
    } else {
      var done = document.createElement("p");
      done.textContent = box.dataset.done;
      box.appendChild(done);
      document.getElementById("next").focus();
    }
  }
  function say(form, lines) {
    var feedback = form.querySelector(".feedback");
    feedback.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      feedback.appendChild(p);
    });
  }
  forms.forEach(function (form) {
    var tries = 0;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var answers = {};
      form.querySelectorAll("input").forEach(function (input) {
        if (input.value.trim()) { answers[input.name] = input.value; }
      });
      if (Object.keys(answers).length === 0) { return; }
      var body = Object.assign({}, request, { answers: answers });
      fetch("/api/check", { method: "POST", body: JSON.stringify(body),
                            headers: { "Content-Type": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (report) {
          if (report.error) { say(form, [report.error]); return; }
          tries += 1;
          var wrong = report.verdicts.filter(function (v) { return !v.correct; });
          if (wrong.length === 0) {
            right += 1; asked += 1; showScore();
            say(form, [box.dataset.right]);
            next(form);
            return;
          }
          var lines = [box.dataset.wrong];
          wrong.forEach(function (v) { if (v.mistake) { lines.push(v.mistake.message); } });
          if (tries >= 2) {
            asked += 1; showScore();
            form.querySelector(".worked").hidden = false;
            typeset(form);
            say(form, lines);
            next(form);
          } else {
            lines.push(box.dataset.again);
            say(form, lines);
          }
        });
    });
    var hint = form.querySelector("button.hint");
    if (hint) {
      hint.addEventListener("click", function () {
        var body = form.querySelector(".hint-body");
        body.hidden = false;
        typeset(body);
      });
    }
    form.querySelector("button.skip").addEventListener("click", function () {
      asked += 1; showScore();
      form.querySelector(".worked").hidden = false;
      typeset(form);
      next(form);
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  typeset(document);
  questionPage();
  practicePage();
});
