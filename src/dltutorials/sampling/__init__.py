"""Samplers that need no training: hybrid Monte-Carlo (tutorial chapter 11)."""
