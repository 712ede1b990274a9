// The token or code is in the address after «#», which browsers never send: post it, then
// drop it from the address bar. The form says which of its fields takes it
// (<form data-fragment="token">).
const value = location.hash.slice(1);
const form = document.querySelector("form[data-fragment]");
if (value && form) {
  history.replaceState(null, "", location.pathname);
  form.elements[form.dataset.fragment].value = value;
  form.submit();
}
