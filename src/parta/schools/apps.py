from django.apps import AppConfig


# No models of its own: the records it edits are structure's.
class SchoolsConfig(AppConfig):
    name = "parta.schools"
