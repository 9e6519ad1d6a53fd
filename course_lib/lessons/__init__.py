"""One module per lesson: the lesson's views, explorers and reports (its checker is ``course_lib.checks.lessonNN``).

A notebook imports its lesson's views next to its checker::

    from course_lib.checks import lesson04 as check
    from course_lib.lessons import lesson04 as views
"""
