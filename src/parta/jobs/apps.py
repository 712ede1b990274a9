from django.apps import AppConfig


# No models of its own: installed for its `run-jobs` command.
class JobsConfig(AppConfig):
    name = "parta.jobs"
