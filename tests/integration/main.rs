//! One integration-test binary: the real server over HTTP, on SQLite and PostgreSQL.

#[path = "../support/binary.rs"]
#[allow(dead_code)] // shared with the benchmark, which uses other parts of it
mod binary;
mod helpers;

mod alerts;
mod api;
mod attachments;
mod auth;
mod board;
mod browser;
mod chat;
mod cli;
mod crash;
mod fuzz;
mod harness;
mod hostile;
mod incidents;
mod insights;
mod lifecycle;
mod links;
mod live;
mod mail;
mod notifications;
mod openapi;
mod postmortems;
mod props;
mod protocol;
mod record;
mod recurrence;
mod reliability;
mod restricted;
mod roles;
mod search;
mod security;
mod services;
mod sso;
mod status;
mod subscribers;
mod teams;
mod templates;
mod timeline;
mod updates;
mod webhooks;
