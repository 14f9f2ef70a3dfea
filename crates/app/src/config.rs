//! Configuration: flags and environment (README: "Configuration"). Secrets come
//! only from the environment or a file, never from a flag.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
pub use todos_auth::JwtSecret;
use todos_auth::JwtSecretError;
pub use todos_cache::RedisSettings;
pub use todos_http::{CorsOrigins, Limits, TrustedProxies};
use todos_persistence::DatabaseSettings;

#[derive(Debug, Parser)]
#[command(name = "todos", version, about = "A ToDo REST service")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `serve` options, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,

    /// Log lines on stderr: `text` (the default) or `json`, one object a
    /// line (README: "Running with metrics").
    #[arg(
        long,
        env = "TODOS_LOG_FORMAT",
        global = true,
        default_value = "text",
        value_parser = LogFormat::parse,
    )]
    pub log_format: LogFormat,
}

/// How log lines are written (`TODOS_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing-subscriber's human-readable lines.
    Text,
    /// One JSON object a line: time, level, message, the request's span
    /// (request id, method, route, path) and the event's fields.
    Json,
}

impl LogFormat {
    /// The message names the variable: clap would name only the flag.
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("TODOS_LOG_FORMAT (--log-format) must be `text` or `json`".into()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create a user account and exit.
    CreateUser {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// List verified email addresses that several accounts share when
    /// letter case is ignored (they stop the service's upgrade), and exit.
    /// Runs no migration.
    EmailDuplicates(DatabaseArgs),
    /// Copy the SQLite database into a new file, consistently, while
    /// services keep serving it (README: "Backups").
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The backup file to write; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in place of the SQLite database; refused while a
    /// service serves it (README: "Backups").
    Restore {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing database (else an existing one is refused).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite:`, `mysql:` (MySQL/MariaDB) or `postgres:` URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://todos.db?mode=rwc"
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Listen address; port 0 picks a free port.
    #[arg(long, env = "TODOS_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Access token lifetime in seconds.
    #[arg(long, env = "JWT_TTL_SECS", default_value_t = 86_400)]
    pub jwt_ttl_secs: u64,

    /// Session lifetime in seconds, from log-in: refresh tokens work this
    /// long, and no access token outlives it.
    #[arg(long, env = "TODOS_REFRESH_TTL_SECS", default_value_t = 30 * 86_400)]
    pub refresh_ttl_secs: u64,

    /// `redis://host:port/db`; unset: an in-process cache.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Write each email as one `.eml` file into this directory.
    #[arg(long, env = "TODOS_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// Sender of every email.
    #[arg(long, env = "TODOS_MAIL_FROM", default_value = todos_mail::DEFAULT_FROM)]
    pub mail_from: String,

    /// `production` turns missing safety settings into start-up errors.
    #[arg(long, env = "TODOS_ENV", value_enum, default_value_t = Environment::Development)]
    pub env: Environment,

    /// How many instances serve this database; with more than one, state
    /// kept in the process (the in-memory cache) would be split.
    #[arg(long, env = "TODOS_INSTANCES", default_value_t = 1)]
    pub instances: u32,

    /// Comma-separated CIDR networks of reverse proxies whose
    /// `X-Forwarded-For` names the client; unset: none is trusted.
    #[arg(long, env = "TODOS_TRUSTED_PROXIES", value_parser = TrustedProxies::parse, default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Comma-separated origins (`https://host[:port]`) whose browser pages
    /// may call the API; unset: no cross-origin access.
    #[arg(long, env = "TODOS_CORS_ORIGINS", value_parser = parse_cors_origins, default_value = "")]
    pub cors_origins: CorsOrigins,

    /// Sign-ups per client address per hour; 0 turns the limit off.
    #[arg(long, env = "TODOS_SIGNUP_LIMIT", default_value_t = DEFAULT_SIGNUP_LIMIT)]
    pub signup_limit: u64,

    /// Connections open at once; further clients wait in the listen backlog.
    #[arg(
        long,
        env = "TODOS_MAX_CONNECTIONS",
        default_value_t = DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub max_connections: u32,

    /// Serve Prometheus metrics (`GET /metrics`) on a listener of its own
    /// at this address, never on the API port; unset: no metrics.
    #[arg(long, env = "TODOS_METRICS_ADDR", value_parser = parse_metrics_addr)]
    pub metrics_addr: Option<SocketAddr>,
}

/// The messages of these parsers name the variable: clap would name only
/// the flag.
fn parse_cors_origins(value: &str) -> Result<CorsOrigins, String> {
    CorsOrigins::parse(value).map_err(|e| format!("TODOS_CORS_ORIGINS (--cors-origins): {e}"))
}

fn parse_metrics_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| {
        "TODOS_METRICS_ADDR (--metrics-addr) must be an address and port, such as \
         127.0.0.1:9100"
            .into()
    })
}

/// Sign-ups per client address per hour unless `TODOS_SIGNUP_LIMIT` says
/// otherwise: the domain's default (`SignUpPolicy`), named for the tests.
pub const DEFAULT_SIGNUP_LIMIT: u64 = 20;

#[cfg(test)]
#[test]
fn the_default_signup_limit_is_the_domain_default() {
    assert_eq!(
        DEFAULT_SIGNUP_LIMIT,
        todos_domain::SignUpPolicy::default().per_client
    );
}

/// Longest token lifetime accepted: beyond it `iat + ttl` could overflow.
const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// Where the service runs: development forgives missing settings (with
/// warnings), production refuses to start without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Everything the application needs, already validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database: DatabaseSettings,
    /// `None`: a random key per process (tokens die with it).
    pub jwt_secret: Option<JwtSecret>,
    pub jwt_ttl: Duration,
    /// How long a session lasts from log-in (`TODOS_REFRESH_TTL_SECS`).
    pub session_lifetime: Duration,
    /// `None`: the in-process cache.
    pub redis: Option<RedisSettings>,
    pub mail: MailSettings,
    pub limits: Limits,
    /// Whose `X-Forwarded-For` names the client (for per-client limits).
    pub trusted_proxies: TrustedProxies,
    /// Origins whose pages may call the API; empty: none.
    pub cors_origins: CorsOrigins,
    /// Sign-ups per client address per hour; 0: unlimited.
    pub signup_limit: u64,
    /// Timeouts, head size and cap of client connections.
    pub connections: ConnectionLimits,
    /// Where `GET /metrics` is served (`TODOS_METRICS_ADDR`); `None`: no
    /// metrics are kept.
    pub metrics_addr: Option<SocketAddr>,
}

