//! Charts drawn on the server as SVG: no script, no chart library, readable in any
//! browser and by screen readers (each chart is a labelled image, and the page carries the
//! same figures as a table). Colours come from the page's CSS, so dark mode works.

use std::fmt::Write;

const WIDTH: i64 = 720;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Vertical bars, one per entry (e.g. conversations per day), labelled every few bars.
pub fn columns(id: &str, title: &str, data: &[(String, i64)]) -> String {
    let height = 220;
    let (left, bottom, top) = (40, 28, 12);
    let plot_height = height - bottom - top;
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let n = i64::try_from(data.len()).unwrap_or(1).max(1);
    let step = (WIDTH - left - 8) / n;
    let bar = (step * 3 / 4).max(1);
    let label_every = usize::try_from((n + 9) / 10).unwrap_or(1).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"{id}-title\">{}</title>",
        escape(title)
    );
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
         <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        height - bottom,
        WIDTH - 8,
        height - bottom,
        left - 6,
        top + 10,
        left - 6,
        height - bottom
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let x = left + 4 + i64::try_from(i).unwrap_or(0) * step;
        let h = value * plot_height / max;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{h}\"><title>{}: {value}</title></rect>",
            height - bottom - h,
            escape(label)
        );
        if i % label_every == 0 {
            let short = label.get(5..).unwrap_or(label);
            let _ = write!(
                svg,
                "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2,
                height - bottom + 16,
                escape(short)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars with their labels and values (e.g. outcomes).
pub fn bars(id: &str, title: &str, data: &[(String, i64)]) -> String {
    let row = 28;
    let label_width = 220;
    let height = i64::try_from(data.len()).unwrap_or(0).max(1) * row + 8;
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let plot = WIDTH - label_width - 60;
    let mut svg = format!(
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"{id}-title\">{}</title>",
        escape(title)
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = 4 + i64::try_from(i).unwrap_or(0) * row;
        let w = (value * plot / max).max(1);
        let _ = write!(
            svg,
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{label_width}\" y=\"{y}\" width=\"{w}\" height=\"{}\"/>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{value}</text>",
            label_width - 8,
            y + 17,
            escape(label),
            row - 8,
            label_width + w + 6,
            y + 17
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_to_the_largest_value_and_escape_labels() {
        let data = vec![("2026-11-01".to_string(), 2), ("2026-11-02".to_string(), 4)];
        let svg = columns("perday", "Per day <b>", &data);
        assert!(svg.contains("Per day &lt;b&gt;"));
        assert!(svg.contains("<title>2026-11-02: 4</title>"));
        // The tallest bar fills the plot (220 - 28 - 12 = 180), the other half of it.
        assert!(svg.contains("height=\"180\"") && svg.contains("height=\"90\""), "{svg}");
        let svg = bars("outcomes", "Outcomes", &[("<script>".into(), 3)]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn empty_data_still_draws_a_chart() {
        assert!(columns("x", "Nothing", &[]).starts_with("<svg"));
        assert!(bars("y", "Nothing", &[]).ends_with("</svg>"));
    }
}
