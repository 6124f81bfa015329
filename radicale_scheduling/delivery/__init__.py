"""Delivering scheduling messages: locally, by rooms' own answers, by mail."""
