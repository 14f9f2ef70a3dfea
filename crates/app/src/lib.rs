//! The `todos` application: typed configuration, the one composition root,
//! and the server's lifecycle. `main.rs` and the black-box tests both go
//! through [`Application::build`], so tests exercise the real wiring.

mod background;
pub mod config;
mod email_duplicates;
mod metrics;
mod probes;
mod serve;
mod startup;
mod sweep;
pub mod telemetry;
mod wiring;

pub use config::{Cli, Command, ConfigError, ConnectionLimits, LogFormat, Settings};
pub use email_duplicates::{EmailClash, email_duplicates, email_duplicates_report};
pub use metrics::METRICS_PATH;
pub use serve::raise_open_file_limit;
pub use startup::{Application, migrate};
pub use wiring::create_user;
