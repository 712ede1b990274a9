from django.apps import AppConfig


# No models of its own: installed for its `import-activity` and `export-activity` commands.
class ExchangeConfig(AppConfig):
    name = "parta.exchange"
