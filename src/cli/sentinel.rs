//! `replsim sentinel [sentinel.conf] [--name value...]` (also `replsim
//! serve --sentinel ...` and the binary started as `redis-sentinel`): a
//! Redis Sentinel on real TCP, started and logging as redis-sentinel does.

use crate::*;

use replsim::sentinel::config::SentinelConfig;
use replsim::sentinel::Sentinel;

#[derive(clap::Args)]
pub(crate) struct SentinelArgs {
    /// As redis-sentinel takes them: the sentinel.conf path (required: it
    /// is rewritten with the Sentinel's state), then `--name value...`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CONF [--NAME VALUE...]"
    )]
    pub(crate) args: Vec<String>,
}

pub(crate) fn sentinel(args: SentinelArgs) -> Result<i32> {
    let words: Vec<String> = args
        .args
        .into_iter()
        .filter(|a| a != "--sentinel")
        .collect();
    let mut rest: &[String] = &words;
    let mut conf = None;
    if let Some(first) = rest.first() {
        if !first.starts_with("--") {
            conf = Some(PathBuf::from(first));
            rest = &rest[1..];
        }
    }
    let options: Vec<String> = rest.to_vec();
    let mut config = match SentinelConfig::load(conf.as_deref(), &options) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return Ok(1);
        }
    };
    // Redis runs from its `dir` and writes it as an absolute path.
    if let Ok(dir) = std::fs::canonicalize(&config.dir) {
        config.dir = dir.display().to_string();
    }
    let log = Arc::new(
        replsim::log::ProcessLog::open("notice", &config.logfile)
            .with_context(|| format!("can't open the log file '{}'", config.logfile))?,
    );
    if config.file.is_none() {
        log.write(
            'X',
            Level::Warning,
            "Sentinel needs config file on disk to save state. Exiting...",
        );
        return Ok(1);
    }
    log.write(
        'X',
        Level::Warning,
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    );
    log.write(
        'X',
        Level::Warning,
        &format!(
            "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
            replsim::REDIS_COMPAT_VERSION,
            std::process::id()
        ),
    );
    log.write('X', Level::Warning, "Configuration loaded");
    log.write(
        'X',
        Level::Notice,
        &format!("Running mode=sentinel, port={}.", config.port),
    );
    let dir = PathBuf::from(&config.dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let storage = Arc::new(DirStorage::new(&dir));
    runtime.block_on(async move {
        let port = config.port;
        let sentinel = Sentinel::new(TokioRuntime::new(storage).with_logger(log.clone()), config);
        let listener = match sentinel.bind().await {
            Ok(listener) => listener,
            Err(error) => {
                log.write(
                    'X',
                    Level::Warning,
                    &format!("Failed listening on port {port} (TCP), aborting."),
                );
                return Err(error).with_context(|| format!("cannot listen on port {port}"));
            }
        };
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            biased;
            _ = term.recv() => {
                log.write('X', Level::Warning, "Received SIGTERM scheduling shutdown...");
            }
            _ = int.recv() => {
                log.write('X', Level::Warning, "Received SIGINT scheduling shutdown...");
            }
            served = sentinel.serve(listener) => {
                served?;
            }
        }
        log.write(
            'X',
            Level::Warning,
            "Sentinel is now ready to exit, bye bye...",
        );
        Ok(0)
    })
}
