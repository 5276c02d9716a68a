// The HTML review's only script: clicking a turn on the timeline plays it; one player at a time.
// The page's Content-Security-Policy allows this script by its hash (trainer/report/html.py).
(function () {
  "use strict";
  var players = Array.prototype.slice.call(document.querySelectorAll("audio[data-turn]"));

  function turnOf(audio) {
    return document.getElementById("turn-" + audio.getAttribute("data-turn"));
  }

  players.forEach(function (audio) {
    audio.addEventListener("play", function () {
      players.forEach(function (other) {
        if (other !== audio && !other.paused) { other.pause(); }
      });
      var row = turnOf(audio);
      if (row) { row.classList.add("playing"); }
    });
    ["pause", "ended"].forEach(function (ev) {
      audio.addEventListener(ev, function () {
        var row = turnOf(audio);
        if (row) { row.classList.remove("playing"); }
      });
    });
  });

  // timeline segments link to "#turn-N"; for the user's turns, also play the recording
  Array.prototype.forEach.call(document.querySelectorAll(".timeline a[data-turn]"), function (a) {
    a.addEventListener("click", function () {
      // CSS.escape: a turn id is data and must not break (or steer) the selector
      var audio = document.querySelector(
        'audio[data-turn="' + CSS.escape(a.getAttribute("data-turn")) + '"]');
      if (audio) {
        audio.currentTime = 0;
        var p = audio.play();
        if (p && p.catch) { p.catch(function () { /* autoplay refused: the link still scrolls */ }); }
      }
    });
  });
})();
