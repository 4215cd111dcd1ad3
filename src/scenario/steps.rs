//! Steps: each step object to an [`Action`] with its modifiers, checking
//! which keys go with which action, and walking the [`Timeline`] so that a
//! step that cannot happen at its point of the file is an error there.

use std::time::Duration;

use super::bound::{self, Effect, Part, MAX_SIMULATED_TIME, RUN_SLACK, STEP_SLACK};
use super::convert::{list, Cx, Obj, R};
use super::error::{ErrorKind, ScenarioError};
use super::json::{index_path, key_path, Kind, Member, Value};
use super::model::{
    Action, AwaitCondition, CheckSpec, DisplayDuration, DurationRange, Expect, IntRange, NodeSpec,
    SentinelSpec, Step, WorkloadKind, WorkloadSpec,
};
use super::timeline::Timeline;
use super::values::closest;
use super::vocab::{modifier_actions, ObjectKind, Place, ACTIONS, EXPECT};

impl Cx<'_> {
    /// The `steps` array, in order, walking a timeline that starts from the
    /// nodes' topology with every node up.
    pub(super) fn steps(
        &self,
        v: &Value,
        nodes: &[NodeSpec],
        sentinels: &[SentinelSpec],
        liveness: Duration,
    ) -> R<Vec<Step>> {
        let items = self.array(v, "steps", "an array of steps, like [{\"crash\": \"r1\"}]")?;
        let mut timeline = Timeline::new(
            nodes
                .iter()
                .map(|n| (n.name.as_str(), n.replicaof.as_deref()))
                .chain(sentinels.iter().map(|s| (s.name.as_str(), None))),
        );
        // What the steps may use of the run's time once the end of the run
        // (liveness bound and slack) is set aside; the caller checked that
        // the end alone fits.
        let budget = MAX_SIMULATED_TIME
            .saturating_sub(liveness)
            .saturating_sub(RUN_SLACK);
        let mut clock = Duration::ZERO;
        let mut steps = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let step = self.step(item, &index_path("steps", i), &mut timeline)?;
            for part in bound::parts(&step) {
                let before = clock;
                clock = part.effect.apply(clock);
                if clock > budget {
                    return Err(self.over_time(item, &step.path, &part, before, liveness));
                }
            }
            steps.push(step);
        }
        Ok(steps)
    }

    /// The error for `part` of the step at `path` taking the run from
    /// `before` past [`MAX_SIMULATED_TIME`], at the field it comes from.
    fn over_time(
        &self,
        step: &Value,
        path: &str,
        part: &Part,
        before: Duration,
        liveness: Duration,
    ) -> ScenarioError {
        let mut value = step;
        let mut field_path = path.to_string();
        for key in &part.field {
            let Kind::Object(members) = &value.kind else {
                break;
            };
            let Some(m) = members.iter().find(|m| m.key == *key) else {
                break;
            };
            value = &m.value;
            field_path = key_path(&field_path, key);
        }
        let max = format!("{}h", MAX_SIMULATED_TIME.as_secs() / 3600);
        let alone = match part.effect {
            Effect::AtLeast(at) => at > MAX_SIMULATED_TIME,
            Effect::Adds(d) => d > MAX_SIMULATED_TIME,
        };
        let message = if part.field.is_empty() {
            format!(
                "the steps so far take up to {}, and each step may take {} more: the run \
                 would be longer than the {max} a run may last",
                DisplayDuration(before),
                DisplayDuration(STEP_SLACK)
            )
        } else if alone {
            let verb = if part.field.last() == Some(&"ops") {
                "take"
            } else {
                "is"
            };
            format!("{} {verb} longer than the {max} a run may last", part.shown)
        } else {
            format!(
                "{} brings the run to {} or more, and liveness and wrap-up take {} after \
                 the steps: longer than the {max} a run may last",
                part.shown,
                DisplayDuration(part.effect.apply(before)),
                DisplayDuration(liveness.saturating_add(RUN_SLACK))
            )
        };
        self.err(&field_path, value.pos, ErrorKind::Value, message)
    }

    fn step(&self, v: &Value, path: &str, timeline: &mut Timeline) -> R<Step> {
        let obj = self.object(v, path, "a step object, like {\"crash\": \"r1\"}")?;
        let mut place = Place::of(ObjectKind::Step).with_child("expect", ObjectKind::Expect);
        if let Some(action) = obj
            .members
            .iter()
            .find(|m| ACTIONS.contains(&m.key.as_str()))
        {
            let kind = match action.key.as_str() {
                "await" => Some(ObjectKind::Await),
                "workload" => Some(ObjectKind::Workload),
                "command" => Some(ObjectKind::Command),
                "partition" => Some(ObjectKind::Partition),
                "throttle" => Some(ObjectKind::Throttle),
                "stall" => Some(ObjectKind::Stall),
                "clock" => Some(ObjectKind::Clock),
                "disk" => Some(ObjectKind::Disk),
                "network" => Some(ObjectKind::Network),
                "replicaof" => Some(ObjectKind::Replicaof),
                "check" => Some(ObjectKind::Check),
                _ => None,
            };
            if let Some(kind) = kind {
                place = place.with_child(&action.key, kind);
            }
        }
        self.known_keys(&obj, &place, "in a step")?;

        let actions: Vec<&Member> = obj
            .members
            .iter()
            .filter(|m| ACTIONS.contains(&m.key.as_str()))
            .collect();
        let action = match actions.as_slice() {
            [] => {
                return Err(self.err(
                    path,
                    v.pos,
                    ErrorKind::Value,
                    format!("a step needs one action, one of: {}", list(ACTIONS)),
                ))
            }
            [one] => *one,
            [first, second, ..] => {
                return Err(self
                    .err(
                        &obj.child(&second.key),
                        second.key_pos,
                        ErrorKind::Value,
                        format!(
                            "a step has exactly one action, but this one has `{}` and `{}`",
                            first.key, second.key
                        ),
                    )
                    .with_hint("split it into one step per action"))
            }
        };

        for m in obj.members {
            let Some(allowed) = modifier_actions(&m.key) else {
                continue;
            };
            if !allowed.contains(&action.key.as_str()) {
                let quoted: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
                let with = match quoted.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(", "))
                    }
                    _ => quoted.concat(),
                };
                let err = self.err(
                    &obj.child(&m.key),
                    m.key_pos,
                    ErrorKind::UnknownField,
                    format!(
                        "`{}` only goes with {with} steps, not `{}`",
                        m.key, action.key
                    ),
                );
                return Err(if m.key == "for" && action.key == "workload" {
                    err.with_hint("a workload's `for` goes inside the workload object")
                } else {
                    err
                });
            }
        }

        let mut step = Step {
            path: path.to_string(),
            line: v.pos.line,
            column: v.pos.column,
            at: None,
            after: None,
            background: false,
            action: Action::Heal,
        };
        if let (Some(_), Some(after)) = (obj.get("at"), obj.get("after")) {
            return Err(self
                .err(
                    &obj.child("after"),
                    after.key_pos,
                    ErrorKind::Value,
                    "a step has either `at` or `after`, not both",
                )
                .with_hint(
                    "`at` counts from the start of the run, `after` from the previous step",
                ));
        }
        if let Some(m) = obj.get("at") {
            step.at = Some(self.duration_range(&m.value, &obj.child("at"))?);
        }
        if let Some(m) = obj.get("after") {
            step.after = Some(self.duration_range(&m.value, &obj.child("after"))?);
        }
        if let Some(m) = obj.get("background") {
            step.background = self.boolean(&m.value, &obj.child("background"))?;
        }
        step.action = self.action(&obj, action, timeline)?;
        Ok(step)
    }

    fn optional_for(&self, step: &Obj) -> R<Option<DurationRange>> {
        step.get("for")
            .map(|m| self.duration_range(&m.value, &step.child("for")))
            .transpose()
    }

    /// A node that must be running at this point (`doing`: "run a command").
    fn running_node(
        &self,
        v: &Value,
        path: &str,
        timeline: &mut Timeline,
        doing: &str,
    ) -> R<String> {
        let node = self.node(v, path)?;
        timeline
            .require_running(&node, doing)
            .map_err(|p| self.impossible(path, v.pos, p))?;
        Ok(node)
    }

    fn action(&self, step: &Obj, action: &Member, timeline: &mut Timeline) -> R<Action> {
        let v = &action.value;
        let path = step.child(&action.key);
        let path = path.as_str();
        let at = |problem| self.impossible(path, v.pos, problem);
        Ok(match action.key.as_str() {
            "sleep" => Action::Sleep(self.duration_range(v, path)?),
            "await" => self.await_step(step, v, path, timeline)?,
            "workload" => Action::Workload(self.workload(v, path, timeline)?),
            "command" => self.command(step, v, path, timeline)?,
            "cut" => self.cut(v, path)?,
            "partition" => self.partition(step, v, path)?,
            "throttle" => self.throttle(step, v, path)?,
            "stall" => self.stall(step, v, path)?,
            "clock" => self.clock(v, path)?,
            "disk" => self.disk(v, path)?,
            "heal" => match v.kind {
                Kind::Bool(true) => Action::Heal,
                Kind::Bool(false) => {
                    return Err(self.bad_value(v, path, "true (`heal` heals every partition)"))
                }
                _ => return Err(self.expected(v, path, "true (`heal` heals every partition)")),
            },
            "network" => {
                let obj = self.object(
                    v,
                    path,
                    "an object like {\"latency\": \"50ms\", \"loss\": 0.1}",
                )?;
                self.known_keys(
                    &obj,
                    &Place::of(ObjectKind::Network).under(ObjectKind::Step, "network"),
                    "in `network`",
                )?;
                let latency = obj
                    .get("latency")
                    .map(|m| self.duration_range(&m.value, &obj.child("latency")))
                    .transpose()?;
                let loss = obj
                    .get("loss")
                    .map(|m| self.loss(&m.value, &obj.child("loss")))
                    .transpose()?;
                let bandwidth = obj
                    .get("bandwidth")
                    .map(|m| self.bandwidth(&m.value, &obj.child("bandwidth")))
                    .transpose()?;
                let window = obj
                    .get("window")
                    .map(|m| self.window(&m.value, &obj.child("window")))
                    .transpose()?;
                if latency.is_none() && loss.is_none() && bandwidth.is_none() && window.is_none() {
                    return Err(self.err(
                        path,
                        v.pos,
                        ErrorKind::Value,
                        "a `network` step changes `latency`, `loss`, `bandwidth` or `window`; it has none",
                    ));
                }
                Action::Network {
                    latency,
                    loss,
                    bandwidth,
                    window,
                }
            }
            "crash" => {
                let node = self.host(v, path)?;
                let lose_unsynced = match step.get("lose_unsynced") {
                    Some(m) => self.boolean(&m.value, &step.child("lose_unsynced"))?,
                    None => false,
                };
                let fin = match step.get("fin") {
                    Some(m) => self.boolean(&m.value, &step.child("fin"))?,
                    None => true,
                };
                timeline.crash(&node, &step.path).map_err(at)?;
                Action::Crash {
                    node,
                    lose_unsynced,
                    fin,
                }
            }
            "restart" => {
                let node = self.host(v, path)?;
                timeline.restart(&node, &step.path).map_err(at)?;
                Action::Restart { node }
            }
            "pause" => {
                let node = self.host(v, path)?;
                let duration = self.optional_for(step)?;
                timeline
                    .pause(&node, &step.path, duration.is_some())
                    .map_err(at)?;
                Action::Pause { node, duration }
            }
            "resume" => {
                let node = self.host(v, path)?;
                timeline.resume(&node, &step.path).map_err(at)?;
                Action::Resume { node }
            }
            "replicaof" => self.replicaof(v, path, timeline)?,
            "check" => Action::Check(self.check(v, path, timeline)?),
            other => {
                // ACTIONS and this match list the same keys.
                return Err(self.err(
                    path,
                    action.key_pos,
                    ErrorKind::UnknownField,
                    format!("unknown action `{other}`"),
                ));
            }
        })
    }

    fn await_step(&self, step: &Obj, v: &Value, path: &str, timeline: &mut Timeline) -> R<Action> {
        const WHAT: &str = "\"linked\", \"converged\", an object like \
             {\"on\": \"r1\", \"info\": \"master_link_status\", \"equals\": \"up\"}, or one like \
             {\"command\": {\"on\": \"r1\", \"args\": [\"GET\", \"k\"]}, \"expect\": {\"bulk\": \"v\"}}";
        let condition = match &v.kind {
            Kind::Str(s) if s == "linked" => AwaitCondition::Linked,
            Kind::Str(s) if s == "converged" => AwaitCondition::Converged,
            Kind::Str(_) => return Err(self.bad_value(v, path, WHAT)),
            Kind::Object(_) => {
                let obj = self.object(v, path, WHAT)?;
                self.known_keys(
                    &obj,
                    &Place::of(ObjectKind::Await)
                        .under(ObjectKind::Step, "await")
                        .with_child("command", ObjectKind::Command)
                        .with_child("expect", ObjectKind::Expect),
                    "in an `await`",
                )?;
                if obj.get("command").is_some() {
                    self.await_reply(&obj, timeline)?
                } else {
                    self.await_info(&obj, timeline)?
                }
            }
            _ => return Err(self.expected(v, path, WHAT)),
        };
        let timeout = match step.get("timeout") {
            Some(m) => self.duration(&m.value, &step.child("timeout"), "30s")?,
            None => {
                return Err(self.missing(
                    step,
                    "timeout",
                    "an `await` step needs a timeout, like \"timeout\": \"30s\"",
                ))
            }
        };
        Ok(Action::Await { condition, timeout })
    }

    /// `{"on": ..., "info": ..., "equals": ...}` in an `await`.
    fn await_info(&self, obj: &Obj, timeline: &mut Timeline) -> R<AwaitCondition> {
        for key in ["expect"] {
            if let Some(m) = obj.get(key) {
                return Err(self.err(
                    &obj.child(key),
                    m.key_pos,
                    ErrorKind::Value,
                    "`expect` goes with `command` in an `await`; an `await` on INFO uses `equals`",
                ));
            }
        }
        let need = |key: &str| {
            obj.get(key).ok_or_else(|| {
                self.missing(
                    obj,
                    key,
                    "an `await` on INFO needs `on`, `info` and `equals`",
                )
            })
        };
        let (on, info, equals) = (need("on")?, need("info")?, need("equals")?);
        let on = self.running_node(&on.value, &obj.child("on"), timeline, "answer INFO")?;
        let field = self
            .string(
                &info.value,
                &obj.child("info"),
                "an INFO field name, like \"master_link_status\"",
            )?
            .to_string();
        let expect = self.info_expect(&equals.value, &obj.child("equals"))?;
        Ok(AwaitCondition::Info { on, field, expect })
    }

    /// `{"command": {...}, "expect": {...}}` in an `await`.
    fn await_reply(&self, obj: &Obj, timeline: &mut Timeline) -> R<AwaitCondition> {
        if let Some(key) = ["on", "info", "equals"]
            .into_iter()
            .find(|k| obj.get(k).is_some())
        {
            let m = obj.get(key).expect("just found");
            return Err(self.err(
                &obj.child(key),
                m.key_pos,
                ErrorKind::Value,
                format!("an `await` on a command's reply has `command` and `expect`, not `{key}`"),
            ));
        }
        let command = obj.get("command").expect("checked by the caller");
        let (on, args, db) = self.command_object(
            &command.value,
            &obj.child("command"),
            ObjectKind::Await,
            timeline,
        )?;
        let expect = obj.get("expect").ok_or_else(|| {
            self.missing(
                obj,
                "expect",
                "an `await` on a command needs the reply it waits for, like \
                 \"expect\": {\"bulk\": \"1\"}",
            )
        })?;
        let expect = self.expect(
            &expect.value,
            &obj.child("expect"),
            (ObjectKind::Await, "expect"),
        )?;
        Ok(AwaitCondition::Reply {
            on,
            args,
            db,
            expect,
        })
    }

    fn workload(&self, v: &Value, path: &str, timeline: &mut Timeline) -> R<WorkloadSpec> {
        let obj = self.object(
            v,
            path,
            "a workload object like {\"on\": \"m\", \"ops\": 1000}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Workload).under(ObjectKind::Step, "workload"),
            "in a workload",
        )?;
        let on = obj.get("on").ok_or_else(|| {
            self.missing(
                &obj,
                "on",
                "a workload needs the node it runs on, like \"on\": \"m\"",
            )
        })?;
        let on = self.running_node(&on.value, &obj.child("on"), timeline, "run a workload")?;
        let ops = obj
            .get("ops")
            .map(|m| self.int_range(&m.value, &obj.child("ops"), 1))
            .transpose()?;
        let duration = obj
            .get("for")
            .map(|m| self.duration_range(&m.value, &obj.child("for")))
            .transpose()?;
        if ops.is_none() && duration.is_none() {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Value,
                "a workload needs `ops`, `for` or both: how many operations, or for how long",
            ));
        }
        let mut spec = WorkloadSpec {
            on,
            ops,
            duration,
            rate: 1000.0,
            keys: IntRange::fixed(100),
            value_size: IntRange { min: 1, max: 32 },
            mix: vec![WorkloadKind::Strings],
            dbs: 1,
            clients: 1,
            readers: None,
            follow: false,
        };
        if let Some(m) = obj.get("rate") {
            const WHAT: &str = "a rate in operations per second (a number > 0)";
            let rate = self.number(&m.value, &obj.child("rate"), WHAT)?;
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(self.bad_value(&m.value, &obj.child("rate"), WHAT));
            }
            spec.rate = rate;
        }
        if let Some(m) = obj.get("keys") {
            spec.keys = self.int_range(&m.value, &obj.child("keys"), 1)?;
        }
        if let Some(m) = obj.get("value_size") {
            spec.value_size = self.int_range(&m.value, &obj.child("value_size"), 0)?;
        }
        if let Some(m) = obj.get("mix") {
            spec.mix = self.mix(&m.value, &obj.child("mix"))?;
        }
        if let Some(m) = obj.get("dbs") {
            spec.dbs = self.integer(
                &m.value,
                &obj.child("dbs"),
                1,
                16,
                "a number of databases from 1 to 16",
            )? as u8;
        }
        if let Some(m) = obj.get("clients") {
            spec.clients = self.integer(
                &m.value,
                &obj.child("clients"),
                1,
                u64::from(u32::MAX),
                "a number of clients (at least 1)",
            )? as u32;
        }
        if let Some(m) = obj.get("readers") {
            const WHAT: &str =
                "reads per second on each replica (a number >= 0; 0 turns readers off)";
            let rate = self.number(&m.value, &obj.child("readers"), WHAT)?;
            if !(rate >= 0.0 && rate.is_finite()) {
                return Err(self.bad_value(&m.value, &obj.child("readers"), WHAT));
            }
            spec.readers = Some(rate);
        }
        if let Some(m) = obj.get("follow") {
            spec.follow = self.boolean(&m.value, &obj.child("follow"))?;
            if spec.follow && !self.has_sentinels() {
                return Err(self.err(
                    &obj.child("follow"),
                    m.value.pos,
                    ErrorKind::Impossible,
                    "`follow` asks the scenario's Sentinels where the master is, and it has none",
                ));
            }
        }
        Ok(spec)
    }

    fn mix(&self, v: &Value, path: &str) -> R<Vec<WorkloadKind>> {
        let names: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
        let what = format!("an array of workload kinds from: {}", list(&names));
        let items = self.array(v, path, &what)?;
        if items.is_empty() {
            return Err(self.bad_value(v, path, &what));
        }
        let mut mix: Vec<WorkloadKind> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = index_path(path, i);
            let kind_what = format!("a workload kind, one of: {}", list(&names));
            let name = self.string(item, &ipath, &kind_what)?;
            let Some(kind) = WorkloadKind::from_name(name) else {
                let hint =
                    closest(name, names.iter().copied()).map(|k| format!("did you mean \"{k}\"?"));
                return Err(self.bad_value(item, &ipath, &kind_what).maybe_hint(hint));
            };
            if let Some(first) = mix.iter().position(|k| *k == kind) {
                return Err(self.err(
                    &ipath,
                    item.pos,
                    ErrorKind::Value,
                    format!(
                        "\"{name}\" is listed twice (also at {})",
                        index_path(path, first)
                    ),
                ));
            }
            mix.push(kind);
        }
        Ok(mix)
    }

    fn command(&self, step: &Obj, v: &Value, path: &str, timeline: &mut Timeline) -> R<Action> {
        let (on, args, db) = self.command_object(v, path, ObjectKind::Step, timeline)?;
        let expect = step
            .get("expect")
            .map(|m| {
                self.expect(
                    &m.value,
                    &step.child("expect"),
                    (ObjectKind::Step, "expect"),
                )
            })
            .transpose()?;
        Ok(Action::Command {
            on,
            args,
            db,
            expect,
        })
    }

    /// A command object, `{"on": ..., "args": [...], "db": ...}`.
    fn command_object(
        &self,
        v: &Value,
        path: &str,
        parent: ObjectKind,
        timeline: &mut Timeline,
    ) -> R<(String, Vec<String>, u8)> {
        let obj = self.object(
            v,
            path,
            "a command object like {\"on\": \"m\", \"args\": [\"SET\", \"k\", \"v\"]}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Command).under(parent, "command"),
            "in a command",
        )?;
        let on = obj.get("on").ok_or_else(|| {
            self.missing(
                &obj,
                "on",
                "a command needs the node it runs on, like \"on\": \"m\"",
            )
        })?;
        let on = self.running_node(&on.value, &obj.child("on"), timeline, "run a command")?;
        let args_member = obj.get("args").ok_or_else(|| {
            self.missing(
                &obj,
                "args",
                "a command needs its arguments, like \"args\": [\"GET\", \"k\"]",
            )
        })?;
        let args_path = obj.child("args");
        const ARGS: &str = "a non-empty array of strings, like [\"SET\", \"k\", \"v\"]";
        let items = self.array(&args_member.value, &args_path, ARGS)?;
        if items.is_empty() {
            return Err(self.bad_value(&args_member.value, &args_path, ARGS));
        }
        let args = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let ipath = index_path(&args_path, i);
                match &item.kind {
                    Kind::Number(_, raw) => Err(self
                        .expected(item, &ipath, "a string")
                        .with_hint(format!("write \"{raw}\""))),
                    _ => self.string(item, &ipath, "a string").map(str::to_string),
                }
            })
            .collect::<R<Vec<_>>>()?;
        let db = match obj.get("db") {
            Some(m) => self.integer(
                &m.value,
                &obj.child("db"),
                0,
                15,
                "a database number from 0 to 15",
            )? as u8,
            None => 0,
        };
        Ok((on, args, db))
    }

    /// An expect object; `parent` is the object it is in and its key there.
    fn expect(&self, v: &Value, path: &str, parent: (ObjectKind, &'static str)) -> R<Expect> {
        const WHAT: &str = "an object with one of: {\"reply\": \"OK\"}, {\"bulk\": \"text\"}, \
             {\"nil\": true}, {\"integer\": 5}, {\"error\": \"PREFIX\"}, {\"array\": [\"a\", 1, null]}";
        let obj = self.object(v, path, WHAT)?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Expect).under(parent.0, parent.1),
            "in `expect`",
        )?;
        let m = match obj.members {
            [] => {
                return Err(self.bad_value(v, path, WHAT));
            }
            [m] => m,
            [first, second, ..] => {
                return Err(self.err(
                    &obj.child(&second.key),
                    second.key_pos,
                    ErrorKind::Value,
                    format!(
                        "`expect` has exactly one of {}; this one has `{}` and `{}`",
                        list(EXPECT),
                        first.key,
                        second.key
                    ),
                ))
            }
        };
        let mpath = obj.child(&m.key);
        Ok(match m.key.as_str() {
            "reply" => Expect::Simple(
                self.string(&m.value, &mpath, "a simple string, like \"OK\"")?
                    .to_string(),
            ),
            "bulk" => Expect::Bulk(self.string(&m.value, &mpath, "a string")?.to_string()),
            "nil" => match m.value.kind {
                Kind::Bool(true) => Expect::Nil,
                Kind::Bool(false) => return Err(self.bad_value(&m.value, &mpath, "true")),
                _ => return Err(self.expected(&m.value, &mpath, "true")),
            },
            "integer" => {
                const INT: &str = "an integer";
                let Kind::Number(n, _) = &m.value.kind else {
                    return Err(self.expected(&m.value, &mpath, INT));
                };
                Expect::Integer(
                    n.as_i64()
                        .ok_or_else(|| self.expected(&m.value, &mpath, INT))?,
                )
            }
            "array" => {
                const ITEMS: &str = "an array of expected items: strings (bulk), integers, \
                     null (nil) or expect objects, like [\"a\", 1, null, {\"error\": \"ERR\"}]";
                let items = self.array(&m.value, &mpath, ITEMS)?;
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let ipath = index_path(&mpath, i);
                        const ITEM: &str = "a string (bulk), an integer, null (nil) or an \
                             expect object like {\"reply\": \"OK\"}";
                        match &item.kind {
                            Kind::Str(text) => Ok(Expect::Bulk(text.clone())),
                            Kind::Null => Ok(Expect::Nil),
                            Kind::Object(_) => {
                                self.expect(item, &ipath, (ObjectKind::Expect, "array"))
                            }
                            Kind::Number(n, _) => n
                                .as_i64()
                                .map(Expect::Integer)
                                .ok_or_else(|| self.expected(item, &ipath, ITEM)),
                            _ => Err(self.expected(item, &ipath, ITEM)),
                        }
                    })
                    .collect::<R<Vec<_>>>()?;
                Expect::Array(items)
            }
            _ => Expect::ErrorPrefix(
                self.string(&m.value, &mpath, "the start of an error, like \"READONLY\"")?
                    .to_string(),
            ),
        })
    }

    fn cut(&self, v: &Value, path: &str) -> R<Action> {
        const WHAT: &str = "an array of two nodes, like [\"m\", \"r1\"]";
        let items = self.array(v, path, WHAT)?;
        let [a, b] = items else {
            return Err(self.bad_value(v, path, WHAT));
        };
        let a_name = self.link_end(a, &index_path(path, 0))?;
        let b_name = self.link_end(b, &index_path(path, 1))?;
        if a_name == b_name {
            return Err(self.err(
                &index_path(path, 1),
                b.pos,
                ErrorKind::Impossible,
                format!("`cut` needs two different nodes; a node has no connection to itself ('{a_name}')"),
            ));
        }
        Ok(Action::Cut {
            a: a_name,
            b: b_name,
        })
    }

    fn partition(&self, step: &Obj, v: &Value, path: &str) -> R<Action> {
        let obj = self.object(
            v,
            path,
            "a partition object like {\"between\": [[\"m\"], [\"r1\", \"r2\"]]}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Partition).under(ObjectKind::Step, "partition"),
            "in a partition",
        )?;
        let between = obj.get("between").ok_or_else(|| {
            self.missing(
                &obj,
                "between",
                "a partition needs two groups, like \"between\": [[\"m\"], [\"r1\"]]",
            )
        })?;
        let bpath = obj.child("between");
        const WHAT: &str = "two groups of nodes, like [[\"m\"], [\"r1\", \"r2\"]]";
        let groups = self.array(&between.value, &bpath, WHAT)?;
        let [one, other] = groups else {
            return Err(self.bad_value(&between.value, &bpath, WHAT));
        };
        let mut seen: Vec<(String, String)> = Vec::new(); // node, path
        let mut group = |g: &Value, gpath: &str| -> R<Vec<String>> {
            const GROUP: &str = "a non-empty array of nodes, like [\"r1\", \"r2\"]";
            let items = self.array(g, gpath, GROUP)?;
            if items.is_empty() {
                return Err(self.bad_value(g, gpath, GROUP));
            }
            let mut names = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = index_path(gpath, i);
                let name = self.link_end(item, &ipath)?;
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                    return Err(self.err(
                        &ipath,
                        item.pos,
                        ErrorKind::Value,
                        format!("node '{name}' is already in the partition (at {first}); the groups must not overlap"),
                    ));
                }
                seen.push((name.clone(), ipath));
                names.push(name);
            }
            Ok(names)
        };
        let one = group(one, &index_path(&bpath, 0))?;
        let other = group(other, &index_path(&bpath, 1))?;
        let oneway = match obj.get("oneway") {
            Some(m) => self.boolean(&m.value, &obj.child("oneway"))?,
            None => false,
        };
        let black_hole = match obj.get("black_hole") {
            Some(m) => self.boolean(&m.value, &obj.child("black_hole"))?,
            None => true,
        };
        Ok(Action::Partition {
            one,
            other,
            oneway,
            black_hole,
            duration: self.optional_for(step)?,
        })
    }

    /// Two different nodes, the fields `first` and `second` of `obj`.
    fn node_pair(&self, obj: &Obj, first: &str, second: &str, what: &str) -> R<(String, String)> {
        let field = |name: &str| -> R<String> {
            let member = obj.get(name).ok_or_else(|| self.missing(obj, name, what))?;
            self.node(&member.value, &obj.child(name))
        };
        let a = field(first)?;
        let b = field(second)?;
        if a == b {
            let member = obj.get(second).expect("read above");
            return Err(self.err(
                &obj.child(second),
                member.value.pos,
                ErrorKind::Value,
                format!(
                    "`{first}` and `{second}` are both '{a}'; they must be two different nodes"
                ),
            ));
        }
        Ok((a, b))
    }

    fn throttle(&self, step: &Obj, v: &Value, path: &str) -> R<Action> {
        const WHAT: &str =
            "a throttle object like {\"from\": \"m\", \"to\": \"r1\", \"bandwidth\": \"1mb/s\"}";
        let obj = self.object(v, path, WHAT)?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Throttle).under(ObjectKind::Step, "throttle"),
            "in a throttle",
        )?;
        // Without `to`, the throttle holds the node's interface.
        let (from, to) = if obj.get("to").is_some() {
            let (from, to) = self.node_pair(&obj, "from", "to", WHAT)?;
            (from, Some(to))
        } else {
            let from = obj
                .get("from")
                .ok_or_else(|| self.missing(&obj, "from", WHAT))?;
            (self.node(&from.value, &obj.child("from"))?, None)
        };
        let bandwidth = obj
            .get("bandwidth")
            .ok_or_else(|| self.missing(&obj, "bandwidth", WHAT))?;
        let bandwidth = self.bandwidth(&bandwidth.value, &obj.child("bandwidth"))?;
        Ok(Action::Throttle {
            from,
            to,
            bandwidth,
            duration: self.optional_for(step)?,
        })
    }

    fn stall(&self, step: &Obj, v: &Value, path: &str) -> R<Action> {
        const WHAT: &str = "a stall object like {\"node\": \"r1\", \"from\": \"m\"}";
        let obj = self.object(v, path, WHAT)?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Stall).under(ObjectKind::Step, "stall"),
            "in a stall",
        )?;
        let (node, from) = self.node_pair(&obj, "node", "from", WHAT)?;
        Ok(Action::Stall {
            node,
            from,
            duration: self.optional_for(step)?,
        })
    }

    fn clock(&self, v: &Value, path: &str) -> R<Action> {
        const WHAT: &str =
            "a clock object like {\"node\": \"r1\", \"jump\": \"-3s\", \"drift\": 0.001}";
        let obj = self.object(v, path, WHAT)?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Clock).under(ObjectKind::Step, "clock"),
            "in a clock",
        )?;
        let node = obj
            .get("node")
            .ok_or_else(|| self.missing(&obj, "node", WHAT))?;
        let node = self.node(&node.value, &obj.child("node"))?;
        let jump_ms = match obj.get("jump") {
            Some(m) => Some(self.signed_duration_ms(&m.value, &obj.child("jump"))?),
            None => None,
        };
        let drift = match obj.get("drift") {
            Some(m) => {
                let what = "a drift rate in (-1, 1]: extra ms per ms, like 0.001 (1 ms a second) or -0.0005";
                let rate = self.number(&m.value, &obj.child("drift"), what)?;
                if !(rate > -1.0 && rate <= 1.0) {
                    return Err(self.bad_value(&m.value, &obj.child("drift"), what));
                }
                Some(rate)
            }
            None => None,
        };
        if jump_ms.is_none() && drift.is_none() {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Value,
                "a `clock` step needs `jump`, `drift` or both",
            ));
        }
        Ok(Action::Clock {
            node,
            jump_ms,
            drift,
        })
    }

    fn disk(&self, v: &Value, path: &str) -> R<Action> {
        const WHAT: &str = "a disk object like {\"node\": \"m\", \"fault\": \"full\"}";
        let obj = self.object(v, path, WHAT)?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Disk).under(ObjectKind::Step, "disk"),
            "in a disk",
        )?;
        let node = obj
            .get("node")
            .ok_or_else(|| self.missing(&obj, "node", WHAT))?;
        let node = self.node(&node.value, &obj.child("node"))?;
        let fault = obj
            .get("fault")
            .ok_or_else(|| self.missing(&obj, "fault", WHAT))?;
        let what = "\"full\" (writes fail with ENOSPC), \"failing\" (EIO), \"torn\" (the next write stops halfway, then EIO) or \"none\"";
        let fault = match self.string(&fault.value, &obj.child("fault"), what)? {
            "full" => Some(crate::runtime::DiskFault::Full),
            "failing" => Some(crate::runtime::DiskFault::Failing),
            "torn" => Some(crate::runtime::DiskFault::Torn),
            "none" => None,
            _ => return Err(self.bad_value(&fault.value, &obj.child("fault"), what)),
        };
        Ok(Action::Disk { node, fault })
    }

    /// A duration with an optional sign, in ms: "+2s", "-500ms", "3s".
    fn signed_duration_ms(&self, v: &Value, path: &str) -> R<i64> {
        let (negative, unsigned) = match &v.kind {
            Kind::Str(s) if s.starts_with('-') => (
                true,
                Value {
                    kind: Kind::Str(s[1..].to_string()),
                    ..v.clone()
                },
            ),
            Kind::Str(s) if s.starts_with('+') => (
                false,
                Value {
                    kind: Kind::Str(s[1..].to_string()),
                    ..v.clone()
                },
            ),
            _ => (false, v.clone()),
        };
        let ms = self.duration(&unsigned, path, "-3s")?.as_millis() as i64;
        Ok(if negative { -ms } else { ms })
    }

    fn replicaof(&self, v: &Value, path: &str, timeline: &mut Timeline) -> R<Action> {
        let obj = self.object(
            v,
            path,
            "an object like {\"node\": \"r1\", \"master\": \"m\"} (\"master\": null for NO ONE)",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Replicaof).under(ObjectKind::Step, "replicaof"),
            "in `replicaof`",
        )?;
        let node_member = obj.get("node").ok_or_else(|| {
            self.missing(
                &obj,
                "node",
                "`replicaof` needs the node that changes master, like \"node\": \"r1\"",
            )
        })?;
        let master_member = obj.get("master").ok_or_else(|| {
            self.missing(
                &obj,
                "master",
                "`replicaof` needs its new master, like \"master\": \"m\", or null for NO ONE",
            )
        })?;
        let node_path = obj.child("node");
        let node = self.node(&node_member.value, &node_path)?;
        let master_path = obj.child("master");
        let master = match master_member.value.kind {
            Kind::Null => None,
            _ => Some(self.node(&master_member.value, &master_path)?),
        };
        if let Err(problem) = timeline.require_running(&node, "change its master") {
            return Err(self.impossible(&node_path, node_member.value.pos, problem));
        }
        if let Err(problem) = timeline.replicaof(&node, master.as_deref()) {
            return Err(self.impossible(&master_path, master_member.value.pos, problem));
        }
        Ok(Action::ReplicaOf { node, master })
    }

    fn check(&self, v: &Value, path: &str, timeline: &mut Timeline) -> R<CheckSpec> {
        let obj = self.object(
            v,
            path,
            "a check object like {\"converged\": true} or {\"on\": \"r1\", \"full_syncs\": 1}",
        )?;
        self.known_keys(
            &obj,
            &Place::of(ObjectKind::Check).under(ObjectKind::Step, "check"),
            "in a check",
        )?;
        let on_member = obj.get("on");
        let on = on_member
            .map(|m| self.node(&m.value, &obj.child("on")))
            .transpose()?;
        let mut spec = CheckSpec {
            on,
            converged: false,
            full_syncs: None,
            partial_syncs: None,
            info: Vec::new(),
            log: Vec::new(),
        };
        if let Some(m) = obj.get("converged") {
            spec.converged = self.boolean(&m.value, &obj.child("converged"))?;
        }
        if let Some(m) = obj.get("full_syncs") {
            spec.full_syncs = Some(self.count(&m.value, &obj.child("full_syncs"))?);
        }
        if let Some(m) = obj.get("partial_syncs") {
            spec.partial_syncs = Some(self.count(&m.value, &obj.child("partial_syncs"))?);
        }
        if let Some(m) = obj.get("info") {
            let ipath = obj.child("info");
            const WHAT: &str =
                "an object of INFO field -> value, like {\"master_link_status\": \"up\"}";
            let info = self.object(&m.value, &ipath, WHAT)?;
            if info.members.is_empty() {
                return Err(self.bad_value(&m.value, &ipath, WHAT));
            }
            for f in info.members {
                let value = self.info_expect(&f.value, &info.child(&f.key))?;
                spec.info.push((f.key.clone(), value));
            }
        }
        if let Some(m) = obj.get("log") {
            let lpath = obj.child("log");
            const WHAT: &str = "a log line or an array of log lines";
            spec.log = match &m.value.kind {
                Kind::Str(s) => vec![s.clone()],
                Kind::Array(items) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        self.string(item, &index_path(&lpath, i), "a log line (a string)")
                            .map(str::to_string)
                    })
                    .collect::<R<Vec<_>>>()?,
                Kind::Array(_) => return Err(self.bad_value(&m.value, &lpath, WHAT)),
                _ => return Err(self.expected(&m.value, &lpath, WHAT)),
            };
        }

        let per_node: Vec<&str> = ["full_syncs", "partial_syncs", "info", "log"]
            .into_iter()
            .filter(|k| obj.get(k).is_some())
            .collect();
        if !spec.converged && per_node.is_empty() {
            return Err(self.err(
                path,
                v.pos,
                ErrorKind::Value,
                "a check needs something to check: `converged`: true, `full_syncs`, \
                 `partial_syncs`, `info` or `log`",
            ));
        }
        match (&spec.on, on_member) {
            (None, _) if !per_node.is_empty() => {
                let keys = per_node
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self
                    .err(
                        path,
                        v.pos,
                        ErrorKind::Impossible,
                        format!("{keys} in a check need `on`: the node whose counters, INFO or log are checked"),
                    )
                    .with_hint("add \"on\": \"<node>\" to the check"));
            }
            (Some(node), Some(m)) if !spec.info.is_empty() => {
                timeline
                    .require_running(node, "answer INFO")
                    .map_err(|p| self.impossible(&obj.child("on"), m.value.pos, p))?;
            }
            _ => {}
        }
        Ok(spec)
    }
}
