//! The run timeline: recording it leaves the run unchanged, the page of a
//! seed is the same bytes every time and stays small, a failing run's page
//! holds its faults, node events and violation, and headless Chromium
//! draws every node's lane, every fault band and the violation from it,
//! shows the log around an event on hover, and zooms and pans.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use replsim::scenario::{self, Scenario};
use replsim::server::probe::PlantedBugs;
use replsim::sim::{run_seed_with, run_seed_with_timeline, RunOptions};
use replsim::timeline::{page, FaultKind, FlagKind, NodeEventKind, Timeline};

/// The planted bug that makes busy-random seed 1 serve wrong reads.
const PLANT: &str = "replica-deletes-expired-on-read";

fn busy_random() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/busy-random.json");
    scenario::collect(&[path])
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

fn planted() -> RunOptions {
    RunOptions {
        planted: PlantedBugs::default().with(PLANT).expect("known bug"),
    }
}

fn timeline_of(options: RunOptions) -> Timeline {
    run_seed_with_timeline(&busy_random(), 1, options)
        .timeline
        .expect("a recorded timeline")
}

#[test]
fn recording_the_timeline_leaves_the_run_unchanged() {
    let scenario = busy_random();
    for options in [RunOptions::default(), planted()] {
        let plain = run_seed_with(&scenario, 1, options);
        let recorded = run_seed_with_timeline(&scenario, 1, options);
        assert!(plain.timeline.is_none());
        assert_eq!(plain.trace_hash, recorded.trace_hash);
        assert_eq!(plain.verdict, recorded.verdict);
    }
}

#[test]
fn the_page_of_a_seed_is_the_same_bytes_every_time_and_stays_small() {
    let first = page::render(&timeline_of(RunOptions::default()));
    let second = page::render(&timeline_of(RunOptions::default()));
    assert!(first == second, "two renderings of one seed differ");
    assert!(
        first.len() < 3_000_000,
        "busy-random's page is {} bytes",
        first.len()
    );
}

#[test]
fn a_passing_busy_run_shows_every_fault_and_node_event_of_its_trace() {
    let timeline = timeline_of(RunOptions::default());
    assert_eq!(timeline.verdict, "pass");
    assert_eq!(timeline.nodes, ["m", "r1", "r2", "r3", "r4", "r5"]);
    let index = |name: &str| timeline.nodes.iter().position(|n| n == name).unwrap();
    // Steps: cut m-r1, a timed partition r2 | r4,r5, a pause of r3, a
    // crash and restart of r5, a cut r2-r4.
    let kinds: Vec<FaultKind> = timeline.faults.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FaultKind::Cut, FaultKind::Partition, FaultKind::Cut]
    );
    let partition = &timeline.faults[1];
    assert_eq!(partition.nodes, [index("r2"), index("r4"), index("r5")]);
    assert!(partition.end_ms > partition.start_ms);
    let trace_time = |needle: &str| -> u64 {
        let line = timeline
            .log
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no '{needle}' in the log"));
        let stamp = line.split_once("s ").unwrap().0;
        let (s, ms) = stamp.split_once('.').unwrap();
        s.parse::<u64>().unwrap() * 1000 + ms.parse::<u64>().unwrap()
    };
    assert_eq!(partition.start_ms, trace_time("== steps[2] partition r2"));
    assert_eq!(partition.end_ms, trace_time("partition healed after"));
    let at = |kind: NodeEventKind, node: &str| -> Vec<u64> {
        timeline
            .events
            .iter()
            .filter(|e| e.kind == kind && e.node == index(node))
            .map(|e| e.at_ms)
            .collect()
    };
    assert_eq!(at(NodeEventKind::Crash, "r5"), [trace_time("crash r5")]);
    assert_eq!(at(NodeEventKind::Restart, "r5"), [trace_time("restart r5")]);
    assert_eq!(at(NodeEventKind::Pause, "r3"), [trace_time("pause r3")]);
    // Every replica's initial full sync, and r1's partial resync after
    // its cut.
    for replica in ["r1", "r2", "r3", "r4", "r5"] {
        assert!(
            !at(NodeEventKind::FullSync, replica).is_empty(),
            "{replica}"
        );
    }
    assert!(at(NodeEventKind::PartialSync, "r1")
        .iter()
        .any(|&t| t >= trace_time("cut m <-> r1")));
    // r5 is down from its crash to its restart.
    let r5_down = timeline
        .states
        .iter()
        .find(|s| s.node == index("r5") && s.role == "down")
        .expect("r5 down");
    assert_eq!(r5_down.at_ms, trace_time("crash r5"));
    // Every node's offset reaches the master's final offset.
    let last = |node: usize| {
        timeline
            .offsets
            .iter()
            .rev()
            .find(|p| p.node == node)
            .unwrap()
            .offset
    };
    for n in 0..timeline.nodes.len() {
        assert_eq!(last(n), last(0), "{}", timeline.nodes[n]);
    }
    assert!(timeline.writes.iter().all(|w| !w.lost));
    assert!(timeline.writes.iter().any(|w| w.acked));
    assert!(timeline.flags.is_empty() && timeline.stuck.is_empty());
}

