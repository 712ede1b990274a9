// The page that shows a new invite link once: a click selects the whole link for copying,
// the button prints the page with its QR code.
const url = document.getElementById("invite-url");
if (url) url.addEventListener("click", () => url.select());
const print = document.getElementById("print-link");
if (print) print.addEventListener("click", () => window.print());
