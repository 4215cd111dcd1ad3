//! From the positioned JSON tree ([`super::json`]) to the model
//! ([`super::model`]): the reading helpers (types, durations, ranges,
//! counts, node names), the top level, the network and the nodes, every
//! field read by hand, so that every mistake — unknown key, wrong type, bad
//! duration, unknown node, replication cycle — becomes a [`ScenarioError`]
//! at the offending value's path and position, saying what was expected.
//! Steps are read in [`super::steps`].

use std::time::Duration;

use super::bound::{MAX_SIMULATED_TIME, RUN_SLACK};
use super::error::{ErrorKind, ScenarioError};
use super::json::{index_path, key_path, Kind, Member, Pos, Value};
use super::model::{
    CmpOp, CountCheck, DisplayDuration, DurationCheck, DurationRange, InfoExpect, IntRange,
    LossBounds, NetworkSpec, NodeConf, NodeSpec, Scenario, SentinelSpec,
};
use super::timeline::{Problem, Timeline};
use super::values::{
    closest, parse_count, parse_duration, parse_u64, split_operator, split_range, DurationError,
};
use super::vocab::{ObjectKind, Place};

pub(super) type R<T> = Result<T, ScenarioError>;

/// The name `cut` and `partition` steps give the host every workload
/// client (and reader) runs on, so that a scenario can cut a node off
/// from its clients or put them on the minority side of a partition.
pub const CLIENTS_HOST: &str = "clients";

/// The Redis config parameters a node's `config` may set: the ones the
/// server honours.
pub const CONFIG_PARAMETERS: &[&str] = &[
    "hz",
    "requirepass",
    "masterauth",
    "masteruser",
    "replica-announce-ip",
    "repl-backlog-size",
    "repl-backlog-ttl",
    "repl-timeout",
    "repl-ping-replica-period",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "repl-diskless-sync-max-replicas",
    "repl-diskless-load",
    "replica-read-only",
    "replica-serve-stale-data",
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "client-output-buffer-limit",
    "save",
    "stop-writes-on-bgsave-error",
    "dbfilename",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "maxclients",
    "enable-debug-command",
    "replica-priority",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "replica-ignore-maxmemory",
    "lazyfree-lazy-eviction",
    "lfu-log-factor",
    "lfu-decay-time",
];

const DURATION_LIKE: &str = "a duration with a unit, like \"5ms\" or \"1s..3s\"";

/// The JSON value shown after "got": strings quoted and shortened, numbers
/// as written, containers by kind.
fn describe(v: &Value) -> String {
    match &v.kind {
        Kind::Null => "null".to_string(),
        Kind::Bool(b) => b.to_string(),
        Kind::Number(_, raw) => raw.clone(),
        Kind::Str(s) => {
            const MAX: usize = 40;
            let shown: String = if s.chars().count() > MAX {
                s.chars().take(MAX).chain("...".chars()).collect()
            } else {
                s.clone()
            };
            serde_json::to_string(&shown).unwrap_or(shown)
        }
        Kind::Array(items) if items.is_empty() => "an empty array".to_string(),
        Kind::Array(items) if items.len() == 1 => "an array of 1 item".to_string(),
        Kind::Array(items) => format!("an array of {} items", items.len()),
        Kind::Object(members) if members.is_empty() => "an empty object".to_string(),
        Kind::Object(_) => "an object".to_string(),
    }
}

pub(super) fn list(items: &[&str]) -> String {
    items.join(", ")
}

/// An object being read: its path, position and members in file order.
pub(super) struct Obj<'v> {
    pub path: String,
    pub pos: Pos,
    pub members: &'v [Member],
}

impl<'v> Obj<'v> {
    pub(super) fn get(&self, key: &str) -> Option<&'v Member> {
        self.members.iter().find(|m| m.key == key)
    }

    pub(super) fn child(&self, key: &str) -> String {
        key_path(&self.path, key)
    }
}