#[test]
fn a_failing_run_places_each_violation_on_its_node_and_marks_the_wrong_read() {
    let timeline = timeline_of(planted());
    assert_eq!(timeline.verdict, "safety");
    assert!(!timeline.flags.is_empty());
    for flag in &timeline.flags {
        let node = flag.node.expect("a read violation names its node");
        let wrong = timeline
            .reads
            .iter()
            .find(|r| r.wrong && r.node == node && r.at_ms == flag.at_ms);
        assert!(wrong.is_some(), "no wrong read marked for {}", flag.text);
        assert!(timeline.details.contains(&flag.text));
    }
}

/// What a bounded command printed.
struct Printed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `command` for at most two minutes, its output going to files in
/// `dir` (a pipe would fill up and stall a browser dumping a large DOM).
fn run_bounded(mut command: Command, dir: &Path, name: &str) -> Printed {
    let out = dir.join(format!("{name}.stdout"));
    let err = dir.join(format!("{name}.stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran for more than two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Printed {
        code: status.code(),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    }
}

/// A page that loads `busy-random-seed-1.html` in a frame, hovers the
/// first violation, zooms with the wheel and the zoom-in button, pans by
/// dragging, and writes what the page showed after each into `#out`.
const INTERACT: &str = r#"<!DOCTYPE html>
<html><body>
<iframe id="page" src="busy-random-seed-1.html" width="1400" height="1000"></iframe>
<pre id="out">not run</pre>
<script>
document.getElementById("page").addEventListener("load", function () {
  var out = document.getElementById("out");
  try {
    var doc = this.contentDocument, win = this.contentWindow, lines = [];
    var chart = doc.getElementById("chart");
    var target = doc.querySelector('[data-violation="0"]');
    var box = target.getBoundingClientRect();
    var x = box.left + 1, y = box.top + 40;
    target.dispatchEvent(new win.MouseEvent("mousemove", { bubbles: true, clientX: x, clientY: y }));
    var tip = doc.getElementById("tip");
    lines.push("tip " + (tip.hidden ? "hidden" : "shown"));
    lines.push(tip.innerText);
    var plot = doc.querySelector('[data-plot="offsets"]').getBoundingClientRect();
    doc.querySelector('[data-plot="offsets"]').dispatchEvent(new win.MouseEvent("mousemove",
      { bubbles: true, clientX: x, clientY: plot.top + 20 }));
    lines.push(tip.innerText);
    chart.dispatchEvent(new win.WheelEvent("wheel", { deltaY: -100, clientX: x, clientY: y, bubbles: true, cancelable: true }));
    doc.getElementById("zoom-in").click();
    setTimeout(function () {
      lines.push("zoomed " + doc.getElementById("window").textContent);
      chart.dispatchEvent(new win.MouseEvent("mousedown", { bubbles: true, clientX: 700, clientY: y }));
      chart.dispatchEvent(new win.MouseEvent("mousemove", { bubbles: true, clientX: 800, clientY: y }));
      win.dispatchEvent(new win.MouseEvent("mouseup", { bubbles: true, clientX: 800, clientY: y }));
      setTimeout(function () {
        lines.push("panned " + doc.getElementById("window").textContent);
        out.textContent = lines.join("\n");
      }, 200);
    }, 200);
  } catch (error) {
    out.textContent = "error " + error;
  }
});
</script>
</body></html>
"#;

/// Headless Chromium with its own profile directory under `dir`.
fn browser(binary: &str, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1400,1000",
    ]);
    command.arg(format!("--user-data-dir={}", dir.join("profile").display()));
    command
}

