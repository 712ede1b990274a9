// The page that shows a new invite link once: copy it, hand it to the phone's share sheet,
// select it by a click, print the page with its QR code.
const url = document.getElementById("invite-url");
const status = document.getElementById("copy-status");
const say = (text) => {
  if (status) status.textContent = text;
};
// Where the clipboard is out of reach (an old browser, a page without https) the link is
// selected for the person to copy themselves.
const select = () => {
  url.focus();
  url.select();
  say(status.dataset.select);
};
if (url) url.addEventListener("click", () => url.select());
const copy = document.getElementById("copy-link");
if (copy && url) {
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url.value);
      say(status.dataset.copied);
    } catch {
      select();
    }
  });
}
const share = document.getElementById("share-link");
if (share && url && typeof navigator.share === "function") {
  share.hidden = false;
  share.addEventListener("click", async () => {
    try {
      await navigator.share({ title: share.dataset.title, text: share.dataset.text, url: url.value });
    } catch (error) {
      // The person closed the sheet: nothing to say. Anything else: copy by hand.
      if (error.name !== "AbortError") select();
    }
  });
}
const print = document.getElementById("print-link");
if (print) print.addEventListener("click", () => window.print());
