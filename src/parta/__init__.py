"""Parta: a self-hosted communication platform for schools with weekly activity monitoring."""
