from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "parta.roster"
