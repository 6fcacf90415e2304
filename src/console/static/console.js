// Signpost console: refreshes the inbox list every 20 seconds, and keeps the tab title's
// count of urgent referrals nobody has taken. The page works without this script.
(function () {
  "use strict";
  var box = document.getElementById("inbox");
  if (!box || !window.fetch || !window.DOMParser) {
    return;
  }
  var url = box.getAttribute("data-refresh");
  if (!url) {
    return;
  }
  function setTitle(list) {
    var t = list && list.getAttribute("data-title");
    if (t) {
      document.title = t;
    }
  }
  setTitle(document.getElementById("inbox-list"));
  function refresh() {
    if (document.hidden) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok || res.redirected) {
          // Signed out (or something went wrong): let the page itself say so.
          window.location.reload();
          return null;
        }
        return res.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) {
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("inbox-list");
        var old = document.getElementById("inbox-list");
        if (!fresh || !old) {
          window.location.reload();
          return;
        }
        // Keep the reader's place: do not move focus if it is inside the list.
        if (old.contains(document.activeElement)) {
          return;
        }
        old.replaceWith(document.importNode(fresh, true));
        setTitle(fresh);
      })
      .catch(function () {
        // Offline for a moment: try again next time.
      });
  }
  window.setInterval(refresh, 20000);
})();
