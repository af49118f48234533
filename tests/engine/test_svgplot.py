def test_charts_are_svg_with_every_series_named():
    from detection.engine import svgplot

    line = svgplot.line_chart({"true": [(0.5, 3), (0.6, 5)], "false": [(0.5, 0), (0.6, 1)]},
                              title="t", x_label="x", y_label="y", marker_x=0.6)
    bars = svgplot.bar_chart({"engine": 8.4, "baseline": 1.6}, title="t", y_label="y")
    for svg in (line, bars):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert ">true<" in line and ">false<" in line and ">8.40<" in bars