const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// What one client connection may cost: how long it may take to send a
/// request head or sit idle, how large a head may be, and how many
/// connections are open at once. Only the cap is configurable from outside;
/// tests shorten the timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request head must be complete this long after its first byte (or,
    /// for a new connection, after it was accepted).
    pub head_timeout: Duration,
    /// A connection on which nothing is read or written for this long is
    /// closed: an idle keep-alive, or a client that stopped reading.
    pub idle_timeout: Duration,
    /// Larger request heads are answered 431. At least 8 KiB (hyper's floor).
    pub max_head_bytes: usize,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_head_bytes: 16 * 1024,
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

/// Where email goes. With neither a directory nor SMTP, it is only logged;
/// with both, each message goes to both.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    pub dir: Option<PathBuf>,
    /// May hold credentials, so it comes only from `SMTP_URL`.
    pub smtp_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    JwtSecret(#[from] JwtSecretError),
    #[error("cannot read JWT_SECRET_FILE {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("set either JWT_SECRET or JWT_SECRET_FILE, not both")]
    TwoSecrets,
    #[error("TODOS_ENV=production needs JWT_SECRET or JWT_SECRET_FILE (at least 32 bytes)")]
    ProductionWithoutSecret,
    #[error(
        "TODOS_ENV=production with TODOS_INSTANCES > 1 needs REDIS_URL: an in-memory cache \
         would give each instance its own OTPs and limits"
    )]
    ProductionWithoutSharedCache,
    #[error("JWT_TTL_SECS must be between 1 and {MAX_TTL_SECS} (ten years)")]
    TtlOutOfRange,
    #[error("TODOS_REFRESH_TTL_SECS must be between 1 and {MAX_TTL_SECS} (ten years)")]
    RefreshTtlOutOfRange,
    #[error(
        "TODOS_METRICS_ADDR must not use the API's port {0} (TODOS_ADDR): metrics are served \
         on a listener of their own"
    )]
    MetricsOnApiPort(u16),
}

impl Settings {
    /// Combines `serve` arguments with secrets from the environment.
    pub fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        if !(1..=MAX_TTL_SECS).contains(&args.jwt_ttl_secs) {
            return Err(ConfigError::TtlOutOfRange);
        }
        if !(1..=MAX_TTL_SECS).contains(&args.refresh_ttl_secs) {
            return Err(ConfigError::RefreshTtlOutOfRange);
        }
        if let Some(metrics) = args.metrics_addr
            && metrics.port() != 0
            && metrics.port() == args.addr.port()
        {
            return Err(ConfigError::MetricsOnApiPort(metrics.port()));
        }
        let jwt_secret = jwt_secret_from_env()?;
        if args.env == Environment::Production {
            if jwt_secret.is_none() {
                return Err(ConfigError::ProductionWithoutSecret);
            }
            if args.instances > 1 && args.redis_url.is_none() {
                return Err(ConfigError::ProductionWithoutSharedCache);
            }
        }
        Ok(Self {
            addr: args.addr,
            database: DatabaseSettings::new(args.database.database_url.clone()),
            jwt_secret,
            jwt_ttl: Duration::from_secs(args.jwt_ttl_secs),
            session_lifetime: Duration::from_secs(args.refresh_ttl_secs),
            redis: args.redis_url.clone().map(RedisSettings::new),
            limits: Limits::default(),
            trusted_proxies: args.trusted_proxies.clone(),
            cors_origins: args.cors_origins.clone(),
            signup_limit: args.signup_limit,
            connections: ConnectionLimits {
                max_connections: args.max_connections as usize,
                ..ConnectionLimits::default()
            },
            metrics_addr: args.metrics_addr,
            mail: MailSettings {
                from: args.mail_from.clone(),
                dir: args.mail_dir.clone(),
                smtp_url: std::env::var(SMTP_URL).ok().filter(|url| !url.is_empty()),
            },
        })
    }
}

