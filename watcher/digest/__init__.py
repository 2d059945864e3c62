"""The morning digest: select what is due, suggest a follow-up, render, deliver exactly once."""
