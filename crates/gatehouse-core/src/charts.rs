//! Charts the admin panel draws on the server as inline SVG: no script and no client library, so
//! they pass the panel's content security policy and print as they show.
//!
//! Each chart is a `<figure>`: a visible caption and legend, an SVG that is one image to
//! assistive technology (`role="img"`, a `<title>` and a `<desc>` with the totals), and a
//! visually hidden table of every number drawn, so a screen reader gets the figures and not the
//! shapes. Every text given is escaped; ids must be plain (`[a-z0-9-]`), as the panel's are.

use std::fmt::Write;

use chrono::{Days, NaiveDate};

/// One series of a chart: its name (in the legend and the table's heading) and its values.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [u64],
}

/// Bars per day, oldest first, the series of a day stacked (the first at the bottom).
#[derive(Debug, Clone, Copy)]
pub struct DailyBars<'a> {
    /// The figure's id, unique on the page; the ids of its parts start with it.
    pub id: &'a str,
    pub title: &'a str,
    pub first_day: NaiveDate,
    /// One value per day from `first_day`; a series shorter than the longest is zero after
    /// its end.
    pub series: &'a [Series<'a>],
    /// The heading of the table's day column.
    pub day_heading: &'a str,
    /// What the totals in the description are ("Total over the last 30 days").
    pub totals_label: &'a str,
}

/// Horizontal bars, each a count and its share of a whole (users with MFA of all users).
#[derive(Debug, Clone, Copy)]
pub struct ShareBars<'a> {
    /// The figure's id, unique on the page; the ids of its parts start with it.
    pub id: &'a str,
    pub title: &'a str,
    /// What the shares are of, and how many: ("Users", 1200).
    pub whole: (&'a str, u64),
    /// (label, count) per bar.
    pub rows: &'a [(&'a str, u64)],
    /// The headings of the table's label, count and share columns.
    pub headings: [&'a str; 3],
}

const WIDTH: f64 = 640.0;
const PLOT_LEFT: f64 = 48.0;
const PLOT_RIGHT: f64 = 632.0;
const PLOT_TOP: f64 = 12.0;
const PLOT_BOTTOM: f64 = 196.0;
const DAILY_HEIGHT: f64 = 220.0;
/// The height of one row of a share chart: its label above its bar.
const SHARE_ROW: f64 = 44.0;

/// Text made safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The top of the value axis: the smallest 1, 2 or 5 × 10ⁿ at or above `max` (1 for no data).
pub fn axis_top(max: u64) -> u64 {
    let mut power: u64 = 1;
    loop {
        for step in [1, 2, 5] {
            match power.checked_mul(step) {
                Some(top) if top >= max => return top,
                Some(_) => {}
                None => return u64::MAX,
            }
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            None => return u64::MAX,
        }
    }
}