/// Settings read only from the environment (secrets, and what clap does
/// not own), beside the flags' `env` names.
const JWT_SECRET: &str = "JWT_SECRET";
const JWT_SECRET_FILE: &str = "JWT_SECRET_FILE";
const SMTP_URL: &str = "SMTP_URL";
const RUST_LOG: &str = "RUST_LOG";

/// Every environment variable the application reads.
pub fn environment_variables() -> Vec<String> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut names: Vec<String> = std::iter::once(&cli)
        .chain(cli.get_subcommands())
        .flat_map(|command| command.get_arguments())
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .chain([JWT_SECRET, JWT_SECRET_FILE, SMTP_URL, RUST_LOG].map(String::from))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `JWT_SECRET`, or the contents of the file `JWT_SECRET_FILE` names (one
/// trailing newline trimmed, as editors and `echo` add it).
fn jwt_secret_from_env() -> Result<Option<JwtSecret>, ConfigError> {
    let inline = std::env::var_os(JWT_SECRET);
    let file = std::env::var_os(JWT_SECRET_FILE).map(PathBuf::from);
    let bytes = match (inline, file) {
        (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
        (None, None) => return Ok(None),
        (Some(value), None) => value.into_encoded_bytes(),
        (None, Some(path)) => {
            let mut bytes =
                std::fs::read(&path).map_err(|source| ConfigError::SecretFile { path, source })?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            bytes
        }
    };
    Ok(Some(JwtSecret::new(bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_and_flags_work_with_or_without_it() {
        let bare = Cli::try_parse_from(["todos", "--addr", "127.0.0.1:0"]).unwrap();
        assert!(bare.command.is_none());
        assert_eq!(bare.serve.addr.port(), 0);

        let explicit =
            Cli::try_parse_from(["todos", "serve", "--database-url", "sqlite::memory:"]).unwrap();
        let Some(Command::Serve(args)) = explicit.command else {
            panic!("expected serve");
        };
        assert_eq!(args.database.database_url, "sqlite::memory:");
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for_with_any_subcommand() {
        let bare = Cli::try_parse_from(["todos"]).unwrap();
        assert_eq!(bare.log_format, LogFormat::Text);
        for args in [
            &["todos", "--log-format", "json"][..],
            &["todos", "migrate", "--log-format", "json"],
            &["todos", "serve", "--log-format", "json"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.log_format, LogFormat::Json, "{args:?}");
        }
    }

    #[test]
    fn a_bad_log_format_metrics_address_or_cors_origin_is_refused_naming_the_variable() {
        for (args, variable) in [
            (["todos", "--log-format", "xml"], "TODOS_LOG_FORMAT"),
            (["todos", "--metrics-addr", "9100"], "TODOS_METRICS_ADDR"),
            (["todos", "--cors-origins", "*"], "TODOS_CORS_ORIGINS"),
            (
                ["todos", "--cors-origins", "https://todo.example/"],
                "TODOS_CORS_ORIGINS",
            ),
        ] {
            let error = Cli::try_parse_from(args).unwrap_err().to_string();
            assert!(error.contains(variable), "{error}");
        }
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given_and_never_on_the_api_port() {
        let off = Cli::try_parse_from(["todos"]).unwrap();
        assert_eq!(off.serve.metrics_addr, None);

        let on = Cli::try_parse_from(["todos", "--metrics-addr", "127.0.0.1:9100"]).unwrap();
        assert_eq!(
            on.serve.metrics_addr,
            Some("127.0.0.1:9100".parse().unwrap())
        );

        let clash = Cli::try_parse_from([
            "todos",
            "--addr",
            "127.0.0.1:8000",
            "--metrics-addr",
            "0.0.0.0:8000",
        ])
        .unwrap();
        let error = Settings::from_args(&clash.serve).unwrap_err();
        assert!(
            matches!(error, ConfigError::MetricsOnApiPort(8000)),
            "{error}"
        );
    }

    #[test]
    fn create_user_takes_username_and_password() {
        let cli =
            Cli::try_parse_from(["todos", "create-user", "--username", "u", "--password", "p"])
                .unwrap();
        assert!(matches!(cli.command, Some(Command::CreateUser { .. })));
    }

    #[test]
    fn email_duplicates_takes_a_database_url() {
        let cli = Cli::try_parse_from(["todos", "email-duplicates", "--database-url", "sqlite:x"])
            .unwrap();
        let Some(Command::EmailDuplicates(args)) = cli.command else {
            panic!("expected email-duplicates");
        };
        assert_eq!(args.database_url, "sqlite:x");
    }
}
