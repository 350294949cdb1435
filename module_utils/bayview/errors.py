"""Errors a person reads at 2 a.m.: what failed, where, why, and what to do next."""

from __future__ import annotations


class RunbookError(Exception):
    """A refusal or failure the operator must act on. Nothing was changed unless it says so."""

    def __init__(self, message: str, next_step: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} Next step: {self.next_step}"
