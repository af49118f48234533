"""Caseworker and legal pages, one module per topic. Thin: fetch-and-authorise, call a service, render."""

