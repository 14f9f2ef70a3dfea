//! The black-box suite as one test binary: each file beside this one is a
//! module (one link instead of twenty, and a third of the disk). Run one
//! file with `cargo test -p todos-tests -- sessions::`.

mod abuse;
mod abuse_resistance;
mod account;
mod auth;
mod connections;
mod database_outage;
mod email_addresses;
mod email_verification;
mod fuzz_findings;
mod legacy_upgrade;
mod metrics;
mod openapi;
mod query_count;
mod redis_outage;
mod service;
mod sessions;
mod swagger_ui;
mod todos;
mod todos_for_clients;
mod two_instances;
mod usernames;
mod users;
mod web_app;
