/* kaigi: the little the pages do in script, from a file (the site's Content-Security-Policy
   allows no inline script). Every page works without it. */
document.addEventListener("click", function (event) {
  // "←" on an error page: back where the reader came from; without script, to my work
  var link = event.target.closest && event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
