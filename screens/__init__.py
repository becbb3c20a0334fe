"""Textual screens of the gonogo control panel."""
