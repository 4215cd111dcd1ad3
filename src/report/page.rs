//! The sweep report as one self-contained HTML page: the summary table, a
//! chart per scenario (its verdicts, and how long its seeds took with the
//! failing ones marked), lag figures, and the distinct failures with their
//! replay commands. Static SVG drawn here; no script, nothing fetched.

use std::fmt::Write as _;

use super::summary::{GroupSummary, Summary};
use crate::timeline::page::escape_html;

/// Bins of a scenario's wall-time histogram.
const BINS: usize = 30;

const STYLE: &str = "body{font:13px/1.4 system-ui,sans-serif;margin:12px 16px;color:#222}\
h1{font-size:18px}h2{font-size:15px;margin:18px 0 4px}\
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #e4e4e4;text-align:right}\
td:first-child,th:first-child{text-align:left}code{font:12px ui-monospace,monospace;background:#f3f3f3;padding:1px 3px}\
.fail{color:#c0182b}.pass{color:#1a7f37}svg text{font-size:10px;fill:#444}\
.failure{margin:6px 0 10px}.failure pre{margin:2px 0 2px 16px;font:12px ui-monospace,monospace;white-space:pre-wrap}";

/// Colours of the verdicts, in [`super::VERDICTS`] order.
fn colour(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "#58a55c",
        "safety" => "#c0182b",
        "liveness" => "#e0a030",
        "expectation" => "#9b59b6",
        _ => "#333",
    }
}

/// A group's chart: a bar of its verdicts, then a histogram of its runs'
/// wall times, failing runs stacked in red over passing ones.
fn chart(group: &GroupSummary) -> String {
    let (width, bar_h, hist_h) = (640.0, 16.0, 110.0);
    let mut svg = format!(
        "<svg width=\"{width}\" height=\"{}\" data-chart=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        bar_h + hist_h + 40.0,
        escape_html(&group.name)
    );
    let total = group.runs.len().max(1) as f64;
    let mut x = 0.0;
    for (verdict, count) in &group.verdicts {
        if *count == 0 {
            continue;
        }
        let w = *count as f64 / total * width;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"><title>{verdict}: {count}</title></rect>",
            colour(verdict)
        );
        x += w;
    }
    let walls: Vec<f64> = group.runs.iter().map(|r| r.wall_ms).collect();
    let low = walls.iter().copied().fold(f64::INFINITY, f64::min);
    let high = walls.iter().copied().fold(0.0, f64::max);
    let span = (high - low).max(1e-9);
    let mut bins = [(0usize, 0usize); BINS];
    for run in &group.runs {
        let bin = (((run.wall_ms - low) / span) * BINS as f64) as usize;
        let slot = &mut bins[bin.min(BINS - 1)];
        if run.verdict == "pass" {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }
    let tallest = bins.iter().map(|(p, f)| p + f).max().unwrap_or(1).max(1) as f64;
    let top = bar_h + 8.0;
    let bin_w = width / BINS as f64;
    for (i, (passed, failed)) in bins.iter().enumerate() {
        let x = i as f64 * bin_w;
        let pass_h = *passed as f64 / tallest * hist_h;
        let fail_h = *failed as f64 / tallest * hist_h;
        let from = low + span * i as f64 / BINS as f64;
        let to = low + span * (i + 1) as f64 / BINS as f64;
        let title = format!("{from:.1} to {to:.1} ms: {passed} passed, {failed} failed");
        if pass_h > 0.0 {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{pass_h:.1}\" fill=\"#58a55c\"><title>{title}</title></rect>",
                x + 1.0,
                top + hist_h - pass_h,
                bin_w - 2.0
            );
        }
        if fail_h > 0.0 {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{fail_h:.1}\" fill=\"#c0182b\"><title>{title}</title></rect>",
                x + 1.0,
                top + hist_h - pass_h - fail_h,
                bin_w - 2.0
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{:.1}\">{low:.1} ms</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{high:.1} ms per seed (wall)</text></svg>",
        top + hist_h + 14.0,
        width,
        top + hist_h + 14.0
    );
    svg
}

/// The page for `summary`; the same summary gives the same bytes.
pub fn render(summary: &Summary) -> String {
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>replsim sweep report</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n<h1>replsim sweep report</h1>\n");
    let failed: usize = summary.groups.iter().map(GroupSummary::failed).sum();
    let _ = writeln!(
        page,
        "<p>{} runs of {} scenarios from {} lines ({} duplicate lines); <span class=\"{}\">{} failed</span>, {} distinct failures.</p>",
        summary.runs(),
        summary.groups.len(),
        summary.lines,
        summary.duplicates,
        if failed > 0 { "fail" } else { "pass" },
        failed,
        summary.failures.len()
    );
    page.push_str("<table><tr><th>scenario</th><th>seeds</th><th>pass</th><th>safety</th><th>liveness</th><th>expectation</th><th>crash</th><th>sim s/seed</th><th>ms/seed</th><th>sim/wall</th></tr>\n");
    for group in &summary.groups {
        let n = group.runs.len().max(1) as f64;
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td>",
            escape_html(&group.name),
            group.runs.len()
        );
        for (_, count) in &group.verdicts {
            let _ = write!(page, "<td>{count}</td>");
        }
        let _ = writeln!(
            page,
            "<td>{:.1}</td><td>{:.1}</td><td>{:.0}x</td></tr>",
            group.simulated_ms as f64 / 1000.0 / n,
            group.wall_ms / n,
            group.simulated_ms as f64 / group.wall_ms.max(1e-9)
        );
    }
    page.push_str("</table>\n");
    for group in &summary.groups {
        let _ = writeln!(
            page,
            "<h2>{}</h2>\n<p>{} seeds, {} failed; bar: verdicts; histogram: wall time per seed, failing seeds in red.</p>\n{}",
            escape_html(&group.name),
            group.runs.len(),
            group.failed(),
            chart(group)
        );
        if !group.lag.is_empty() {
            page.push_str(
                "<table><tr><th>lag figure</th><th>runs</th><th>mean</th><th>max</th></tr>",
            );
            for (path, figure) in &group.lag {
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td></tr>",
                    escape_html(path),
                    figure.runs,
                    figure.mean,
                    figure.max
                );
            }
            page.push_str("</table>\n");
        }
    }
    if !summary.failures.is_empty() {
        page.push_str("<h2>Distinct failures</h2>\n");
        for failure in &summary.failures {
            let seeds: Vec<String> = failure.seeds.iter().map(u64::to_string).collect();
            let _ = write!(
                page,
                "<div class=\"failure\"><b class=\"fail\">{} ({})</b> on {} seeds: {}",
                escape_html(&failure.group),
                escape_html(&failure.verdict),
                failure.seeds.len(),
                seeds.join(", ")
            );
            for line in &failure.lines {
                let _ = write!(page, "<pre>{}</pre>", escape_html(line));
            }
            let _ = writeln!(
                page,
                "replay: <code>{}</code></div>",
                escape_html(&failure.replay)
            );
        }
    }
    for conflict in &summary.conflicts {
        let _ = writeln!(
            page,
            "<p class=\"fail\">CONFLICT {} seed {}: trace hashes {} and {}</p>",
            escape_html(&conflict.scenario),
            conflict.seed,
            escape_html(&conflict.first),
            escape_html(&conflict.second)
        );
    }
    page.push_str("</body>\n</html>\n");
    page
}