#[test]
fn chromium_draws_every_lane_fault_band_and_violation_then_hovers_zooms_and_pans() {
    let test = "chromium_draws_every_lane_fault_band_and_violation_then_hovers_zooms_and_pans";
    let Some(chromium) = common::chromium(test) else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let page_path = dir.join("busy-random-seed-1.html");
    // The page as `replay --html` writes it.
    let mut replay = Command::new(env!("CARGO_BIN_EXE_replsim"));
    replay
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["replay", "scenarios/busy-random.json", "--seed", "1"])
        .args(["--plant", PLANT, "--html"])
        .arg(&page_path);
    let output = run_bounded(replay, &dir, "replay");
    assert_eq!(output.code, Some(1), "a safety verdict: {}", output.stderr);
    let html = std::fs::read_to_string(&page_path).unwrap();
    // What the browser must draw comes from the page's own data.
    let data = html
        .split("id=\"run-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let run: serde_json::Value = serde_json::from_str(data).unwrap();
    let nodes: Vec<&str> = run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let faults = run["faults"].as_array().unwrap().len();
    let flags = run["flags"].as_array().unwrap().len();
    assert!(nodes.len() == 6 && faults == 3 && flags > 0);
    // The script, not the file, makes the lanes.
    assert!(!html.contains("data-lane=\"node:"));

    let url = format!("file://{}", page_path.display());
    let mut dump = browser(chromium, &dir);
    dump.arg("--dump-dom").arg(&url);
    let output = run_bounded(dump, &dir, "dump-dom");
    let dom = output.stdout;
    assert!(
        dom.contains("<svg") && dom.contains("id=\"timeline\""),
        "no timeline drawn; stderr: {}",
        output.stderr
    );
    for node in &nodes {
        assert!(
            dom.contains(&format!("data-lane=\"node:{node}\"")),
            "no lane for {node}"
        );
    }
    for fault in 0..faults {
        assert!(
            dom.contains(&format!("data-fault=\"{fault}\"")),
            "no bar for fault {fault}"
        );
        assert!(
            dom.contains(&format!("data-band=\"{fault}\"")),
            "no band for fault {fault} across its lanes"
        );
    }
    for flag in 0..flags {
        assert!(
            dom.contains(&format!("data-violation=\"{flag}\"")),
            "violation {flag} not drawn"
        );
    }
    assert!(dom.contains("data-wrong-read=\"true\""));
    for lane in ["faults", "offsets", "writes"] {
        assert!(dom.contains(&format!("data-lane=\"{lane}\"")), "{lane}");
    }

    // A link to a window of the run opens zoomed in on it.
    let mut zoomed = browser(chromium, &dir);
    zoomed.arg("--dump-dom").arg(format!("{url}#10-12.5"));
    let output = run_bounded(zoomed, &dir, "dump-dom-zoomed");
    assert!(
        output
            .stdout
            .contains("<span id=\"window\">10.000s to 12.500s of "),
        "not zoomed: {}",
        output.stderr
    );

    // Hover, zoom and pan, driven through the browser by a page that
    // holds the timeline in a frame and reports what it then shows.
    std::fs::write(dir.join("interact.html"), INTERACT).unwrap();
    let mut interact = browser(chromium, &dir);
    interact
        .args([
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
        ])
        .arg("--dump-dom")
        .arg(format!("file://{}", dir.join("interact.html").display()));
    let output = run_bounded(interact, &dir, "interact");
    let report = output
        .stdout
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no report: {}", output.stderr))
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let first_flag = run["flags"][0]["d"].as_str().unwrap();
    assert!(report.contains("tip shown"), "{report}");
    let flagged = nodes[run["flags"][0]["n"].as_u64().unwrap() as usize];
    assert!(
        report.contains(&format!("on {flagged}: {first_flag}")),
        "{report}"
    );
    // The tip holds the log lines around the violation.
    assert!(
        report.contains(&format!("== VIOLATION {first_flag}")),
        "{report}"
    );
    // Hovering the offset plot at the violation gives every node's offset
    // there: r4 and r5, cut off from r2 by the partition, are behind.
    let flag_s = run["flags"][0]["t"].as_u64().unwrap() / 1000;
    assert!(
        report.contains(&format!("offsets at {flag_s}.")),
        "{report}"
    );
    for node in ["r4", "r5"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{node} ")) && l.ends_with("bytes behind)")),
            "{node} not behind: {report}"
        );
    }
    let window = |label: &str| -> (f64, f64) {
        let line = report
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {report}"));
        let (from, rest) = line.split_once("s to ").unwrap();
        let to = rest.split_once("s of").unwrap().0;
        (from.trim().parse().unwrap(), to.parse().unwrap())
    };
    let end = run["end_ms"].as_f64().unwrap() / 1000.0;
    let (from, to) = window("zoomed ");
    // A wheel notch (x0.8) and the zoom-in button (x0.5).
    assert!(((to - from) - end * 0.4).abs() < 0.01, "{report}");
    let (panned_from, panned_to) = window("panned ");
    assert!(panned_from < from && (panned_to - panned_from - (to - from)).abs() < 0.01);

    let screenshot = dir.join("busy-random-seed-1.png");
    let mut shot = browser(chromium, &dir);
    shot.arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url);
    run_bounded(shot, &dir, "screenshot");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    eprintln!("{test}: screenshot at {}", screenshot.display());
}

