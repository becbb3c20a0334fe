"""Textual screens of the gonogo panel (installed as ``gonogo.screens``)."""
