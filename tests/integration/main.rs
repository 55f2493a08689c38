//! One integration-test binary: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod alerts;
mod api;
mod auth;
mod board;
mod browser;
mod cli;
mod crash;
mod hostile;
mod incidents;
mod insights;
mod openapi;
mod postmortems;
mod props;
mod record;
mod reliability;
mod security;
mod timeline;
mod webhooks;