#[test]
fn explore_writes_a_timeline_page_for_each_failing_seed_only() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline-explore-pages");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pages = dir.join("pages");
    let mut explore = Command::new(env!("CARGO_BIN_EXE_replsim"));
    explore
        .args(["explore", "--seeds", "0..2", "--shrink-budget", "0"])
        .args(["--plant", PLANT, "--out"])
        .arg(dir.join("failures"))
        .arg("--html-dir")
        .arg(&pages);
    let output = run_bounded(explore, &dir, "explore");
    assert_eq!(output.code, Some(1), "{}", output.stderr);
    assert!(output.stdout.contains("timeline: "), "{}", output.stdout);
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    // Seed 0 passes, seed 1 serves wrong reads.
    assert_eq!(written, ["explore-1-seed-1.html"]);
    let page = std::fs::read_to_string(pages.join(&written[0])).unwrap();
    assert!(page.contains(&format!("--seed 1 --plant {PLANT}</code>")));
    assert!(page.contains("verdict: safety"));
}

#[test]
fn run_writes_the_page_of_a_liveness_failure_with_its_stuck_replica() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline-run-pages");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pages = dir.join("pages");
    let mut run = Command::new(env!("CARGO_BIN_EXE_replsim"));
    run.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "tests/data/cli/never-converges.json", "--seed", "1"])
        .arg("--html-dir")
        .arg(&pages);
    let output = run_bounded(run, &dir, "run");
    assert_eq!(output.code, Some(2), "{}", output.stderr);
    let page = std::fs::read_to_string(pages.join("never-converges-seed-1.html")).unwrap();
    let data = page
        .split("id=\"run-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let run: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(run["verdict"], "liveness");
    // r1 (node 1), whose masterauth is wrong, is the stuck replica.
    assert_eq!(run["stuck"], serde_json::json!([1]));
}

#[test]
fn a_crashed_run_gets_no_page_and_says_so() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline-crash-pages");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pages = dir.join("pages");
    let mut run = Command::new(env!("CARGO_BIN_EXE_replsim"));
    run.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "tests/data/cli/crashes.json", "--seed", "0"])
        .arg("--html-dir")
        .arg(&pages);
    let output = run_bounded(run, &dir, "run");
    assert_eq!(output.code, Some(3), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("no timeline for crashes seed 0: it crashed"),
        "{}",
        output.stdout
    );
    assert_eq!(std::fs::read_dir(&pages).unwrap().count(), 0);
}

#[test]
fn a_failed_expectation_is_flagged_where_it_failed() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cli/impossible-expectation.json");
    let scenario = scenario::collect(&[path])
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let report = run_seed_with_timeline(&scenario, 0, RunOptions::default());
    let timeline = report.timeline.expect("recorded");
    assert_eq!(timeline.verdict, "expectation");
    let flags: Vec<(FlagKind, &str)> = timeline
        .flags
        .iter()
        .map(|f| (f.kind, f.text.as_str()))
        .collect();
    let details: Vec<(FlagKind, &str)> = timeline
        .details
        .iter()
        .map(|d| (FlagKind::Expectation, d.as_str()))
        .collect();
    assert_eq!(flags, details);
}
