//! The timeline page: one self-contained HTML file (inline CSS, script and
//! data; no network, no external scripts or fonts) whose script draws the
//! run as SVG: a lane per node, fault bands, the offset plot, client
//! operation lanes, the violation, hover details and zoom.

use super::Timeline;

/// The page's stylesheet.
const STYLE: &str = include_str!("page.css");
/// The page's script: reads the embedded data and draws the SVG.
const SCRIPT: &str = include_str!("page.js");

/// `text` escaped for HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
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

/// `value` as JSON that is safe inside a `<script>` element: every `<`
/// becomes `\u003c`, so no `</script>` or `<!--` can end it early.
pub fn script_json(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    json.replace('<', "\\u003c")
}

/// The page for `timeline`; the same timeline gives the same bytes.
pub fn render(timeline: &Timeline) -> String {
    let title = format!(
        "{} seed {}: {}",
        timeline.scenario, timeline.seed, timeline.verdict
    );
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str(&format!("<title>{}</title>\n", escape_html(&title)));
    page.push_str("<style>\n");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n");
    page.push_str(&format!(
        "<header><h1>{}</h1><p class=\"verdict verdict-{}\">verdict: {}</p>",
        escape_html(&title),
        escape_html(&timeline.verdict),
        escape_html(&timeline.verdict)
    ));
    if !timeline.details.is_empty() {
        page.push_str("<ul class=\"details\">");
        for line in &timeline.details {
            page.push_str(&format!("<li>{}</li>", escape_html(line)));
        }
        page.push_str("</ul>");
    }
    let replay = if timeline.replay.is_empty() {
        format!("replsim replay {} --seed {}", timeline.file, timeline.seed)
    } else {
        timeline.replay.clone()
    };
    page.push_str(&format!(
        "<p class=\"replay\">replay: <code>{}</code></p>",
        escape_html(&replay)
    ));
    page.push_str(concat!(
        "<p class=\"help\">Scroll to zoom, drag to pan, double-click to reset; ",
        "hover an event for its log lines; a link ending in #12.5-14 opens seconds ",
        "12.5 to 14.</p></header>\n",
        "<div id=\"controls\"><button id=\"zoom-in\">zoom in</button>",
        "<button id=\"zoom-out\">zoom out</button><button id=\"reset\">reset</button>",
        "<span id=\"window\"></span></div>\n",
        "<div id=\"chart\"></div>\n<div id=\"tip\" hidden></div>\n",
        "<div id=\"legend\"></div>\n",
    ));
    page.push_str("<script type=\"application/json\" id=\"run-data\">");
    page.push_str(&script_json(timeline));
    page.push_str("</script>\n<script>\n");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_cannot_close_its_script_element() {
        let timeline = Timeline {
            log: vec!["</script><script>alert(1)</script>".to_string()],
            ..Timeline::default()
        };
        let page = render(&timeline);
        let data = page
            .split("id=\"run-data\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("data element");
        let parsed: serde_json::Value = serde_json::from_str(data).expect("valid JSON");
        assert_eq!(parsed["log"][0], "</script><script>alert(1)</script>");
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The SVG namespace is a name, never fetched.
        let page = render(&Timeline::default()).replace("http://www.w3.org/2000/svg", "");
        for needle in ["http:", "https:", "src=", "<link", "@import", "@font-face"] {
            assert!(!page.contains(needle), "page contains {needle}");
        }
    }

    #[test]
    fn titles_are_escaped() {
        let timeline = Timeline {
            scenario: "a<b>&\"c\"".to_string(),
            ..Timeline::default()
        };
        let page = render(&timeline);
        assert!(page.contains("<title>a&lt;b&gt;&amp;&quot;c&quot; seed 0: </title>"));
    }
}
