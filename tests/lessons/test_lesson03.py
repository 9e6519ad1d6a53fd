"""Lesson 03's views (course_lib.lessons.lesson03): what its widgets and figures show."""

from course_lib.lessons import lesson03


def test_dot_product_explorer_and_its_text(no_open_figures):
    box = lesson03.dot_product_explorer(angle_a=0, length_a=2.0, angle_b=45, length_b=1.0)
    sliders, text, picture, _message = box.children
    angle_b = sliders.children[2]
    assert angle_b.description == "Angle of b (°)" and not angle_b.continuous_update
    assert "positive" in text.value and "θ = 45°" in picture.value
    angle_b.value = 90
    assert "zero: they are perpendicular" in text.value and "cos θ = +0.00" in picture.value
    angle_b.value = 180
    assert "a · b = (+2.00)(-1.00) + (+0.00)(+0.00) = -2.00" in text.value and "negative" in text.value
    by_hand = lesson03.dot_product_html([3, 4], [4, -3])
    assert "= +0.00" in by_hand and "|a| = 5.00" in by_hand and "cosine = a · b / (|a| |b|) = +0.00" in by_hand


NAN, INF = float("nan"), float("inf")
