// Requests the JSON-LD representation of the page and embeds it in <head> for search engines
// (pygeoapi's _base.html does this inline; a file, so that CSP script-src 'self' allows it).
"use strict";

(function () {
  const given = document.currentScript && document.currentScript.dataset.jsonld;
  const path = given || window.location.protocol + "//" + window.location.host +
    window.location.pathname + "?f=jsonld";
  fetch(path).then(function (response) {
    if (!response.ok) return;
    return response.text().then(function (text) {
      const block = document.createElement("script");
      block.type = "application/ld+json";
      // pygeoapi's own script drops the context path: search engines do not expect it here.
      block.textContent = text.replace("docs/jsonldcontext.jsonld", "");
      document.head.appendChild(block);
    });
  }).catch(function () { /* offline or refused: the page works without it */ });
})();
