//! The subcommands of the `replsim` binary that need more than a few
//! lines, one module each; `main.rs` keeps the argument definitions shared
//! by several of them and dispatches.

mod explore;
mod replay;
mod run;
mod sentinel;
mod serve;

pub(crate) use explore::*;
pub(crate) use replay::*;
pub(crate) use run::*;
pub(crate) use sentinel::*;
pub(crate) use serve::*;
