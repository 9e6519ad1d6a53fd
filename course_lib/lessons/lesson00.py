"""Lesson 00's views: it previews the course, so it shows lesson 07's forward pass on the learner's prompt."""

from __future__ import annotations

from course_lib.lessons.lesson07 import forward_pass_explorer, forward_pass_report

__all__ = ["forward_pass_explorer", "forward_pass_report"]