/// `value` as a share of `whole` in percent with one decimal (0 when `whole` is 0).
pub fn percent(value: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    let tenths = (u128::from(value) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The visible legend: a colour swatch (the series' class) and the name of each series.
fn legend(out: &mut String, series: &[Series<'_>]) {
    out.push_str("<ul class=\"legend\">");
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<li><span class=\"swatch series-{i}\"></span>{}</li>",
            escape(s.name)
        );
    }
    out.push_str("</ul>");
}

/// The opening of the figure and its SVG, with the caption, title and description.
fn open_figure(out: &mut String, id: &str, title: &str, description: &str, height: f64) {
    let (id, title) = (escape(id), escape(title));
    let _ = write!(
        out,
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{title}</figcaption>\
         <svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {WIDTH} {height}\" \
         preserveAspectRatio=\"xMinYMin meet\" direction=\"ltr\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(description)
    );
}

/// Stacked daily bars (see [`DailyBars`]) as a `<figure>` of HTML.
pub fn daily_bars(chart: &DailyBars<'_>) -> String {
    let days = chart
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0);
    let value = |s: &Series<'_>, day: usize| s.values.get(day).copied().unwrap_or(0);
    let day_total = |day: usize| -> u64 {
        chart
            .series
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(value(s, day)))
    };
    let date = |day: usize| {
        u64::try_from(day)
            .ok()
            .and_then(|n| chart.first_day.checked_add_days(Days::new(n)))
            .unwrap_or(chart.first_day)
    };
    let totals: Vec<String> = chart
        .series
        .iter()
        .map(|s| {
            let sum = s.values.iter().fold(0u64, |a, v| a.saturating_add(*v));
            format!("{} {sum}", s.name)
        })
        .collect();
    let description = format!("{}: {}.", chart.totals_label, totals.join(", "));

    let mut out = String::with_capacity(4096 + days * 160);
    open_figure(&mut out, chart.id, chart.title, &description, DAILY_HEIGHT);
    let top = axis_top((0..days).map(day_total).max().unwrap_or(0));
    let plot_height = PLOT_BOTTOM - PLOT_TOP;
    let y_of = |v: u64| PLOT_BOTTOM - plot_height * (v as f64 / top as f64);
    // Grid lines at zero, the middle (when it is a whole number) and the top.
    let mut marks = vec![0, top];
    if top.is_multiple_of(2) {
        marks.insert(1, top / 2);
    }
    for mark in marks {
        let y = y_of(mark);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{PLOT_LEFT}\" x2=\"{PLOT_RIGHT}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{mark}</text>",
            PLOT_LEFT - 6.0,
            y + 4.0
        );
    }
    let slot = (PLOT_RIGHT - PLOT_LEFT) / days.max(1) as f64;
    let bar = (slot * 0.72).max(1.0);
    for day in 0..days {
        let x = PLOT_LEFT + slot * day as f64 + (slot - bar) / 2.0;
        let parts: Vec<String> = chart
            .series
            .iter()
            .map(|s| format!("{} {}", s.name, value(s, day)))
            .collect();
        let _ = write!(
            out,
            "<g><title>{}: {}</title>",
            day_text(date(day)),
            escape(&parts.join(", "))
        );
        let mut below = 0u64;
        for (i, s) in chart.series.iter().enumerate() {
            let v = value(s, day);
            if v == 0 {
                continue;
            }
            let above = below.saturating_add(v);
            let y_bottom = y_of(below);
            // A small count stays visible (half a unit) without leaving the plot.
            let y_top = y_of(above).min(y_bottom - 0.5).max(PLOT_TOP);
            let _ = write!(
                out,
                "<rect class=\"series-{i}\" x=\"{x:.1}\" y=\"{y_top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\"/>",
                y_bottom - y_top
            );
            below = above;
        }
        out.push_str("</g>");
    }
    if days > 0 {
        let label_y = PLOT_BOTTOM + 18.0;
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{PLOT_LEFT}\" y=\"{label_y}\" text-anchor=\"start\">{}</text>",
            day_text(date(0))
        );
        if days > 1 {
            let _ = write!(
                out,
                "<text class=\"axis\" x=\"{PLOT_RIGHT}\" y=\"{label_y}\" text-anchor=\"end\">{}</text>",
                day_text(date(days - 1))
            );
        }
    }
    out.push_str("</svg>");
    legend(&mut out, chart.series);

    let _ = write!(
        out,
        "<table class=\"visually-hidden\" id=\"{}-data\"><caption>{}</caption><thead><tr>\
         <th scope=\"col\">{}</th>",
        escape(chart.id),
        escape(chart.title),
        escape(chart.day_heading)
    );
    for s in chart.series {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(s.name));
    }
    out.push_str("</tr></thead><tbody>");
    for day in 0..days {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", day_text(date(day)));
        for s in chart.series {
            let _ = write!(out, "<td>{}</td>", value(s, day));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></figure>");
    out
}

/// Share bars (see [`ShareBars`]) as a `<figure>` of HTML.
pub fn share_bars(chart: &ShareBars<'_>) -> String {
    let (whole_label, whole) = chart.whole;
    let shares: Vec<String> = chart
        .rows
        .iter()
        .map(|(label, count)| format!("{label} {count} ({})", percent(*count, whole)))
        .collect();
    let description = format!("{whole_label} {whole}: {}.", shares.join(", "));
    let height = SHARE_ROW * chart.rows.len().max(1) as f64 + 8.0;

    let mut out = String::with_capacity(2048 + chart.rows.len() * 400);
    open_figure(&mut out, chart.id, chart.title, &description, height);
    let track = PLOT_RIGHT - 8.0 - 120.0;
    for (i, (label, count)) in chart.rows.iter().enumerate() {
        let top = SHARE_ROW * i as f64 + 4.0;
        let fraction = if whole == 0 {
            0.0
        } else {
            (*count as f64 / whole as f64).min(1.0)
        };
        let width = track * fraction;
        let _ = write!(
            out,
            "<g><title>{}</title>\
             <text class=\"label\" x=\"8\" y=\"{:.1}\">{}</text>\
             <rect class=\"track\" x=\"8\" y=\"{:.1}\" width=\"{track:.1}\" height=\"16\"/>",
            escape(&format!("{label}: {count} ({})", percent(*count, whole))),
            top + 14.0,
            escape(label),
            top + 20.0
        );
        if width > 0.0 {
            let _ = write!(
                out,
                "<rect class=\"series-0\" x=\"8\" y=\"{:.1}\" width=\"{:.1}\" height=\"16\"/>",
                top + 20.0,
                width.max(1.0)
            );
        }
        let _ = write!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\">{count} · {}</text></g>",
            8.0 + track + 8.0,
            top + 33.0,
            percent(*count, whole)
        );
    }
    out.push_str("</svg>");

    let [label_heading, count_heading, share_heading] = chart.headings.map(escape);
    let _ = write!(
        out,
        "<table class=\"visually-hidden\" id=\"{}-data\"><caption>{}</caption><thead><tr>\
         <th scope=\"col\">{label_heading}</th><th scope=\"col\">{count_heading}</th>\
         <th scope=\"col\">{share_heading}</th></tr></thead><tbody>",
        escape(chart.id),
        escape(chart.title)
    );
    for (label, count) in chart.rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{count}</td><td>{}</td></tr>",
            escape(label),
            percent(*count, whole)
        );
    }
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{}</th><td>{whole}</td><td>{}</td></tr></tbody></table></figure>",
        escape(whole_label),
        percent(whole, whole)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// The `(y, height)` of each bar (`<rect class="series-…">`) in order.
    fn bars(svg: &str) -> Vec<(f64, f64)> {
        svg.split("<rect class=\"series-")
            .skip(1)
            .map(|rest| {
                let attr = |name: &str| -> f64 {
                    let start = rest.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                    let end = start + rest[start..].find('"').unwrap();
                    rest[start..end].parse().unwrap()
                };
                (attr("y"), attr("height"))
            })
            .collect()
    }

    /// The cells of the data table's body, row by row.
    fn table_rows(html: &str) -> Vec<Vec<String>> {
        let body = html.split("<tbody>").nth(1).unwrap();
        let body = body.split("</tbody>").next().unwrap();
        body.split("<tr>")
            .skip(1)
            .map(|row| {
                row.split('<')
                    .filter_map(|piece| piece.split_once('>').map(|(_, text)| text))
                    .filter(|text| !text.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn axis_tops_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(2), 2);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(10), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(199), 200);
        assert_eq!(axis_top(201), 500);
        assert_eq!(axis_top(999_999), 1_000_000);
        assert_eq!(axis_top(u64::MAX), u64::MAX);
        assert_eq!(axis_top(u64::MAX / 3), 10_000_000_000_000_000_000);
    }

    #[test]
    fn percentages_round_to_a_tenth_and_a_zero_whole_is_zero() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(3, 3), "100.0%");
        assert_eq!(percent(0, 10), "0.0%");
        assert_eq!(percent(5, 0), "0%");
        assert_eq!(percent(u64::MAX, u64::MAX), "100.0%");
    }

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    fn sign_ins<'a>(ok: &'a [u64], failed: &'a [u64]) -> [Series<'a>; 2] {
        [
            Series {
                name: "Succeeded",
                values: ok,
            },
            Series {
                name: "Failed",
                values: failed,
            },
        ]
    }

    fn daily<'a>(series: &'a [Series<'a>]) -> DailyBars<'a> {
        DailyBars {
            id: "sign-ins",
            title: "Sign-ins per day",
            first_day: day("2026-11-30"),
            series,
            day_heading: "Day",
            totals_label: "Total",
        }
    }

    #[test]
    fn a_daily_chart_is_an_image_with_a_title_its_totals_and_a_table_of_each_day() {
        let series = sign_ins(&[3, 0, 10], &[1, 2, 0]);
        let html = daily_bars(&daily(&series));
        assert!(html.starts_with("<figure class=\"chart\" id=\"sign-ins\">"));
        assert!(html.ends_with("</figure>"));
        assert!(html.contains("<svg role=\"img\" aria-labelledby=\"sign-ins-title sign-ins-desc\""));
        assert!(html.contains("<title id=\"sign-ins-title\">Sign-ins per day</title>"));
        assert!(html.contains("<desc id=\"sign-ins-desc\">Total: Succeeded 13, Failed 3.</desc>"));
        assert!(html.contains("<table class=\"visually-hidden\" id=\"sign-ins-data\">"));
        assert_eq!(
            table_rows(&html),
            [
                ["2026-11-30", "3", "1"],
                ["2026-12-01", "0", "2"],
                ["2026-12-02", "10", "0"]
            ]
        );
        // Each day's bar says its numbers on hover.
        assert!(html.contains("<g><title>2026-12-01: Succeeded 0, Failed 2</title>"));
        // The first and last day label the time axis.
        assert!(html.contains(">2026-11-30</text>") && html.contains(">2026-12-02</text>"));
        assert!(html.contains("<span class=\"swatch series-1\"></span>Failed</li>"));
    }

    #[test]
    fn bars_stay_inside_the_plot_and_stack_to_the_day_total() {
        let series = sign_ins(&[3, 0, 10], &[1, 2, 0]);
        let html = daily_bars(&daily(&series));
        // Ten is the highest total, so the top is 10 and a bar of 10 fills the plot.
        assert!(html.contains(">10</text>") && html.contains(">5</text>"));
        let drawn = bars(&html);
        // Zero values draw nothing: 3 and 1, 2, then 10.
        assert_eq!(drawn.len(), 4);
        for (y, height) in &drawn {
            assert!(
                *y >= PLOT_TOP - 0.05 && y + height <= PLOT_BOTTOM + 0.05,
                "{y} {height}"
            );
        }
        let plot = PLOT_BOTTOM - PLOT_TOP;
        let (y3, h3) = drawn[0];
        let (y1, h1) = drawn[1];
        assert!((h3 - plot * 0.3).abs() < 0.1 && (h1 - plot * 0.1).abs() < 0.1);
        // The failed part sits on top of the succeeded part.
        assert!((y1 + h1 - y3).abs() < 0.1);
        let (y10, h10) = drawn[3];
        assert!((y10 - PLOT_TOP).abs() < 0.1 && (h10 - plot).abs() < 0.1);
    }

    #[test]
    fn a_chart_without_data_draws_no_bar_and_says_zero() {
        let zeros = [0u64; 30];
        let series = sign_ins(&zeros, &zeros);
        let html = daily_bars(&daily(&series));
        assert!(bars(&html).is_empty());
        assert!(html.contains("Total: Succeeded 0, Failed 0."));
        assert_eq!(table_rows(&html).len(), 30);
        assert!(!html.contains("NaN") && !html.contains("inf"));
        // Thirty days from 2026-11-30 end on 2026-12-29.
        assert!(html.contains(">2026-12-29</text>"));

        let none: [Series<'_>; 0] = [];
        let empty = daily_bars(&daily(&none));
        assert!(empty.contains("<tbody></tbody>") && !empty.contains("NaN"));
    }

    #[test]
    fn one_day_fills_the_plot_and_is_labelled_once() {
        let series = [Series {
            name: "New accounts",
            values: &[7],
        }];
        let html = daily_bars(&daily(&series));
        let drawn = bars(&html);
        assert_eq!(drawn.len(), 1);
        // The top is 10: seven tenths of the plot.
        assert!((drawn[0].1 - (PLOT_BOTTOM - PLOT_TOP) * 0.7).abs() < 0.1);
        assert_eq!(html.matches(">2026-11-30</text>").count(), 1);
        assert_eq!(table_rows(&html), [["2026-11-30", "7"]]);
    }

    #[test]
    fn huge_counts_neither_overflow_nor_leave_the_plot() {
        let series = sign_ins(&[u64::MAX, 1], &[u64::MAX, 0]);
        let html = daily_bars(&daily(&series));
        for (y, height) in bars(&html) {
            assert!(
                y >= PLOT_TOP - 0.05 && y + height <= PLOT_BOTTOM + 0.05,
                "{y} {height}\n{html}"
            );
        }
        assert!(html.contains(&format!("Succeeded {}", u64::MAX)));
    }

    #[test]
    fn names_and_titles_are_escaped_everywhere() {
        let series = [Series {
            name: "<b>\"ok\" & 'fine'</b>",
            values: &[1],
        }];
        let chart = DailyBars {
            title: "Sign-ins <script>",
            ..daily(&series)
        };
        let html = daily_bars(&chart);
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains("Sign-ins &lt;script&gt;"));
        assert!(html.contains("&lt;b&gt;&quot;ok&quot; &amp; &#39;fine&#39;&lt;/b&gt;"));
        let share = share_bars(&ShareBars {
            id: "mfa",
            title: "MFA <adoption>",
            whole: ("Users & co", 2),
            rows: &[("<TOTP>", 1)],
            headings: ["Factor", "Users", "Share"],
        });
        assert!(!share.contains("<TOTP>") && share.contains("&lt;TOTP&gt;"));
        assert!(share.contains("Users &amp; co 2: &lt;TOTP&gt; 1 (50.0%)."));
    }

    #[test]
    fn share_bars_give_each_count_its_share_of_the_whole() {
        let html = share_bars(&ShareBars {
            id: "mfa",
            title: "MFA adoption",
            whole: ("Users", 8),
            rows: &[("TOTP", 2), ("Passkeys", 8), ("SMS", 0), ("Too many", 9)],
            headings: ["Factor", "Users", "Share"],
        });
        assert!(html.contains("<svg role=\"img\" aria-labelledby=\"mfa-title mfa-desc\""));
        assert!(html.contains(
            "<desc id=\"mfa-desc\">Users 8: TOTP 2 (25.0%), Passkeys 8 (100.0%), SMS 0 (0.0%), Too many 9 (112.5%).</desc>"
        ));
        assert_eq!(
            table_rows(&html),
            [
                ["TOTP", "2", "25.0%"],
                ["Passkeys", "8", "100.0%"],
                ["SMS", "0", "0.0%"],
                ["Too many", "9", "112.5%"],
                ["Users", "8", "100.0%"]
            ]
        );
        let widths: Vec<f64> = html
            .split("<rect class=\"series-0\"")
            .skip(1)
            .map(|r| {
                let start = r.find("width=\"").unwrap() + 7;
                r[start..start + r[start..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            })
            .collect();
        // No bar for zero; more than the whole is drawn as the whole.
        assert_eq!(widths.len(), 3);
        assert!((widths[0] * 4.0 - widths[1]).abs() < 0.2);
        assert!((widths[2] - widths[1]).abs() < 0.01);
    }

    #[test]
    fn share_bars_of_no_users_are_zero_and_draw_nothing() {
        let html = share_bars(&ShareBars {
            id: "active",
            title: "Active users",
            whole: ("Users", 0),
            rows: &[("Today", 0)],
            headings: ["Period", "Users", "Share"],
        });
        assert!(!html.contains("<rect class=\"series-0\""));
        assert!(html.contains("Users 0: Today 0 (0%)."));
        assert!(!html.contains("NaN"));
    }
}
