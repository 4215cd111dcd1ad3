//! `replsim serve`: the server core on real TCP, started like
//! redis-server (a redis.conf and `--name value` arguments), with its
//! signal handling.

use crate::*;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// As redis-server takes them: an optional redis.conf path, then
    /// `--name value...` for any parameter (`--port 6380 --save ""
    /// --replicaof 127.0.0.1 6379`), applied after the file. Also
    /// `--config NAME=VALUE` (repeatable) and `--threads N` (worker threads;
    /// 1, the default, behaves like Redis's single thread).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "[CONF] [--NAME VALUE...]"
    )]
    pub(crate) args: Vec<String>,
}

/// `serve`'s arguments sorted out: the config file, redis-server style
/// options, and replsim's own `--threads`.
pub(crate) struct ServeOptions {
    conf: Option<PathBuf>,
    options: Vec<String>,
    threads: usize,
}

pub(crate) fn serve_options(args: &[String]) -> Result<ServeOptions> {
    let mut parsed = ServeOptions {
        conf: None,
        options: Vec::new(),
        threads: 1,
    };
    let mut rest = args;
    if let Some(first) = rest.first() {
        if !first.starts_with("--") {
            parsed.conf = Some(PathBuf::from(first));
            rest = &rest[1..];
        }
    }
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "--threads" => {
                let value = rest.get(i + 1).context("--threads expects a number")?;
                parsed.threads = value
                    .parse()
                    .with_context(|| format!("--threads expects a number, got '{value}'"))?;
                i += 2;
            }
            "--config" => {
                let pair = rest.get(i + 1).context("--config expects NAME=VALUE")?;
                let (name, value) = pair
                    .split_once('=')
                    .with_context(|| format!("--config expects NAME=VALUE, got '{pair}'"))?;
                parsed.options.push(format!("--{name}"));
                parsed.options.push(value.to_string());
                i += 2;
            }
            // As redis-server, words without `--` are values, even before
            // any `--name` (`loglevel verbose` then reads as a config line).
            word => {
                parsed.options.push(word.to_string());
                i += 1;
            }
        }
    }
    Ok(parsed)
}

pub(crate) fn serve(args: ServeArgs) -> Result<i32> {
    // A panic is a bug that may have left a command half-applied and
    // unpropagated: like Redis after a failed assertion, the server exits
    // rather than go on serving that state to clients and replicas. A
    // panic in a command is the server's to report: it logs the header of
    // Redis's bug report (with the location recorded here) and stops, and
    // serve exits below. Anywhere else the process exits at once.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if replsim::server::executing_command() {
            replsim::server::note_panic_location(
                info.location()
                    .map(|at| format!("{}:{}", at.file(), at.line())),
            );
            return;
        }
        report(info);
        eprintln!("replsim: crashed (a bug in replsim), exiting");
        std::process::exit(EXIT_CRASH);
    }));
    let parsed = serve_options(&args.args)?;
    let mut config = Config::default();
    if let Err(error) =
        replsim::server::conf_file::load(&mut config, parsed.conf.as_deref(), &parsed.options)
    {
        // Redis's report, on stderr, and its exit status.
        eprintln!("{error}");
        return Ok(1);
    }
    // Redis runs from its `dir` and reports it as an absolute path.
    if let Ok(dir) = std::fs::canonicalize(&config.dir) {
        config.dir = dir.display().to_string();
    }
    // CONFIG REWRITE rewrites the file by its absolute path, as Redis does.
    config.config_file = parsed
        .conf
        .as_deref()
        .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let log = Arc::new(
        replsim::log::ProcessLog::open(&config.loglevel, &config.logfile)
            .with_context(|| format!("can't open the log file '{}'", config.logfile))?,
    );
    log.write(
        'C',
        Level::Warning,
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    );
    log.write(
        'C',
        Level::Warning,
        &format!(
            "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
            replsim::REDIS_COMPAT_VERSION,
            std::process::id()
        ),
    );
    log.write('C', Level::Warning, "Configuration loaded");
    if config.others.get("always-show-logo").map(String::as_str) == Some("yes") {
        // In place of Redis's ASCII-art logo, one line with what the logo
        // tells (version, mode, port, pid), which harnesses wait for.
        log.write_raw(&format!(
            "replsim {} (Redis {}) 64 bit, Running in standalone mode, Port: {}, PID: {}\n\n",
            env!("CARGO_PKG_VERSION"),
            replsim::REDIS_COMPAT_VERSION,
            config.port,
            std::process::id()
        ));
    } else {
        log.write(
            'M',
            Level::Notice,
            &format!("Running mode=standalone, port={}.", config.port),
        );
    }
    let dir = PathBuf::from(&config.dir);
    let (bind, port) = (config.bind.clone(), config.port);
    let runtime = if parsed.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(parsed.threads)
            .enable_all()
            .build()?
    };
    let storage = Arc::new(DirStorage::new(&dir));
    runtime.block_on(async move {
        let server = Server::new(TokioRuntime::new(storage).with_logger(log.clone()), config);
        let listener = match server.bind().await {
            Ok(listener) => listener,
            Err(error) => {
                log.write(
                    'M',
                    Level::Warning,
                    &format!("Failed listening on port {port} (TCP), aborting."),
                );
                return Err(error).with_context(|| format!("cannot listen on {bind}:{port}"));
            }
        };
        let unix = match server.bind_unix().await {
            Ok(unix) => unix,
            Err(error) => {
                let text = error.to_string();
                let reason = text.split(" (os error").next().unwrap_or_default();
                log.write(
                    'M',
                    Level::Warning,
                    &format!("Failed opening Unix socket: {reason}"),
                );
                return Err(error).context("cannot open the Unix socket");
            }
        };
        log.write('M', Level::Warning, "Server initialized");
        // Like Redis, the data is loaded before the server says it is
        // ready; a file that cannot be loaded ends it (the server logged
        // why).
        if server.load_from_disk().is_err() {
            return Ok(EXIT_LOAD_FAILED);
        }
        log.write('M', Level::Notice, "Ready to accept connections");
        if let Some(path) = unix
            .as_ref()
            .and_then(replsim::runtime::Listener::unix_path)
        {
            log.write(
                'M',
                Level::Notice,
                &format!(
                    "The server is now ready to accept connections at {}",
                    path.display()
                ),
            );
        }
        tokio::spawn(shutdown_on_signals(server.clone()));
        server.clone().serve_on(listener, unix).await?;
        if server.crashed() {
            eprintln!("replsim: crashed (a bug in replsim), exiting");
            return Ok(EXIT_CRASH);
        }
        Ok(0)
    })
}

/// SIGTERM and SIGINT shut `serve` down as they shut Redis down: the
/// signal is logged the way Redis's handler logs it, then the SHUTDOWN
/// sequence runs with the configured save points. A failed final save
/// leaves the server running, as in Redis.
pub(crate) async fn shutdown_on_signals(server: Server<TokioRuntime>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("replsim: cannot handle SIGTERM and SIGINT");
        return;
    };
    loop {
        let name = tokio::select! {
            biased;
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        let unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        eprintln!(
            "{}:signal-handler ({unix_s}) Received {name} scheduling shutdown...",
            std::process::id()
        );
        if server.shutdown_on_signal() {
            return;
        }
    }
}
