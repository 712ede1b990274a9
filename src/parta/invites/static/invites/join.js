// The token is in the address after «#», which browsers never send: post it, then drop it
// from the address bar.
const token = location.hash.slice(1);
const form = document.getElementById("token-form");
if (token && form) {
  history.replaceState(null, "", location.pathname);
  form.elements.token.value = token;
  form.submit();
}
