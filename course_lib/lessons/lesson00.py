"""Lesson 00's views: it previews the course, so it shows lesson 07's forward pass on the learner's prompt,
and the whole machine at once: the walkthrough of every step of one pass (:mod:`course_lib.lessons.walkthrough`),
live and as a storyboard for a page read without a kernel."""

from __future__ import annotations

from course_lib.lessons.lesson07 import forward_pass_explorer, forward_pass_report
from course_lib.lessons.walkthrough import walkthrough_storyboard, walkthrough_widget
from course_lib.walkthrough import walk

__all__ = ["forward_pass_explorer", "forward_pass_report", "walk", "walkthrough_storyboard", "walkthrough_widget"]