/// The conversion context: the file name for errors, and the node names
/// once `nodes` has been read.
pub(crate) struct Cx<'a> {
    file: &'a str,
    nodes: Vec<String>,
    /// The Sentinels' names once `sentinels` has been read.
    sentinels: Vec<String>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(file: &'a str) -> Self {
        Cx {
            file,
            nodes: Vec::new(),
            sentinels: Vec::new(),
        }
    }

    pub(super) fn err(
        &self,
        path: &str,
        pos: Pos,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::new(self.file, path, pos.pair(), kind, message)
    }

    pub(super) fn expected(&self, v: &Value, path: &str, what: &str) -> ScenarioError {
        self.err(
            path,
            v.pos,
            ErrorKind::Type,
            format!("expected {what}, got {}", describe(v)),
        )
    }

    pub(super) fn bad_value(&self, v: &Value, path: &str, what: &str) -> ScenarioError {
        self.err(
            path,
            v.pos,
            ErrorKind::Value,
            format!("expected {what}, got {}", describe(v)),
        )
    }

    pub(super) fn impossible(&self, path: &str, pos: Pos, problem: Problem) -> ScenarioError {
        self.err(path, pos, ErrorKind::Impossible, problem.message)
            .maybe_hint(problem.hint)
    }

    pub(super) fn missing(&self, obj: &Obj, key: &str, needs: &str) -> ScenarioError {
        self.err(
            &obj.child(key),
            obj.pos,
            ErrorKind::Value,
            format!("missing: {needs}"),
        )
    }

    // ---- JSON types -------------------------------------------------------

    /// An object, with duplicate keys rejected.
    pub(super) fn object<'v>(&self, v: &'v Value, path: &str, what: &str) -> R<Obj<'v>> {
        let Kind::Object(members) = &v.kind else {
            return Err(self.expected(v, path, what));
        };
        for (i, m) in members.iter().enumerate() {
            if let Some(first) = members[..i].iter().find(|f| f.key == m.key) {
                return Err(self.err(
                    &key_path(path, &m.key),
                    m.key_pos,
                    ErrorKind::Value,
                    format!(
                        "duplicate key `{}` (first at line {}, column {})",
                        m.key, first.key_pos.line, first.key_pos.column
                    ),
                ));
            }
        }
        Ok(Obj {
            path: path.to_string(),
            pos: v.pos,
            members,
        })
    }

    /// Rejects the first key (in file order) that is not a field of
    /// `place`'s kind (`described`: "in a workload"), saying where it
    /// belongs when it is a field of the object around or inside this one.
    pub(super) fn known_keys(&self, obj: &Obj, place: &Place, described: &str) -> R<()> {
        let known = place.kind.fields();
        for m in obj.members {
            if !known.contains(&m.key.as_str()) {
                if let Some(there) = place.elsewhere(&m.key) {
                    return Err(self.err(
                        &obj.child(&m.key),
                        m.key_pos,
                        ErrorKind::UnknownField,
                        format!("unknown field `{}` {described}: {there}", m.key),
                    ));
                }
                let err = self.err(
                    &obj.child(&m.key),
                    m.key_pos,
                    ErrorKind::UnknownField,
                    format!(
                        "unknown field `{}` {described}; expected one of: {}",
                        m.key,
                        list(&known)
                    ),
                );
                let hint =
                    closest(&m.key, known.iter().copied()).map(|k| format!("did you mean `{k}`?"));
                return Err(err.maybe_hint(hint));
            }
        }
        Ok(())
    }

    pub(super) fn string<'v>(&self, v: &'v Value, path: &str, what: &str) -> R<&'v str> {
        match &v.kind {
            Kind::Str(s) => Ok(s),
            _ => Err(self.expected(v, path, what)),
        }
    }

    pub(super) fn boolean(&self, v: &Value, path: &str) -> R<bool> {
        match v.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.expected(v, path, "true or false")),
        }
    }

    pub(super) fn array<'v>(&self, v: &'v Value, path: &str, what: &str) -> R<&'v [Value]> {
        match &v.kind {
            Kind::Array(items) => Ok(items),
            _ => Err(self.expected(v, path, what)),
        }
    }

    /// A non-negative JSON integer within `min..=max`.
    pub(super) fn integer(&self, v: &Value, path: &str, min: u64, max: u64, what: &str) -> R<u64> {
        let Kind::Number(n, _) = &v.kind else {
            return Err(self.expected(v, path, what));
        };
        match n.as_u64() {
            Some(x) if (min..=max).contains(&x) => Ok(x),
            Some(_) => Err(self.bad_value(v, path, what)),
            None if n.is_i64() => Err(self.bad_value(v, path, what)),
            None => Err(self.expected(v, path, what)),
        }
    }

    pub(super) fn number(&self, v: &Value, path: &str, what: &str) -> R<f64> {
        match &v.kind {
            Kind::Number(n, _) => n.as_f64().ok_or_else(|| self.expected(v, path, what)),
            _ => Err(self.expected(v, path, what)),
        }
    }

    // ---- the format's own values -------------------------------------------

    /// A node name that is in `nodes`.
    pub(super) fn node(&self, v: &Value, path: &str) -> R<String> {
        let name = self.string(v, path, "a node name")?;
        if self.nodes.iter().any(|n| n == name) {
            return Ok(name.to_string());
        }
        let err = self.err(
            path,
            v.pos,
            ErrorKind::UnknownNode,
            format!("unknown node '{name}' (nodes: {})", self.nodes.join(", ")),
        );
        let hint = closest(name, self.nodes.iter().map(String::as_str))
            .map(|n| format!("did you mean '{n}'?"));
        Err(err.maybe_hint(hint))
    }

    /// Whether the scenario has Sentinels (read before the steps).
    pub(super) fn has_sentinels(&self) -> bool {
        !self.sentinels.is_empty()
    }

    /// A node or Sentinel name: a host that faults (crash, restart, pause,
    /// cut, partition) apply to.
    pub(super) fn host(&self, v: &Value, path: &str) -> R<String> {
        if self.sentinels.is_empty() {
            return self.node(v, path);
        }
        let name = self.string(v, path, "a node or Sentinel name")?;
        let hosts: Vec<&str> = self
            .nodes
            .iter()
            .chain(&self.sentinels)
            .map(String::as_str)
            .collect();
        if hosts.contains(&name) {
            return Ok(name.to_string());
        }
        let err = self.err(
            path,
            v.pos,
            ErrorKind::UnknownNode,
            format!(
                "unknown node or Sentinel '{name}' (hosts: {})",
                hosts.join(", ")
            ),
        );
        let hint = closest(name, hosts.iter().copied()).map(|n| format!("did you mean '{n}'?"));
        Err(err.maybe_hint(hint))
    }

    /// The error for a node or Sentinel named like the clients' host.
    fn reserved_name(&self, path: &str, pos: Pos) -> ScenarioError {
        self.err(
            path,
            pos,
            ErrorKind::Value,
            format!(
                "'{CLIENTS_HOST}' is reserved: it names the workload clients' host in `cut` and `partition` steps"
            ),
        )
    }

    /// A host a link fault may name: a node, a Sentinel, or
    /// [`CLIENTS_HOST`], the host every workload client runs on.
    pub(super) fn link_end(&self, v: &Value, path: &str) -> R<String> {
        if let Kind::Str(name) = &v.kind {
            if name == CLIENTS_HOST {
                return Ok(name.clone());
            }
        }
        self.host(v, path)
    }

    fn duration_error(
        &self,
        v: &Value,
        path: &str,
        text: &str,
        why: DurationError,
    ) -> ScenarioError {
        let err = self.err(
            path,
            v.pos,
            ErrorKind::Duration,
            format!("expected {DURATION_LIKE}, got {}", describe(v)),
        );
        let range = split_range(text).is_some();
        match why {
            DurationError::NoUnit if range => {
                err.with_hint("both ends of a range need a unit, like \"1s..3s\"")
            }
            DurationError::NoUnit => {
                err.with_hint(format!("write \"{text}ms\", \"{text}s\" or \"{text}m\""))
            }
            DurationError::BadUnit => err.with_hint("the units are ms, s and m"),
            DurationError::Malformed => err,
            DurationError::TooLarge => self.err(
                path,
                v.pos,
                ErrorKind::Duration,
                format!("duration {} is too large", describe(v)),
            ),
        }
    }

    /// A duration or a range of durations.
    pub(super) fn duration_range(&self, v: &Value, path: &str) -> R<DurationRange> {
        let text = match &v.kind {
            Kind::Str(s) => s.as_str(),
            Kind::Number(_, raw) => {
                return Err(self.duration_error(v, path, raw, DurationError::NoUnit));
            }
            _ => {
                return Err(self.err(
                    path,
                    v.pos,
                    ErrorKind::Type,
                    format!("expected {DURATION_LIKE}, got {}", describe(v)),
                ))
            }
        };
        let one = |part: &str| {
            parse_duration(part).map_err(|why| self.duration_error(v, path, text, why))
        };
        let Some((a, b)) = split_range(text) else {
            return Ok(DurationRange::fixed(one(text)?));
        };
        let (min, max) = (one(a)?, one(b)?);
        if min > max {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Duration,
                format!(
                    "bad range {}: it starts after it ends ({a} > {b})",
                    describe(v)
                ),
            ));
        }
        Ok(DurationRange { min, max })
    }

    /// A single duration (no range).
    pub(super) fn duration(&self, v: &Value, path: &str, example: &str) -> R<Duration> {
        let range = self.duration_range(v, path)?;
        if !range.is_fixed() || matches!(&v.kind, Kind::Str(s) if split_range(s).is_some()) {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Duration,
                format!(
                    "expected a single duration, like \"{example}\", not a range; got {}",
                    describe(v)
                ),
            ));
        }
        Ok(range.min)
    }

    /// A JSON integer or an `"A..B"` string of integers, each at least `min`.
    pub(super) fn int_range(&self, v: &Value, path: &str, min: u64) -> R<IntRange> {
        let what = if min == 0 {
            "an integer or a range of integers, like 100 or \"10..20\"".to_string()
        } else {
            format!(
                "an integer or a range of integers, each at least {min}, like 100 or \"10..20\""
            )
        };
        let range = match &v.kind {
            Kind::Number(..) => IntRange::fixed(self.integer(v, path, min, u64::MAX, &what)?),
            Kind::Str(s) => {
                let ends = split_range(s).and_then(|(a, b)| Some((parse_u64(a)?, parse_u64(b)?)));
                let Some((a, b)) = ends else {
                    return Err(self.bad_value(v, path, &what));
                };
                if a > b {
                    return Err(self.err(
                        path,
                        v.pos,
                        ErrorKind::Value,
                        format!(
                            "bad range {}: it starts after it ends ({a} > {b})",
                            describe(v)
                        ),
                    ));
                }
                if a < min {
                    return Err(self.bad_value(v, path, &what));
                }
                IntRange { min: a, max: b }
            }
            _ => return Err(self.expected(v, path, &what)),
        };
        Ok(range)
    }

    /// A loss probability in `[0, 1)`.
    pub(super) fn loss(&self, v: &Value, path: &str) -> R<f64> {
        const WHAT: &str = "a loss probability in [0, 1), like 0.01";
        let loss = self.number(v, path, WHAT)?;
        if !(0.0..1.0).contains(&loss) {
            return Err(self.bad_value(v, path, WHAT));
        }
        Ok(loss)
    }

    /// A link bandwidth: bytes per second with Redis's memory units and
    /// `/s` (`"10mb/s"`, `"512kb/s"`), or `"unlimited"` (`None`).
    pub(super) fn bandwidth(&self, v: &Value, path: &str) -> R<Option<u64>> {
        const WHAT: &str =
            "a bandwidth like \"10mb/s\" (bytes per second, at least 1kb/s) or \"unlimited\"";
        let Kind::Str(text) = &v.kind else {
            return Err(self.expected(v, path, WHAT));
        };
        if text == "unlimited" {
            return Ok(None);
        }
        text.strip_suffix("/s")
            .and_then(|size| crate::server::config::parse_memory(size).ok())
            .filter(|&rate| rate >= 1024)
            .map(Some)
            .ok_or_else(|| self.bad_value(v, path, WHAT))
    }

    /// A connection window: a memory size of at least 1kb (`"64kb"`).
    pub(super) fn window(&self, v: &Value, path: &str) -> R<u64> {
        const WHAT: &str = "a window size like \"64kb\" (at least 1kb)";
        let Kind::Str(text) = &v.kind else {
            return Err(self.expected(v, path, WHAT));
        };
        crate::server::config::parse_memory(text)
            .ok()
            .filter(|&size| size >= 1024)
            .ok_or_else(|| self.bad_value(v, path, WHAT))
    }

    /// A count requirement: a JSON integer (==) or `">= 1"`-like string.
    pub(super) fn count(&self, v: &Value, path: &str) -> R<CountCheck> {
        const WHAT: &str = "a count like 1 or \">= 1\" (operators: ==, >=, >, <=, <)";
        let check = match &v.kind {
            Kind::Number(..) => CountCheck {
                op: CmpOp::Eq,
                value: self.integer(v, path, 0, u64::MAX, WHAT)?,
            },
            Kind::Str(s) => parse_count(s).ok_or_else(|| self.bad_value(v, path, WHAT))?,
            _ => return Err(self.expected(v, path, WHAT)),
        };
        if check.op == CmpOp::Lt && check.value == 0 {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Impossible,
                "a count is never below 0, so \"< 0\" can never hold",
            ));
        }
        Ok(check)
    }

    /// What an INFO field must hold: a JSON number (numeric equality), a
    /// string starting with an operator (`">= 10"`: a numeric comparison),
    /// or any other string (exact text).
    pub(super) fn info_expect(&self, v: &Value, path: &str) -> R<InfoExpect> {
        const WHAT: &str = "the value as INFO prints it, like \"up\" or 1, or a comparison \
             like \">= 10\" (operators: ==, >=, >, <=, <)";
        match &v.kind {
            Kind::Number(n, _) => match n.as_f64() {
                Some(value) if value.is_finite() => Ok(InfoExpect::Compare {
                    op: CmpOp::Eq,
                    value,
                }),
                _ => Err(self.bad_value(v, path, WHAT)),
            },
            Kind::Str(s) => match split_operator(s) {
                None => Ok(InfoExpect::Equals(s.clone())),
                Some((op, rest)) => match rest.parse::<f64>() {
                    Ok(value) if value.is_finite() => Ok(InfoExpect::Compare { op, value }),
                    _ => Err(self
                        .err(
                            path,
                            v.pos,
                            ErrorKind::Value,
                            format!(
                                "expected a number after `{op}`, like \"{op} 10\", got {}",
                                describe(v)
                            ),
                        )
                        .with_hint("INFO fields are compared numerically after an operator")),
                },
            },
            _ => Err(self.expected(v, path, WHAT)),
        }
    }

    // ---- the document ---------------------------------------------------------

    /// The whole scenario, and where its `name` value is.
    pub(crate) fn scenario(&mut self, root: &Value) -> R<(Scenario, Pos)> {
        let top = self.object(
            root,
            "",
            "a scenario object with \"name\", \"nodes\" and \"steps\"",
        )?;
        self.known_keys(
            &top,
            &Place::of(ObjectKind::Scenario)
                .with_child("network", ObjectKind::Network)
                .with_child("losses", ObjectKind::Losses),
            "at the top level",
        )?;

        let name_member = top.get("name").ok_or_else(|| {
            self.missing(
                &top,
                "name",
                "a scenario needs a name, like \"name\": \"chain-restart\"",
            )
        })?;
        let name = self.scenario_name(&name_member.value)?;

        let about = match top.get("about") {
            Some(m) => self.string(&m.value, "about", "a string")?.to_string(),
            None => String::new(),
        };
        let seeds = match top.get("seeds") {
            Some(m) => {
                self.integer(&m.value, "seeds", 1, u64::MAX, "a positive number of seeds")?
            }
            None => 16,
        };
        let regressions = match top.get("regressions") {
            Some(m) => self.regressions(&m.value)?,
            None => Vec::new(),
        };
        let liveness = match top.get("liveness") {
            Some(m) => {
                let liveness = self.duration(&m.value, "liveness", "60s")?;
                if liveness.saturating_add(RUN_SLACK) > MAX_SIMULATED_TIME {
                    return Err(self.err(
                        "liveness",
                        m.value.pos,
                        ErrorKind::Value,
                        format!(
                            "\"{}\" and the run's {} wrap-up are longer than the {}h a run may last",
                            DisplayDuration(liveness),
                            DisplayDuration(RUN_SLACK),
                            MAX_SIMULATED_TIME.as_secs() / 3600
                        ),
                    ));
                }
                liveness
            }
            None => Duration::from_secs(60),
        };
        let network = match top.get("network") {
            Some(m) => self.network(&m.value)?,
            None => NetworkSpec::default(),
        };
        let nodes_member = top.get("nodes").ok_or_else(|| {
            self.missing(
                &top,
                "nodes",
                "a scenario needs nodes, like \"nodes\": {\"m\": {}}",
            )
        })?;
        let nodes = self.nodes(&nodes_member.value)?;
        let steps_member = top.get("steps").ok_or_else(|| {
            self.missing(
                &top,
                "steps",
                "a scenario needs steps (they may be empty: \"steps\": [])",
            )
        })?;
        let sentinels = match top.get("sentinels") {
            Some(m) => self.sentinels(&m.value)?,
            None => Vec::new(),
        };
        let steps = self.steps(&steps_member.value, &nodes, &sentinels, liveness)?;
        let losses = match top.get("losses") {
            Some(m) => self.losses(&m.value)?,
            None => LossBounds::default(),
        };

        let scenario = Scenario {
            file: self.file.to_string(),
            name,
            about,
            seeds,
            regressions,
            liveness,
            network,
            nodes,
            steps,
            losses,
            sentinels,
        };
        Ok((scenario, name_member.value.pos))
    }

    fn scenario_name(&self, v: &Value) -> R<String> {
        const WHAT: &str =
            "a name of lowercase letters, digits and '-', like \"chain-middle-restart\"";
        let name = self.string(v, "name", WHAT)?;
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(self.bad_value(v, "name", WHAT));
        }
        Ok(name.to_string())
    }

    fn regressions(&self, v: &Value) -> R<Vec<u64>> {
        let items = self.array(v, "regressions", "an array of seeds, like [17, 4051]")?;
        let mut seeds: Vec<u64> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = index_path("regressions", i);
            let seed = self.integer(item, &path, 0, u64::MAX, "a seed (an integer >= 0)")?;
            if let Some(first) = seeds.iter().position(|s| *s == seed) {
                return Err(self.err(
                    &path,
                    item.pos,
                    ErrorKind::Value,
                    format!("seed {seed} is listed twice (also at regressions[{first}])"),
                ));
            }
            seeds.push(seed);
        }
        Ok(seeds)
    }

    /// The top-level `sentinels`: name -> Sentinel object.
    fn sentinels(&mut self, v: &Value) -> R<Vec<SentinelSpec>> {
        let obj = self.object(
            v,
            "sentinels",
            "an object of Sentinel name -> Sentinel, like {\"s1\": {\"monitor\": \"m\", \"quorum\": 2}}",
        )?;
        let mut names = Vec::new();
        for m in obj.members {
            let path = obj.child(&m.key);
            let valid = m.key.starts_with(|c: char| c.is_ascii_lowercase())
                && m.key.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                return Err(self.err(
                    &path,
                    m.key_pos,
                    ErrorKind::Value,
                    format!(
                        "bad Sentinel name {}: a name starts with a lowercase letter, followed by lowercase letters, digits, '_' or '-'",
                        serde_json::to_string(&m.key).unwrap_or_default()
                    ),
                ));
            }
            if m.key == CLIENTS_HOST {
                return Err(self.reserved_name(&path, m.key_pos));
            }
            if self.nodes.contains(&m.key) {
                return Err(self.err(
                    &path,
                    m.key_pos,
                    ErrorKind::Value,
                    format!(
                        "'{}' is already a node: a Sentinel needs a host of its own",
                        m.key
                    ),
                ));
            }
            names.push(m.key.clone());
        }
        let mut specs = Vec::new();
        for m in obj.members {
            specs.push(self.sentinel(&m.key, &m.value, &obj.child(&m.key))?);
        }
        self.sentinels = names;
        Ok(specs)
    }

    fn sentinel(&self, name: &str, v: &Value, path: &str) -> R<SentinelSpec> {
        let obj = self.object(
            v,
            path,
            "a Sentinel object like {\"monitor\": \"m\", \"quorum\": 2}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Sentinel).with_child("config", ObjectKind::SentinelConfig),
            "in a Sentinel",
        )?;
        let monitor = match obj.get("monitor") {
            Some(m) => self.node(&m.value, &obj.child("monitor"))?,
            None => {
                return Err(self.missing(
                    &obj,
                    "monitor",
                    "a Sentinel monitors a node: \"monitor\": \"m\"",
                ))
            }
        };
        let master_name = match obj.get("name") {
            Some(m) => {
                const WHAT: &str =
                    "a master name of letters, digits, '.', '_' or '-', like \"mymaster\"";
                let text = self.string(&m.value, &obj.child("name"), WHAT)?;
                let ok = !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                if !ok {
                    return Err(self.bad_value(&m.value, &obj.child("name"), WHAT));
                }
                text.to_string()
            }
            None => "mymaster".to_string(),
        };
        let quorum = match obj.get("quorum") {
            Some(m) => self.integer(
                &m.value,
                &obj.child("quorum"),
                1,
                u64::from(u32::MAX),
                "a quorum of at least 1",
            )? as u32,
            None => 2,
        };
        let mut config = Vec::new();
        if let Some(m) = obj.get("config") {
            let cpath = obj.child("config");
            let cobj = self.object(
                &m.value,
                &cpath,
                "an object of Sentinel directive -> value, like {\"down-after-milliseconds\": 5000}",
            )?;
            self.known_keys(
                &cobj,
                &Place::of(ObjectKind::SentinelConfig),
                "in a Sentinel's config",
            )?;
            for c in cobj.members {
                let key_path = cobj.child(&c.key);
                let value = match &c.value.kind {
                    Kind::Str(s) => s.clone(),
                    Kind::Number(n, _) => number_text(n),
                    _ => return Err(self.expected(&c.value, &key_path, "a number or a string")),
                };
                // The Sentinel's own parser judges the value, as it would
                // in sentinel.conf.
                let mut probe = crate::sentinel::config::SentinelConfig::default();
                let text = format!(
                    "sentinel monitor {master_name} 127.0.0.1 6379 {quorum}\nsentinel {} {master_name} {value}\n",
                    c.key
                );
                if let Err(e) = probe.apply(&text) {
                    return Err(self.err(
                        &key_path,
                        c.value.pos,
                        ErrorKind::Value,
                        format!(
                            "Sentinel refuses {} {}: {e}",
                            c.key,
                            serde_json::to_string(&value).unwrap_or_default()
                        ),
                    ));
                }
                config.push((c.key.clone(), value));
            }
        }
        Ok(SentinelSpec {
            name: name.to_string(),
            monitor,
            master_name,
            quorum,
            config,
        })
    }

    /// The top-level `losses`: counts of lost writes and a split-brain
    /// duration bound.
    fn losses(&self, v: &Value) -> R<LossBounds> {
        let obj = self.object(
            v,
            "losses",
            "an object like {\"acknowledged\": \"== 0\", \"split_brain\": \"<= 2s\"}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Losses).under(ObjectKind::Scenario, "losses"),
            "in `losses`",
        )?;
        let mut bounds = LossBounds::default();
        if let Some(m) = obj.get("acknowledged") {
            bounds.acknowledged = Some(self.count(&m.value, &obj.child("acknowledged"))?);
        }
        if let Some(m) = obj.get("waited") {
            bounds.waited = Some(self.count(&m.value, &obj.child("waited"))?);
        }
        if let Some(m) = obj.get("split_brain") {
            const WHAT: &str =
                "a duration bound like \"<= 2s\" (operators: ==, >=, >, <=, <; units: ms, s, m)";
            let path = obj.child("split_brain");
            let Kind::Str(text) = &m.value.kind else {
                return Err(self.expected(&m.value, &path, WHAT));
            };
            let (op, rest) =
                split_operator(text).ok_or_else(|| self.bad_value(&m.value, &path, WHAT))?;
            let value = parse_duration(rest).map_err(|_| self.bad_value(&m.value, &path, WHAT))?;
            bounds.split_brain = Some(DurationCheck { op, value });
        }
        Ok(bounds)
    }

    fn network(&self, v: &Value) -> R<NetworkSpec> {
        let obj = self.object(
            v,
            "network",
            "an object like {\"latency\": \"1ms..5ms\", \"loss\": 0}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Network).under(ObjectKind::Scenario, "network"),
            "in `network`",
        )?;
        let mut spec = NetworkSpec::default();
        if let Some(m) = obj.get("latency") {
            spec.latency = self.duration_range(&m.value, &obj.child("latency"))?;
        }
        if let Some(m) = obj.get("loss") {
            spec.loss = self.loss(&m.value, &obj.child("loss"))?;
        }
        if let Some(m) = obj.get("bandwidth") {
            spec.bandwidth = self.bandwidth(&m.value, &obj.child("bandwidth"))?;
        }
        if let Some(m) = obj.get("window") {
            spec.window = self.window(&m.value, &obj.child("window"))?;
        }
        Ok(spec)
    }

    // ---- nodes ------------------------------------------------------------------

    fn nodes(&mut self, v: &Value) -> R<Vec<NodeSpec>> {
        let obj = self.object(
            v,
            "nodes",
            "an object of node name -> node, like {\"m\": {}, \"r1\": {\"replicaof\": \"m\"}}",
        )?;
        if obj.members.is_empty() {
            return Err(self.err(
                "nodes",
                v.pos,
                ErrorKind::Value,
                "a scenario needs at least one node, like \"nodes\": {\"m\": {}}",
            ));
        }
        // Names first, so that every later message can list them all.
        for m in obj.members {
            let ok = m.key.starts_with(|c: char| c.is_ascii_lowercase())
                && m.key.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !ok {
                return Err(self.err(
                    &obj.child(&m.key),
                    m.key_pos,
                    ErrorKind::Value,
                    format!(
                        "bad node name {}: a node name starts with a lowercase letter, \
                         followed by lowercase letters, digits, '_' or '-'",
                        serde_json::to_string(&m.key).unwrap_or_default()
                    ),
                ));
            }
            if m.key == CLIENTS_HOST {
                return Err(self.reserved_name(&obj.child(&m.key), m.key_pos));
            }
        }
        self.nodes = obj.members.iter().map(|m| m.key.clone()).collect();

        let mut specs = Vec::new();
        let mut replicaof_pos = Vec::new();
        for m in obj.members {
            let path = obj.child(&m.key);
            let (spec, pos) = self.node_spec(&m.key, &m.value, &path)?;
            specs.push(spec);
            replicaof_pos.push(pos);
        }

        let timeline = Timeline::new(
            specs
                .iter()
                .map(|s| (s.name.as_str(), s.replicaof.as_deref())),
        );
        for (spec, pos) in specs.iter().zip(&replicaof_pos) {
            if let (Some(cycle), Some(pos)) = (timeline.cycle_through(&spec.name), pos) {
                let path = key_path(&key_path("nodes", &spec.name), "replicaof");
                return Err(self
                    .err(
                        &path,
                        *pos,
                        ErrorKind::Impossible,
                        format!("replication cycle: {cycle}"),
                    )
                    .with_hint(
                        "every chain of replicas must end at a master (a node without replicaof)",
                    ));
            }
        }
        Ok(specs)
    }

    /// One node, and where its `replicaof` value is (for cycle errors).
    fn node_spec(&self, name: &str, v: &Value, path: &str) -> R<(NodeSpec, Option<Pos>)> {
        let obj = self.object(
            v,
            path,
            "a node object like {\"replicaof\": \"m\"} (or {} for a master)",
        )?;
        self.known_keys(&obj, &Place::of(ObjectKind::Node), "in a node")?;
        let mut spec = NodeSpec {
            name: name.to_string(),
            replicaof: None,
            config: Vec::new(),
            persist: true,
            conf: None,
        };
        let mut replicaof_pos = None;
        if let Some(m) = obj.get("replicaof") {
            let rpath = obj.child("replicaof");
            let master = self.node(&m.value, &rpath)?;
            if master == name {
                return Err(self.err(
                    &rpath,
                    m.value.pos,
                    ErrorKind::Impossible,
                    format!("node '{name}' cannot be a replica of itself"),
                ));
            }
            spec.replicaof = Some(master);
            replicaof_pos = Some(m.value.pos);
        }
        if let Some(m) = obj.get("config") {
            spec.config = self.config(&m.value, &obj.child("config"))?;
        }
        if let Some(m) = obj.get("persist") {
            spec.persist = self.boolean(&m.value, &obj.child("persist"))?;
        }
        if let Some(m) = obj.get("conf") {
            spec.conf = Some(self.node_conf(&m.value, &obj.child("conf"))?);
        }
        Ok((spec, replicaof_pos))
    }

    /// A node's `conf`: the redis.conf at that path (relative to the
    /// scenario file), read and checked now, so that a bad file is the
    /// scenario's error (with the conf's own line and directive).
    fn node_conf(&self, v: &Value, path: &str) -> R<NodeConf> {
        let given = self.string(v, path, "a path to a redis.conf, like \"redis.conf\"")?;
        if given.is_empty() {
            return Err(self.expected(v, path, "a path to a redis.conf, like \"redis.conf\""));
        }
        let base = std::path::Path::new(self.file)
            .parent()
            .unwrap_or_else(|| std::path::Path::new(""));
        let full = base.join(given);
        let text = std::fs::read(&full)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| {
                self.err(
                    path,
                    v.pos,
                    ErrorKind::Io,
                    format!("cannot read redis.conf {}: {e}", full.display()),
                )
            })?;
        let dir = full
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let mut check = crate::server::Config::default();
        crate::server::conf_file::apply_from(&mut check, &text, &dir).map_err(|e| {
            self.err(
                path,
                v.pos,
                ErrorKind::Value,
                format!("{}: {}", full.display(), e.to_string().trim_start()),
            )
        })?;
        Ok(NodeConf {
            path: given.to_string(),
            text,
            dir,
        })
    }

    fn config(&self, v: &Value, path: &str) -> R<Vec<(String, String)>> {
        let obj = self.object(
            v,
            path,
            "an object of Redis config parameter -> value, like {\"repl-backlog-size\": \"1mb\"}",
        )?;
        let mut config = Vec::new();
        for m in obj.members {
            let key_path = obj.child(&m.key);
            if !CONFIG_PARAMETERS.contains(&m.key.as_str()) {
                let mut message = format!("unknown config parameter `{}`", m.key);
                if let Some(near) = closest(&m.key, CONFIG_PARAMETERS.iter().copied()) {
                    message.push_str(&format!("; did you mean `{near}`?"));
                }
                return Err(self
                    .err(&key_path, m.key_pos, ErrorKind::UnknownField, message)
                    .with_hint(format!(
                        "the parameters replsim honours: {}",
                        list(CONFIG_PARAMETERS)
                    )));
            }
            let value = match &m.value.kind {
                Kind::Str(s) => s.clone(),
                Kind::Bool(true) => "yes".to_string(),
                Kind::Bool(false) => "no".to_string(),
                Kind::Number(n, _) => number_text(n),
                _ => {
                    return Err(self.expected(
                        &m.value,
                        &key_path,
                        "a config value (a string, number or boolean)",
                    ))
                }
            };
            // The node applies its config with the server's own parser when
            // it starts; running that parser here turns a value Redis would
            // refuse into an error at this value instead of a failed run.
            if let Err(e) = crate::server::Config::default().set_startup(&m.key, &value) {
                let reason = match e {
                    crate::server::ConfigError::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                };
                return Err(self.err(
                    &key_path,
                    m.value.pos,
                    ErrorKind::Value,
                    format!(
                        "Redis refuses {} {}: {reason}",
                        m.key,
                        serde_json::to_string(&value).unwrap_or(value.clone())
                    ),
                ));
            }
            config.push((m.key.clone(), value));
        }
        Ok(config)
    }
}

/// A JSON number as Redis config or INFO text: integers as written in
/// decimal, other numbers in plain decimal notation.
fn number_text(n: &serde_json::Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        n.as_f64()
            .map(|f| f.to_string())
            .unwrap_or_else(|| n.to_string())
    }
}
