//! Writing timeline pages to files: the page of one recorded run, and the
//! pages of every failing run of a sweep (replayed with the timeline
//! recorded, which plays the same run).

use std::path::{Path, PathBuf};

use super::page;
use crate::scenario::Scenario;
use crate::sim::{run_seed_with_timeline, RunOptions, RunReport, Verdict};
use crate::sweep::replay_command;

/// Why a page was not written.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The run was not recorded with its timeline (or crashed before it
    /// could report one).
    #[error("{scenario} seed {seed}: the run recorded no timeline")]
    NotRecorded {
        /// Scenario.
        scenario: String,
        /// Seed.
        seed: u64,
    },
    /// The replay recorded for the page played differently from the run.
    #[error("{scenario} seed {seed} played differently when replayed for its timeline (trace hashes {first} and {second})")]
    Diverged {
        /// Scenario.
        scenario: String,
        /// Seed.
        seed: u64,
        /// The run's trace hash.
        first: String,
        /// The replay's.
        second: String,
    },
    /// The file or its directory could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Writes the page of `report` (recorded with its timeline, with the bugs
/// `plant` names planted) to `path`.
pub fn write_page(report: &RunReport, plant: &[String], path: &Path) -> Result<(), PageError> {
    let mut timeline = report
        .timeline
        .clone()
        .ok_or_else(|| PageError::NotRecorded {
            scenario: report.scenario.clone(),
            seed: report.seed,
        })?;
    timeline.replay = replay_command(report);
    for bug in plant {
        timeline.replay.push_str(&format!(" --plant {bug}"));
    }
    std::fs::write(path, page::render(&timeline)).map_err(|source| PageError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The file name of a run's page: `SCENARIO-seed-SEED.html`, with any
/// character of the name other than letters, digits, `-` and `_` as `_`.
pub fn page_name(scenario: &str, seed: u64) -> String {
    let name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}-seed-{seed}.html")
}

/// What became of one failing run's page.
#[derive(Debug)]
pub enum Written {
    /// The page is at this path.
    Page(PathBuf),
    /// The run crashed: a crash leaves no timeline to draw.
    Crashed(String),
}

/// Replays every failing run of `reports` (runs of `scenarios` with
/// `options`) with its timeline recorded, and writes its page into `dir`
/// (created when there is a failure), in report order.
pub fn write_failure_pages(
    scenarios: &[Scenario],
    reports: &[RunReport],
    options: RunOptions,
    plant: &[String],
    dir: &Path,
) -> Result<Vec<Written>, PageError> {
    let failing: Vec<&RunReport> = reports
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .collect();
    if failing.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|source| PageError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for report in failing {
        if let Verdict::Crash(_) = report.verdict {
            written.push(Written::Crashed(format!(
                "{} seed {}",
                report.scenario, report.seed
            )));
            continue;
        }
        let Some(scenario) = scenarios
            .iter()
            .find(|s| s.name == report.scenario && s.file == report.file)
        else {
            continue;
        };
        let replayed = run_seed_with_timeline(scenario, report.seed, options);
        if replayed.trace_hash != report.trace_hash {
            return Err(PageError::Diverged {
                scenario: report.scenario.clone(),
                seed: report.seed,
                first: report.trace_hash.clone(),
                second: replayed.trace_hash,
            });
        }
        let path = dir.join(page_name(&report.scenario, report.seed));
        write_page(&replayed, plant, &path)?;
        written.push(Written::Page(path));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_keep_only_safe_characters() {
        assert_eq!(page_name("busy-random", 7), "busy-random-seed-7.html");
        assert_eq!(page_name("a/b c..", 0), "a_b_c__-seed-0.html");
    }
}
