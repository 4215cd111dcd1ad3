//! Shards: `--shard K/N` and `--shard auto` (from the environment a CI
//! matrix, a Kubernetes Indexed Job or GitLab's `parallel:` sets), and why
//! a shard could not be read.

/// `K/N`: this process runs the K-th of N shards (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected K/N (like 2/8), got '{text}'"))?;
        let (index, count): (u64, u64) = match (k.parse(), n.parse()) {
            (Ok(k), Ok(n)) => (k, n),
            _ => {
                return Err(format!(
                    "expected K/N with numbers (like 2/8), got '{text}'"
                ))
            }
        };
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: K must be in 1..=N"));
        }
        Ok(Shard { index, count })
    }
}

/// What `--shard` says: a fixed shard, or `auto` (read from the
/// environment a job engine sets, see [`ShardChoice::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardChoice {
    /// `K/N`.
    Fixed(Shard),
    /// `auto`.
    Auto,
}

impl std::str::FromStr for ShardChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            return Ok(ShardChoice::Auto);
        }
        text.parse()
            .map(ShardChoice::Fixed)
            .map_err(|e| format!("{e} (or auto)"))
    }
}

/// Why `--shard auto` found no shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No variable the engines set is present.
    #[error(
        "--shard auto: no shard in the environment (set REPLSIM_SHARD=K/N, \
         or JOB_COMPLETION_INDEX with REPLSIM_SHARD_COUNT in a Kubernetes Indexed Job, \
         or REPLSIM_SHARD_INDEX with REPLSIM_SHARD_COUNT, or CI_NODE_INDEX with CI_NODE_TOTAL)"
    )]
    Missing,
    /// An index without its count.
    #[error("--shard auto: {index} is set but {count} is not")]
    NoCount {
        /// The index variable found.
        index: &'static str,
        /// The count variable missing.
        count: &'static str,
    },
    /// A value that is not a number, or an index outside the count.
    #[error("--shard auto: {variable}={value} {problem}")]
    Invalid {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The environment variables `--shard auto` reads, in order: the name of
/// the index, the name of the count, and whether the index counts from 0.
/// The first index present wins.
pub const AUTO_SHARD_SOURCES: [(&str, &str, bool); 3] = [
    // Kubernetes Indexed Jobs set the index; the manifest passes the
    // completion count (Kubernetes does not).
    ("JOB_COMPLETION_INDEX", "REPLSIM_SHARD_COUNT", true),
    // A CI matrix (GitHub Actions, or anything else) sets both.
    ("REPLSIM_SHARD_INDEX", "REPLSIM_SHARD_COUNT", true),
    // GitLab CI's `parallel:` jobs.
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", false),
];

impl ShardChoice {
    /// The shard to run: a fixed one as given; `auto` from `REPLSIM_SHARD`
    /// (`K/N`, 1-based) or else from the first index of
    /// [`AUTO_SHARD_SOURCES`] that `env` holds, with its count.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        if let ShardChoice::Fixed(shard) = self {
            return Ok(shard);
        }
        if let Some(value) = env("REPLSIM_SHARD") {
            return value.parse().map_err(|problem| ShardError::Invalid {
                variable: "REPLSIM_SHARD",
                value,
                problem,
            });
        }
        for (index_name, count_name, from_zero) in AUTO_SHARD_SOURCES {
            let Some(index) = env(index_name) else {
                continue;
            };
            let count = env(count_name).ok_or(ShardError::NoCount {
                index: index_name,
                count: count_name,
            })?;
            let number = |variable: &'static str, value: &str| {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| ShardError::Invalid {
                        variable,
                        value: value.to_string(),
                        problem: "is not a number".into(),
                    })
            };
            let (index_value, count_value) =
                (number(index_name, &index)?, number(count_name, &count)?);
            if count_value == 0 {
                return Err(ShardError::Invalid {
                    variable: count_name,
                    value: count,
                    problem: "must be at least 1".into(),
                });
            }
            let one_based = if from_zero {
                index_value + 1
            } else {
                index_value
            };
            if one_based == 0 || one_based > count_value {
                return Err(ShardError::Invalid {
                    variable: index_name,
                    value: index,
                    problem: format!(
                        "is outside the {count_value} shards ({})",
                        if from_zero {
                            "counting from 0"
                        } else {
                            "counting from 1"
                        }
                    ),
                });
            }
            return Ok(Shard {
                index: one_based,
                count: count_value,
            });
        }
        Err(ShardError::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn auto_shard_reads_kubernetes_ci_matrix_and_gitlab_variables() {
        let shard = |index, count| Ok(Shard { index, count });
        let auto = |pairs: &[(&str, &str)]| ShardChoice::Auto.resolve(env_of(pairs));
        assert_eq!(auto(&[("REPLSIM_SHARD", "3/8")]), shard(3, 8));
        assert_eq!(
            auto(&[("JOB_COMPLETION_INDEX", "0"), ("REPLSIM_SHARD_COUNT", "4")]),
            shard(1, 4)
        );
        assert_eq!(
            auto(&[("REPLSIM_SHARD_INDEX", "3"), ("REPLSIM_SHARD_COUNT", "4")]),
            shard(4, 4)
        );
        assert_eq!(
            auto(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")]),
            shard(2, 5)
        );
        // REPLSIM_SHARD wins over an engine's variables.
        assert_eq!(
            auto(&[
                ("REPLSIM_SHARD", "2/2"),
                ("JOB_COMPLETION_INDEX", "0"),
                ("REPLSIM_SHARD_COUNT", "2")
            ]),
            shard(2, 2)
        );
        let fixed = Shard { index: 1, count: 2 };
        assert_eq!(
            ShardChoice::Fixed(fixed).resolve(env_of(&[("REPLSIM_SHARD", "2/2")])),
            Ok(fixed)
        );
    }

    #[test]
    fn auto_shard_refuses_missing_partial_and_out_of_range_values() {
        let auto = |pairs: &[(&str, &str)]| ShardChoice::Auto.resolve(env_of(pairs));
        assert_eq!(auto(&[]), Err(ShardError::Missing));
        assert_eq!(
            auto(&[("JOB_COMPLETION_INDEX", "1")]),
            Err(ShardError::NoCount {
                index: "JOB_COMPLETION_INDEX",
                count: "REPLSIM_SHARD_COUNT"
            })
        );
        for pairs in [
            &[("JOB_COMPLETION_INDEX", "4"), ("REPLSIM_SHARD_COUNT", "4")][..],
            &[("JOB_COMPLETION_INDEX", "x"), ("REPLSIM_SHARD_COUNT", "4")],
            &[("JOB_COMPLETION_INDEX", "0"), ("REPLSIM_SHARD_COUNT", "0")],
            &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")],
            &[("REPLSIM_SHARD", "5/4")],
        ] {
            assert!(
                matches!(auto(pairs), Err(ShardError::Invalid { .. })),
                "{pairs:?}"
            );
        }
        assert_eq!("auto".parse::<ShardChoice>(), Ok(ShardChoice::Auto));
        assert!("0/3".parse::<ShardChoice>().is_err());
    }
}
