// The link form: the admin-link confirmation shows only when the admin role is chosen
// (the server asks for it either way).
const role = document.getElementById("id_role");
const confirm = document.getElementById("id_confirm_admin");
const row = confirm && confirm.closest("label");
if (role && row) {
  const toggle = () => {
    row.hidden = role.value !== "admin";
  };
  role.addEventListener("change", toggle);
  toggle();
}
