//! One integration-test binary: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod api;
mod auth;
mod cli;
mod incidents;
mod security;
mod timeline;
