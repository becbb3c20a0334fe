"""Themes of the gonogo control panel (package data)."""
