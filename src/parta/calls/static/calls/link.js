// The invite token is in the URL fragment (never sent to the server by the browser): put it
// in the form, drop it from the address bar and post it.
const token = decodeURIComponent(location.hash.slice(1));
const form = document.getElementById("call-link-form");
if (token && form) {
  form.querySelector("[name=token]").value = token;
  history.replaceState(null, "", location.pathname);
  form.submit();
}
